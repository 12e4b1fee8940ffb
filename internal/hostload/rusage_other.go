//go:build !unix

package hostload

import (
	"errors"
	"time"
)

// processCPU is not measured outside unix systems.
func processCPU() (time.Duration, error) {
	return 0, errors.New("process CPU time is not measured on this OS")
}
