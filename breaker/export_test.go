package breaker

// Test hooks: the fake clock and the ticket API the black-box tests drive
// directly, which callers outside the package reach only through Wrap and
// the interceptors.

// Clock is the breaker's time source.
type Clock = clock

// Ticket is the permission to make one call.
type Ticket = ticket

// WithClock sets the breaker's clock.
var WithClock = withClock

// Allow asks to make a call.
func (b *Breaker) Allow() (Ticket, error) { return b.allow() }
