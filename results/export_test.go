package results

// Internal names the black-box tests use.
const (
	HistogramDigits    = histogramDigits
	MaxSeriesSeconds   = maxSeriesSeconds
	MaxAttemptsTracked = maxAttemptsTracked
	ToolName           = toolName
)

// DecodeHistogram is decodeHistogram.
var DecodeHistogram = decodeHistogram
