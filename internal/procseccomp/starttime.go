package procseccomp

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// StartTime returns when the process started, on the wall clock.
//
// The kernel reports the start in clock ticks since boot (/proc/PID/stat
// field 22, measured on CLOCK_BOOTTIME, so time spent suspended counts).
// StartTime adds that to the wall-clock time of boot, taken as
// CLOCK_REALTIME minus CLOCK_BOOTTIME now rather than from the btime line
// of /proc/stat, which the kernel truncates to whole seconds. The result
// is precise to the tick (1/CLK_TCK s, 10ms on Linux) and truncated to it:
// the process started in [t, t+tick). A step of the wall clock since the
// process started moves the result with it.
func StartTime(pid int) (time.Time, error) {
	st, err := readStat(pid)
	if err != nil {
		return time.Time{}, fmt.Errorf("read start time of pid %d: %w", pid, err)
	}
	boot, err := bootTime()
	if err != nil {
		return time.Time{}, fmt.Errorf("read start time of pid %d: %w", pid, err)
	}
	return boot.Add(ticksToDuration(st.startTime, clockTicks())), nil
}

// ticksToDuration converts clock ticks at hz per second to a duration
// without overflowing for any uptime a machine reaches.
func ticksToDuration(ticks, hz uint64) time.Duration {
	sec, rem := ticks/hz, ticks%hz
	return time.Duration(sec)*time.Second + time.Duration(rem*uint64(time.Second)/hz)
}

// bootTime returns the wall-clock time of boot on CLOCK_BOOTTIME's scale.
func bootTime() (time.Time, error) {
	var b1, rt, b2 unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &b1); err != nil {
		return time.Time{}, fmt.Errorf("clock_gettime(CLOCK_BOOTTIME): %w", err)
	}
	if err := unix.ClockGettime(unix.CLOCK_REALTIME, &rt); err != nil {
		return time.Time{}, fmt.Errorf("clock_gettime(CLOCK_REALTIME): %w", err)
	}
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &b2); err != nil {
		return time.Time{}, fmt.Errorf("clock_gettime(CLOCK_BOOTTIME): %w", err)
	}
	up := (b1.Nano() + b2.Nano()) / 2
	return time.Unix(0, rt.Nano()-up), nil
}

var (
	clkTckOnce sync.Once
	clkTck     uint64
)

// atClkTck is AT_CLKTCK (linux/auxvec.h).
const atClkTck = 17

// clockTicks returns USER_HZ, the unit of /proc/PID/stat times: the
// AT_CLKTCK entry the kernel puts in every process's auxiliary vector
// (what sysconf(_SC_CLK_TCK) returns), or 100, its value on every
// architecture Go supports, if the vector has none.
func clockTicks() uint64 {
	clkTckOnce.Do(func() {
		clkTck = 100
		auxv, err := unix.Auxv()
		if err != nil {
			return
		}
		for _, kv := range auxv {
			if kv[0] == atClkTck && kv[1] > 0 {
				clkTck = uint64(kv[1])
			}
		}
	})
	return clkTck
}
