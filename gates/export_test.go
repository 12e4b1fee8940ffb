package gates

import (
	"github.com/grpcbench/grpcbench/results"
)

// Internal names the black-box tests use.

type (
	Metric = metric
	Kind   = kind
	Op     = op
)

const (
	KindDuration = kindDuration
	KindFraction = kindFraction
	KindRate     = kindRate
	KindRatio    = kindRatio
	KindCount    = kindCount
	OpLE         = opLE
	OpGE         = opGE
	OpEQ         = opEQ
	OpNE         = opNE
	OpLT         = opLT
	OpGT         = opGT
)

var (
	ParseMetric          = parseMetric
	ParseExpr            = parseExpr
	ParseSelector        = parseSelector
	ParseGate            = parseGate
	BootstrapMedianDelta = bootstrapMedianDelta
)

func (m metric) Value(c *results.Cell, method string) (float64, bool, string) {
	return m.value(c, method)
}
func (m metric) Format(v float64) string { return m.format(v) }
func (o op) Holds(v, limit float64) bool { return o.holds(v, limit) }
func (s selector) Match(c CellRef) bool  { return s.match(c) }

// CellRefs returns a CellRef for every cell of run.
func CellRefs(run *results.Run) []CellRef {
	var out []CellRef
	for _, c := range run.Cells {
		if c != nil {
			out = append(out, CellRef{ID: c.ID, Params: c.Params})
		}
	}
	return out
}

var (
	EffectSize = effectSize
	PooledSD   = pooledSD
)

// DetectableFor is detectable for gate text g (parsed) on samples x, y.
func DetectableFor(g string, x, y []float64, alpha float64) (Detectable, Gate, error) {
	gt, err := parseGate(g)
	if err != nil {
		return Detectable{}, Gate{}, err
	}
	return detectable(gt, x, y, alpha), gt, nil
}
