package bpf

// How the kernel combines the verdicts of several filters.
//
// A process may carry several seccomp filters (systemd's SystemCallFilter=,
// fencer's, any the service installs itself). For each syscall the kernel
// runs every one of them, newest first, and obeys the one whose action
// ranks highest (seccomp_run_filters in kernel/seccomp.c): actions compare
// as signed 32-bit numbers of their action bits, lower meaning stronger,
// which gives
//
//	KILL_PROCESS > KILL_THREAD > TRAP > ERRNO > USER_NOTIF > TRACE > LOG > ALLOW
//
// with the action values the kernel does not know ranked by their number
// among them (and then treated as KILL_PROCESS). Among filters returning
// the same action the newest wins: its data (the errno, the trap's
// si_errno) and, for USER_NOTIF, its listener decide.

// RetStronger reports whether the kernel ranks the action of filter return
// value a above that of b, data ignored.
func RetStronger(a, b uint32) bool {
	return int32(a&RetActionFull) < int32(b&RetActionFull)
}

// Combine returns the index of the filter whose return value the kernel
// obeys, given the return values of a process's filters for one syscall,
// newest first: the first of those whose action ranks highest. It returns
// -1 when every one allows the call (or there are none): the kernel then
// runs the call.
func Combine(rets []uint32) int {
	ret, best := RetAllow, -1
	for i, r := range rets {
		if RetStronger(r, ret) {
			ret, best = r, i
		}
	}
	return best
}
