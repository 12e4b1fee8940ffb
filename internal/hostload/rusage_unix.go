//go:build unix

package hostload

import (
	"fmt"
	"syscall"
	"time"
)

// processCPU returns this process's user + system CPU time (getrusage).
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
