//go:build linux

package why

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// readRecords reads every record the kernel log device at path still
// holds, one per read(2), without waiting for new ones: the device is
// opened O_NONBLOCK and read with plain syscalls (an *os.File would wait
// in Go's poller where read(2) fails with EAGAIN). A read that fails
// with EPIPE lost a record the kernel overwrote meanwhile; the next one
// goes on.
func readRecords(path string, fn func([]byte)) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(fd, buf)
		switch {
		case err == nil && n > 0:
			fn(buf[:n])
		case err == nil, errors.Is(err, unix.EAGAIN):
			return nil
		case errors.Is(err, unix.EPIPE), errors.Is(err, unix.EINTR):
		default:
			return &os.PathError{Op: "read", Path: path, Err: err}
		}
	}
}

// clocks reads CLOCK_MONOTONIC and CLOCK_BOOTTIME.
func clocks() (monotonic, boottime time.Duration) {
	var m, b unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &m)
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &b)
	return time.Duration(m.Nano()), time.Duration(b.Nano())
}
