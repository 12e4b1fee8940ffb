package results

// Cell returns the cell with the given ID, or nil.
func (r *Run) Cell(id string) *Cell {
	for _, c := range r.Cells {
		if c != nil && c.ID == id {
			return c
		}
	}
	return nil
}

// ErrorRate returns Errors / Calls (0 when there were no calls).
func (m *MethodStats) ErrorRate() float64 {
	if m == nil || m.Calls == 0 {
		return 0
	}
	return float64(m.Errors) / float64(m.Calls)
}

// ErrorRate returns the fraction of the cell's calls that failed.
func (c *Cell) ErrorRate() float64 { return c.All.ErrorRate() }

// Rate returns the completed calls per second over the cell's duration,
// computed from Load.Completed (0 when the duration is zero).
func (c *Cell) Rate() float64 {
	if c.Duration <= 0 {
		return 0
	}
	return float64(c.Load.Completed) / c.Duration.Seconds()
}

// RetriesPerCall returns (Attempts − Calls) / Calls of the retry layer: the
// extra attempts per logical call, the retry amplification minus one
// (0 when no calls went through the retry layer).
func (r Retry) RetriesPerCall() float64 {
	if r.Calls == 0 {
		return 0
	}
	return float64(r.Attempts-r.Calls) / float64(r.Calls)
}
