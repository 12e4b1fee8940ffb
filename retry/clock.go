package retry

import (
	"strconv"
	"time"
)

// clock is the time source of the retry loop. Tests substitute a fake one so
// backoff is checked without sleeping.
type clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) timer
}

// timer is a one-shot timer as returned by clock.NewTimer.
type timer interface {
	// C returns the channel the timer fires on.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
}

// systemClock is the real clock (time.Now, time.NewTimer).
type systemClock struct{}

// Now returns time.Now().
func (systemClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (systemClock) NewTimer(d time.Duration) timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (t sysTimer) C() <-chan time.Time { return t.t.C }
func (t sysTimer) Stop() bool          { return t.t.Stop() }

func itoa(i int) string { return strconv.Itoa(i) }
