package lb

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/grpcbench/grpcbench/field"
)

// OutlierDetection configures outlier ejection (gRFC A50, Envoy's outlier
// detection): the chosen policy runs as the child of grpcbench's
// outlier detection balancer, which counts each endpoint's call results,
// and every Interval ejects the endpoints whose results stand out, for
// BaseEjectionTime × (times ejected in a row), at most
// max(BaseEjectionTime, MaxEjectionTime). An ejected endpoint looks
// unhealthy to the child policy, so it gets no new calls; it returns at the
// first sweep after its ejection time has passed.
//
// Absent fields take A50's defaults; a field given with a value out of range
// is an error. At least one of SuccessRate and FailurePercentage must be
// set (an empty mapping, `success_rate: {}`, enables it with its defaults).
type OutlierDetection struct {
	// Interval is the time between sweeps (default 10s).
	Interval *time.Duration `yaml:"interval"`
	// BaseEjectionTime is the first ejection's length (default 30s); the
	// n-th ejection in a row lasts n times as long.
	BaseEjectionTime *time.Duration `yaml:"base_ejection_time"`
	// MaxEjectionTime caps an ejection's length (default 300s or
	// BaseEjectionTime, whichever is larger); at least BaseEjectionTime.
	MaxEjectionTime *time.Duration `yaml:"max_ejection_time"`
	// MaxEjectionPercent caps the share of endpoints ejected at once, 1..100
	// (default 10). An ejection is allowed while the ejected endpoints,
	// counting the new one, stay within this share of all endpoints; one
	// endpoint may always be ejected, whatever the share (as Envoy does).
	MaxEjectionPercent *int `yaml:"max_ejection_percent"`
	// SuccessRate enables success-rate ejection.
	SuccessRate *SuccessRateEjection `yaml:"success_rate"`
	// FailurePercentage enables failure-percentage ejection.
	FailurePercentage *FailurePercentageEjection `yaml:"failure_percentage"`

	// Log, set in code (never from YAML), receives the ejections and
	// returns of every ClientConn built with this configuration. Use
	// Config.WithEjectionLog to set it on a copy.
	Log *EjectionLog `yaml:"-" json:"-"`
}

// SuccessRateEjection ejects endpoints whose success rate in the last
// interval is below mean − StdevFactor × stdev of the success rates of all
// endpoints with at least RequestVolume calls, when at least MinimumHosts
// endpoints have that many.
type SuccessRateEjection struct {
	// StdevFactor is the factor itself, e.g. 1.9 (default 1.9), between 0
	// and 100. Envoy and gRPC's JSON write it in thousandths (1900); this
	// field does not.
	StdevFactor *float64 `yaml:"stdev_factor"`
	// EnforcementPercentage is the chance, 0..100, that a detected outlier
	// is ejected (default 100; 0 detects without ejecting).
	EnforcementPercentage *int `yaml:"enforcement_percentage"`
	// MinimumHosts is the least number of endpoints with RequestVolume
	// calls for the algorithm to run (default 5, at least 1). With fewer
	// backends than this, nothing is ever ejected.
	MinimumHosts *int `yaml:"minimum_hosts"`
	// RequestVolume is the least number of calls in an interval for an
	// endpoint to be judged (default 100, at least 1).
	RequestVolume *int `yaml:"request_volume"`
}

// FailurePercentageEjection ejects endpoints whose share of failed calls in
// the last interval is above Threshold percent, judging only endpoints with
// at least RequestVolume calls and only when there are at least
// MinimumHosts endpoints.
type FailurePercentageEjection struct {
	// Threshold is the failure percentage, 0..100, above which an endpoint
	// is an outlier (default 85).
	Threshold *int `yaml:"threshold"`
	// EnforcementPercentage is the chance, 0..100, that a detected outlier
	// is ejected (default 100).
	EnforcementPercentage *int `yaml:"enforcement_percentage"`
	// MinimumHosts is the least number of endpoints for the algorithm to
	// run (default 5, at least 1). With fewer backends than this, nothing is
	// ever ejected.
	MinimumHosts *int `yaml:"minimum_hosts"`
	// RequestVolume is the least number of calls in an interval for an
	// endpoint to be judged (default 50, at least 1).
	RequestVolume *int `yaml:"request_volume"`
}

// A50's defaults.
const (
	defaultODInterval           = 10 * time.Second
	defaultODBaseEjectionTime   = 30 * time.Second
	defaultODMaxEjectionTime    = 300 * time.Second
	defaultODMaxEjectionPercent = 10
	defaultSRStdevFactor        = 1.9
	defaultSRMinimumHosts       = 5
	defaultSRRequestVolume      = 100
	defaultFPThreshold          = 85
	defaultFPMinimumHosts       = 5
	defaultFPRequestVolume      = 50
	defaultEnforcement          = 100
	// minODInterval is the shortest sweep interval accepted.
	minODInterval = 10 * time.Millisecond
	// maxStdevFactor bounds StdevFactor; larger values are almost always
	// Envoy's thousandths written by mistake.
	maxStdevFactor = 100
)

// odSettings is an OutlierDetection with every default filled in: what the
// balancer runs with.
type odSettings struct {
	interval, baseEjection, maxEjection time.Duration
	maxEjectionPercent                  int
	sr                                  *srSettings
	fp                                  *fpSettings
}

type srSettings struct {
	stdevFactor                              float64
	enforcement, minimumHosts, requestVolume int
}

type fpSettings struct {
	threshold, enforcement, minimumHosts, requestVolume int
}

func durOr(d *time.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return *d
}

func intOr(v *int, def int) int {
	if v == nil {
		return def
	}
	return *v
}

// settings returns o with defaults filled in.
func (o *OutlierDetection) settings() odSettings {
	s := odSettings{
		interval:           durOr(o.Interval, defaultODInterval),
		baseEjection:       durOr(o.BaseEjectionTime, defaultODBaseEjectionTime),
		maxEjectionPercent: intOr(o.MaxEjectionPercent, defaultODMaxEjectionPercent),
	}
	s.maxEjection = durOr(o.MaxEjectionTime, max(defaultODMaxEjectionTime, s.baseEjection))
	if sr := o.SuccessRate; sr != nil {
		f := defaultSRStdevFactor
		if sr.StdevFactor != nil {
			f = *sr.StdevFactor
		}
		s.sr = &srSettings{
			stdevFactor:   f,
			enforcement:   intOr(sr.EnforcementPercentage, defaultEnforcement),
			minimumHosts:  intOr(sr.MinimumHosts, defaultSRMinimumHosts),
			requestVolume: intOr(sr.RequestVolume, defaultSRRequestVolume),
		}
	}
	if fp := o.FailurePercentage; fp != nil {
		s.fp = &fpSettings{
			threshold:     intOr(fp.Threshold, defaultFPThreshold),
			enforcement:   intOr(fp.EnforcementPercentage, defaultEnforcement),
			minimumHosts:  intOr(fp.MinimumHosts, defaultFPMinimumHosts),
			requestVolume: intOr(fp.RequestVolume, defaultFPRequestVolume),
		}
	}
	return s
}

// Validate reports every problem in o as *field.Error values with paths
// relative to o ("success_rate.stdev_factor: ..."), joined.
func (o *OutlierDetection) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	if o.SuccessRate == nil && o.FailurePercentage == nil {
		add("", "sets neither success_rate nor failure_percentage: give one or both (`success_rate: {}` takes the defaults)")
	}
	if d := o.Interval; d != nil && *d < minODInterval {
		add("interval", "must be at least %v, got %v", minODInterval, *d)
	}
	if d := o.BaseEjectionTime; d != nil && *d <= 0 {
		add("base_ejection_time", "must be positive, got %v", *d)
	}
	if d := o.MaxEjectionTime; d != nil {
		base := durOr(o.BaseEjectionTime, defaultODBaseEjectionTime)
		switch {
		case *d <= 0:
			add("max_ejection_time", "must be positive, got %v", *d)
		case *d < base:
			add("max_ejection_time", "%v is less than base_ejection_time %v", *d, base)
		}
	}
	if p := o.MaxEjectionPercent; p != nil && (*p < 1 || *p > 100) {
		add("max_ejection_percent", "must be between 1 and 100, got %d (one endpoint may always be ejected; "+
			"use enforcement_percentage: 0 to detect without ejecting)", *p)
	}
	if sr := o.SuccessRate; sr != nil {
		if f := sr.StdevFactor; f != nil && (*f < 0 || *f > maxStdevFactor || math.IsNaN(*f)) {
			add("success_rate.stdev_factor", "must be between 0 and %d, got %v (write the factor itself, 1.9, "+
				"not Envoy's thousandths, 1900)", maxStdevFactor, *f)
		}
		errs = append(errs, validateAlgo("success_rate", sr.EnforcementPercentage, sr.MinimumHosts, sr.RequestVolume)...)
	}
	if fp := o.FailurePercentage; fp != nil {
		if p := fp.Threshold; p != nil && (*p < 0 || *p > 100) {
			add("failure_percentage.threshold", "must be between 0 and 100, got %d", *p)
		}
		errs = append(errs, validateAlgo("failure_percentage", fp.EnforcementPercentage, fp.MinimumHosts, fp.RequestVolume)...)
	}
	return errors.Join(errs...)
}

func validateAlgo(prefix string, enforcement, minHosts, volume *int) []error {
	var errs []error
	if p := enforcement; p != nil && (*p < 0 || *p > 100) {
		errs = append(errs, field.Errorf(field.Join(prefix, "enforcement_percentage"), "must be between 0 and 100, got %d", *p))
	}
	if n := minHosts; n != nil && *n < 1 {
		errs = append(errs, field.Errorf(field.Join(prefix, "minimum_hosts"), "must be at least 1, got %d", *n))
	}
	if n := volume; n != nil && *n < 1 {
		errs = append(errs, field.Errorf(field.Join(prefix, "request_volume"), "must be at least 1, got %d", *n))
	}
	return errs
}

// validateOutlier checks c.OutlierDetection in the context of c's policy.
func (c Config) validateOutlier() []error {
	o := c.OutlierDetection
	if o == nil {
		return nil
	}
	var errs []error
	if c.EffectivePolicy() == PickFirst {
		errs = append(errs, field.Errorf("outlier_detection", "has no effect under pick_first: "+
			"pick_first does not follow health signals, so an ejected endpoint would keep its calls; "+
			"use round_robin, weighted_round_robin, least_request or ring_hash"))
	}
	if err := o.Validate(); err != nil {
		errs = append(errs, field.Prefix("outlier_detection", err))
	}
	return errs
}

// WithEjectionLog returns a copy of c whose outlier detection reports to
// log (c itself, and any copy sharing its OutlierDetection, is left
// unchanged). Without outlier detection it returns c as is.
func (c Config) WithEjectionLog(log *EjectionLog) Config {
	if c.OutlierDetection == nil {
		return c
	}
	od := *c.OutlierDetection
	od.Log = log
	c.OutlierDetection = &od
	return c
}

// odJSON is the balancer's JSON config: A50's field names, durations as
// "10s" strings, stdevFactor in thousandths, plus the event log's id.
type odJSON struct {
	Interval                  string                       `json:"interval,omitempty"`
	BaseEjectionTime          string                       `json:"baseEjectionTime,omitempty"`
	MaxEjectionTime           string                       `json:"maxEjectionTime,omitempty"`
	MaxEjectionPercent        *int                         `json:"maxEjectionPercent,omitempty"`
	SuccessRateEjection       *srJSON                      `json:"successRateEjection,omitempty"`
	FailurePercentageEjection *fpJSON                      `json:"failurePercentageEjection,omitempty"`
	ChildPolicy               []map[string]json.RawMessage `json:"childPolicy"`
	EventLog                  string                       `json:"eventLog,omitempty"`
}

type srJSON struct {
	StdevFactor           *int `json:"stdevFactor,omitempty"`
	EnforcementPercentage *int `json:"enforcementPercentage,omitempty"`
	MinimumHosts          *int `json:"minimumHosts,omitempty"`
	RequestVolume         *int `json:"requestVolume,omitempty"`
}

type fpJSON struct {
	Threshold             *int `json:"threshold,omitempty"`
	EnforcementPercentage *int `json:"enforcementPercentage,omitempty"`
	MinimumHosts          *int `json:"minimumHosts,omitempty"`
	RequestVolume         *int `json:"requestVolume,omitempty"`
}

// wrap returns the loadBalancingConfig entry that runs child (its grpc-go
// name and JSON config) under outlier detection, with every setting
// written out.
func (o *OutlierDetection) wrap(childName string, childCfg json.RawMessage) (string, json.RawMessage, error) {
	s := o.settings()
	j := odJSON{
		Interval:           formatDuration(s.interval),
		BaseEjectionTime:   formatDuration(s.baseEjection),
		MaxEjectionTime:    formatDuration(s.maxEjection),
		MaxEjectionPercent: &s.maxEjectionPercent,
		ChildPolicy:        []map[string]json.RawMessage{{childName: childCfg}},
	}
	if sr := s.sr; sr != nil {
		f := int(math.Round(sr.stdevFactor * 1000))
		j.SuccessRateEjection = &srJSON{StdevFactor: &f, EnforcementPercentage: &sr.enforcement,
			MinimumHosts: &sr.minimumHosts, RequestVolume: &sr.requestVolume}
	}
	if fp := s.fp; fp != nil {
		j.FailurePercentageEjection = &fpJSON{Threshold: &fp.threshold, EnforcementPercentage: &fp.enforcement,
			MinimumHosts: &fp.minimumHosts, RequestVolume: &fp.requestVolume}
	}
	if o.Log != nil {
		j.EventLog = o.Log.id
	}
	out, err := json.Marshal(j)
	if err != nil {
		return "", nil, fmt.Errorf("lb: encoding %s config: %w", outlierDetectionName, err)
	}
	if err := parsePolicy(outlierDetectionName, out); err != nil {
		return "", nil, err
	}
	return outlierDetectionName, out, nil
}
