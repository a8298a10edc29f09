package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fencer-dev/fencer/internal/bpf"
)

// runChild is the timing child. Seccomp filters belong to threads: it
// starts one thread per filter, each installing its own (no_new_privs,
// so no privilege is needed; "none" installs nothing), and lets them call
// the syscall one batch at a time in turn, round after round, so that
// every filter runs under the same conditions of the machine. Every
// thread runs on the CPU the child started on, and times its batch
// itself, so neither a move between CPUs nor waking a thread counts. It
// prints, per filter, the median over rounds of a batch's nanoseconds per
// call.
func runChild() int {
	progs, nr, err := childSetup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 2
	}
	var cpus unix.CPUSet
	if err := unix.SchedGetaffinity(0, &cpus); err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 2
	}
	cpu := 0
	for !cpus.IsSet(cpu) {
		cpu++
	}
	workers := make([]*timingThread, len(progs))
	for i, p := range progs {
		workers[i] = startTimingThread(p, nr, cpu)
		if err := <-workers[i].done; err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			return 2
		}
	}
	per := make([][]float64, len(progs))
	for round := range childRounds {
		for k := range workers {
			i := (k + round) % len(workers) // each goes first in turn
			workers[i].run <- struct{}{}
			<-workers[i].done
			per[i] = append(per[i], float64(<-workers[i].took)/childBatch)
		}
	}
	out := make([]string, len(per))
	for i, p := range per {
		slices.Sort(p)
		out[i] = fmt.Sprint(p[len(p)/2])
	}
	fmt.Println(strings.Join(out, " "))
	return 0
}

// timingThread is a thread with one filter installed, calling the
// syscall a batch at a time.
type timingThread struct {
	run  chan struct{}
	done chan error
	took chan time.Duration
}

// startTimingThread starts a thread on cpu that installs prog (none when
// nil), reports on done, and then calls syscall nr childBatch times for
// each token on run, reporting each batch on done and its time on took.
func startTimingThread(prog bpf.Program, nr, cpu int) *timingThread {
	w := &timingThread{run: make(chan struct{}), done: make(chan error), took: make(chan time.Duration, 1)}
	go func() {
		// Never unlocked: the thread ends with the process, and no other
		// goroutine runs under its filter.
		runtime.LockOSThread()
		var one unix.CPUSet
		one.Set(cpu)
		if err := unix.SchedSetaffinity(0, &one); err != nil {
			w.done <- fmt.Errorf("pin the thread to CPU %d: %w", cpu, err)
			return
		}
		if prog != nil {
			if err := installFilter(prog); err != nil {
				w.done <- err
				return
			}
		}
		for range childBatch {
			unix.RawSyscall6(uintptr(nr), 0, 0, 0, 0, 0, 0)
		}
		w.done <- nil
		for range w.run {
			start := time.Now()
			for range childBatch {
				unix.RawSyscall6(uintptr(nr), 0, 0, 0, 0, 0, 0)
			}
			w.took <- time.Since(start)
			w.done <- nil
		}
	}()
	return w
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
