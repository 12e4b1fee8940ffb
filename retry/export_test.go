package retry

// Test hooks for the black-box tests: what callers outside the package do
// not use, or reach another way.

// ParsePushbackForTest exposes parsePushback to the black-box fuzz target.
var ParsePushbackForTest = parsePushback

// Clock and Timer are the retry loop's time source, faked in tests.
type (
	Clock = clock
	Timer = timer
)

// WithClock sets the clock used for waits and deadline checks.
var WithClock = withClock

// ServiceConfigJSON and ServiceConfigJSONWith build a whole native-mode
// service config for one ClientConn (the runner composes
// ServiceConfigMethod with lb's config instead).
var (
	ServiceConfigJSON     = serviceConfigJSON
	ServiceConfigJSONWith = serviceConfigJSONWith
)
