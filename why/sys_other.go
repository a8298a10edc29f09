//go:build !linux

package why

import (
	"errors"
	"os"
	"time"
)

// readRecords: without Linux there is no kernel log device.
func readRecords(path string, fn func([]byte)) error {
	return &os.PathError{Op: "open", Path: path, Err: errors.ErrUnsupported}
}

// clocks is zero: no monotonic time stamps to convert.
func clocks() (monotonic, boottime time.Duration) { return 0, 0 }
