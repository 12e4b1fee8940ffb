package gates

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// op is a comparison operator of a threshold expression.
type op string

// Comparison operators, longest first.
const (
	opLE op = "<="
	opGE op = ">="
	opEQ op = "=="
	opNE op = "!="
	opLT op = "<"
	opGT op = ">"
)

var ops = []op{opLE, opGE, opEQ, opNE, opLT, opGT}

// holds reports whether "v op limit" is true. NaN never holds.
func (o op) holds(v, limit float64) bool {
	switch o {
	case opLT:
		return v < limit
	case opLE:
		return v <= limit
	case opGT:
		return v > limit
	case opGE:
		return v >= limit
	case opEQ:
		return v == limit
	case opNE:
		return v != limit && !math.IsNaN(v)
	}
	return false
}

// unit is how a value was written.
type unit int

const (
	unitNumber  unit = iota // 1800, 0.2
	unitPercent             // 1%, 0.5%
	unitTime                // 150ms, 2s, 300us
)

// expr is a parsed threshold expression such as "< 150ms": an operator and a
// limit in the metric's base unit (seconds for durations, a fraction for
// percentages).
type expr struct {
	Op    op
	Limit float64
	// Text is the expression as written, trimmed.
	Text string
}

// parseExpr parses an expression for metric m. The grammar is
//
//	expr  = op value
//	op    = "<" | "<=" | ">" | ">=" | "==" | "!="
//	value = number [ "%" | unit ]
//	unit  = "ns" | "us" | "µs" | "ms" | "s" | "m" | "h"   (a Go duration)
//
// with spaces allowed around the operator. Which values fit depends on the
// metric's kind: a duration needs a unit; a fraction takes "1%" or
// "0.01" (at most 100%); a rate takes a plain number; a ratio a plain number
// or a percentage; a count a whole number. Negative limits are rejected.
func parseExpr(m metric, s string) (expr, error) {
	text := strings.TrimSpace(s)
	if text == "" {
		return expr{}, errors.New("empty expression (want e.g. \"< 150ms\")")
	}
	var o op
	for _, cand := range ops {
		if strings.HasPrefix(text, string(cand)) {
			o = cand
			break
		}
	}
	if o == "" {
		return expr{}, fmt.Errorf("malformed expression %q: must start with <, <=, >, >=, == or !=", text)
	}
	raw := strings.TrimSpace(text[len(o):])
	v, u, err := parseValue(raw)
	if err != nil {
		return expr{}, fmt.Errorf("malformed expression %q: %w", text, err)
	}
	if v < 0 {
		return expr{}, fmt.Errorf("malformed expression %q: negative limit", text)
	}
	if err := fits(m, v, u, raw); err != nil {
		return expr{}, fmt.Errorf("expression %q: %w", text, err)
	}
	return expr{Op: o, Limit: v, Text: string(o) + " " + raw}, nil
}

// parseValue reads a number with an optional "%" or duration unit.
func parseValue(raw string) (float64, unit, error) {
	if raw == "" {
		return 0, 0, errors.New("missing value")
	}
	if strings.HasSuffix(raw, "%") {
		num := strings.TrimSpace(strings.TrimSuffix(raw, "%"))
		f, err := parseNumber(num)
		if err != nil {
			return 0, 0, fmt.Errorf("bad percentage %q", raw)
		}
		return f / 100, unitPercent, nil
	}
	if f, err := parseNumber(raw); err == nil {
		return f, unitNumber, nil
	}
	last := raw[len(raw)-1]
	if (last >= 'a' && last <= 'z') || strings.HasSuffix(raw, "µs") {
		d, err := time.ParseDuration(strings.ReplaceAll(raw, " ", ""))
		if err != nil {
			return 0, 0, fmt.Errorf("bad duration %q (want e.g. 150ms, 1.5s, 300us)", raw)
		}
		return d.Seconds(), unitTime, nil
	}
	return 0, 0, fmt.Errorf("bad value %q (want a number, a percentage or a duration)", raw)
}

// parseNumber reads a finite decimal number (no hex, no exponent-only
// forms, no Inf or NaN).
func parseNumber(s string) (float64, error) {
	if s == "" || strings.ContainsAny(s, "xXpP_") {
		return 0, errors.New("not a number")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, errors.New("not a number")
	}
	return f, nil
}

// fits checks that a value written with unit u suits metric m.
func fits(m metric, v float64, u unit, raw string) error {
	switch m.Kind {
	case kindDuration:
		if u != unitTime {
			return fmt.Errorf("%s is a latency: give a duration with a unit, e.g. %sms", m.Name, strings.TrimSuffix(raw, "%"))
		}
	case kindFraction:
		switch {
		case u == unitTime:
			return fmt.Errorf("%s is a fraction: give a percentage (1%%) or a plain fraction (0.01), not a duration", m.Name)
		case v > 1:
			return fmt.Errorf("%s is a fraction of calls: %s is above 100%% (write 1%% or 0.01)", m.Name, raw)
		}
	case kindRate:
		if u != unitNumber {
			return fmt.Errorf("%s is calls per second: give a plain number, e.g. 1800", m.Name)
		}
	case kindRatio:
		if u == unitTime {
			return fmt.Errorf("%s is a ratio: give a plain number (0.95) or a percentage (95%%)", m.Name)
		}
	case kindCount:
		if u != unitNumber || v != math.Trunc(v) {
			return fmt.Errorf("%s is a count: give a whole number, e.g. 0", m.Name)
		}
	}
	return nil
}
