package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fencer-dev/fencer/internal/bpf"
)

// runChild is the timing child: it installs its filter on its own thread
// (no_new_privs, so no privilege is needed), calls the syscall in batches
// and prints the fastest batch's nanoseconds per call: the one least
// disturbed by the rest of the machine (the parent takes the median over
// runs).
func runChild() int {
	prog, nr, calls, err := childSetup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 2
	}
	runtime.LockOSThread()
	if prog != nil {
		if err := installFilter(prog); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			return 2
		}
	}
	const batches = 9
	per := make([]float64, batches)
	for range 1000 {
		unix.RawSyscall6(uintptr(nr), 0, 0, 0, 0, 0, 0)
	}
	for b := range per {
		start := time.Now()
		for range calls / batches {
			unix.RawSyscall6(uintptr(nr), 0, 0, 0, 0, 0, 0)
		}
		per[b] = float64(time.Since(start)) / float64(calls/batches)
	}
	fmt.Println(slices.Min(per))
	return 0
}

// installFilter installs prog on the calling thread.
func installFilter(prog bpf.Program) error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	filters := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		filters[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filters)), Filter: &filters[0]}
	if _, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); errno != 0 {
		return fmt.Errorf("seccomp: %w", errno)
	}
	return nil
}
