package arch

import (
	"sort"
	"strings"
)

// syscallAliases returns the user-facing names a accepts for a syscall whose
// table name differs, alias -> canonical table name. An alias only takes
// effect when the canonical name exists on a and the alias is not itself a
// syscall there. Every alias names the same kernel entry point with the same
// arguments; names that merely do a similar job (umount vs umount2, mmap vs
// mmap2, getrlimit vs ugetrlimit) are Replacements, not aliases.
func syscallAliases(a *Arch) map[string]string {
	m := map[string]string{
		// libc's fstatat(2) is newfstatat on 64-bit kernels and fstatat64
		// on 32-bit ones (asm-generic's __NR3264_fstatat); aarch64 and
		// riscv64 headers used to spell it fstatat.
		"fstatat": "newfstatat",
		// The entry point is sys_llseek; the table name is _llseek.
		"llseek": "_llseek",
	}
	if a.Bits == 32 {
		m["fstatat"] = "fstatat64"
	}
	if a.Name == "arm" {
		// arch/arm/include/uapi/asm/unistd.h:
		// #define __NR_sync_file_range2 __NR_arm_sync_file_range
		m["sync_file_range2"] = "arm_sync_file_range"
	}
	return m
}

// Canonical resolves an alias to the table name of the syscall on a, and
// returns a table name unchanged.
func (a *Arch) Canonical(name string) (string, bool) {
	nr, ok := a.syscalls[name]
	if !ok {
		return "", false
	}
	return a.names[nr], true
}

// replacements lists, for a syscall that some architectures lack, what a
// program uses there instead, best first. The choices follow what glibc does
// when the legacy call is missing.
var replacements = map[string][]string{
	"_llseek":          {"lseek"},
	"_newselect":       {"select", "pselect6"},
	"accept":           {"accept4"},
	"access":           {"faccessat", "faccessat2"},
	"alarm":            {"setitimer"},
	"chmod":            {"fchmodat"},
	"chown":            {"fchownat"},
	"chown32":          {"chown", "fchownat"},
	"creat":            {"openat"},
	"dup2":             {"dup3"},
	"epoll_create":     {"epoll_create1"},
	"epoll_wait":       {"epoll_pwait", "epoll_pwait2"},
	"eventfd":          {"eventfd2"},
	"fadvise64":        {"fadvise64_64", "arm_fadvise64_64"},
	"fadvise64_64":     {"fadvise64", "arm_fadvise64_64"},
	"fchown32":         {"fchown"},
	"fcntl64":          {"fcntl"},
	"fork":             {"clone"},
	"fstat":            {"fstat64", "newfstatat", "statx"},
	"fstat64":          {"fstat", "newfstatat", "statx"},
	"fstatat64":        {"newfstatat", "statx"},
	"fstatfs64":        {"fstatfs"},
	"ftruncate64":      {"ftruncate"},
	"futimesat":        {"utimensat"},
	"getdents":         {"getdents64"},
	"getegid32":        {"getegid"},
	"geteuid32":        {"geteuid"},
	"getgid32":         {"getgid"},
	"getgroups32":      {"getgroups"},
	"getpgrp":          {"getpgid"},
	"getresgid32":      {"getresgid"},
	"getresuid32":      {"getresuid"},
	"getrlimit":        {"ugetrlimit", "prlimit64"},
	"getuid32":         {"getuid"},
	"inotify_init":     {"inotify_init1"},
	"lchown":           {"fchownat"},
	"lchown32":         {"lchown", "fchownat"},
	"link":             {"linkat"},
	"llseek":           {"lseek"},
	"lstat":            {"newfstatat", "fstatat64", "statx"},
	"lstat64":          {"lstat", "newfstatat", "statx"},
	"mkdir":            {"mkdirat"},
	"mknod":            {"mknodat"},
	"mmap":             {"mmap2"},
	"mmap2":            {"mmap"},
	"nanosleep":        {"clock_nanosleep"},
	"newfstatat":       {"fstatat64", "statx"},
	"open":             {"openat"},
	"pause":            {"rt_sigsuspend"},
	"pipe":             {"pipe2"},
	"poll":             {"ppoll"},
	"readlink":         {"readlinkat"},
	"recv":             {"recvfrom"},
	"rename":           {"renameat", "renameat2"},
	"renameat":         {"renameat2"},
	"rmdir":            {"unlinkat"},
	"select":           {"_newselect", "pselect6"},
	"send":             {"sendto"},
	"sendfile":         {"sendfile64"},
	"sendfile64":       {"sendfile"},
	"setfsgid32":       {"setfsgid"},
	"setfsuid32":       {"setfsuid"},
	"setgid32":         {"setgid"},
	"setgroups32":      {"setgroups"},
	"setregid32":       {"setregid"},
	"setresgid32":      {"setresgid"},
	"setresuid32":      {"setresuid"},
	"setreuid32":       {"setreuid"},
	"setrlimit":        {"prlimit64"},
	"setuid32":         {"setuid"},
	"sigaction":        {"rt_sigaction"},
	"signal":           {"rt_sigaction"},
	"signalfd":         {"signalfd4"},
	"sigpending":       {"rt_sigpending"},
	"sigprocmask":      {"rt_sigprocmask"},
	"sigreturn":        {"rt_sigreturn"},
	"sigsuspend":       {"rt_sigsuspend"},
	"stat":             {"newfstatat", "fstatat64", "statx"},
	"stat64":           {"stat", "newfstatat", "statx"},
	"statfs64":         {"statfs"},
	"stime":            {"clock_settime"},
	"symlink":          {"symlinkat"},
	"sync_file_range":  {"sync_file_range2", "arm_sync_file_range"},
	"sync_file_range2": {"sync_file_range", "arm_sync_file_range"},
	"time":             {"clock_gettime"},
	"truncate64":       {"truncate"},
	"ugetrlimit":       {"getrlimit", "prlimit64"},
	"umount":           {"umount2"},
	"unlink":           {"unlinkat"},
	"ustat":            {"statfs"},
	"utime":            {"utimensat"},
	"utimes":           {"utimensat"},
	"vfork":            {"clone"},
	"waitpid":          {"wait4"},
}

// time64Replacement maps the 32-bit *_time64 syscalls to their 64-bit names.
func time64Replacement(name string) string {
	switch name {
	case "clock_gettime64", "clock_settime64", "clock_adjtime64",
		"timer_settime64", "timer_gettime64",
		"timerfd_settime64", "timerfd_gettime64":
		return strings.TrimSuffix(name, "64")
	}
	if base, ok := strings.CutSuffix(name, "_time64"); ok {
		return base
	}
	return ""
}

// Replacement suggests, for a syscall that does not exist on a, the syscall
// a program uses there instead: poll -> ppoll and open -> openat on aarch64,
// mmap -> mmap2 on arm, clock_gettime64 -> clock_gettime on x86_64, and so
// on. It returns a canonical name that exists on a, or false if name exists
// on a or nothing replaces it. A replacement is a hint for a message, not an
// equivalence: its arguments may differ (open's flags are openat's arg2).
func (a *Arch) Replacement(name string) (string, bool) {
	if _, ok := a.syscalls[name]; ok {
		return "", false
	}
	cands := replacements[name]
	if r := time64Replacement(name); r != "" {
		cands = append([]string{r}, cands...)
	}
	for _, c := range cands {
		if canon, ok := a.Canonical(c); ok {
			return canon, true
		}
	}
	return "", false
}

// SuggestSyscall returns the syscall name on a nearest to name (a likely
// typo), or "" if none is close; see Suggest.
func (a *Arch) SuggestSyscall(name string) string { return Suggest(name, a.SyscallNames()) }

// SuggestConst returns the constant name on a nearest to name, or ""; see
// Suggest.
func (a *Arch) SuggestConst(name string) string { return Suggest(name, a.ConstNames()) }

// Suggest returns the candidate nearest to name by Damerau-Levenshtein
// distance (optimal string alignment: insertions, deletions, substitutions
// and transpositions of adjacent letters each cost 1), ignoring case. It
// returns "" if candidates is empty or the nearest is farther than
// max(2, len(name)/3). Ties go to the lexically smallest candidate, so the
// result does not depend on the order of candidates.
func Suggest(name string, candidates []string) string {
	limit := max(2, len([]rune(name))/3)
	lname := []rune(strings.ToLower(name))
	best, bestDist := "", limit+1
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		if d := osaDistance(lname, []rune(strings.ToLower(c)), bestDist); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// osaDistance is the optimal string alignment distance between a and b. It
// may stop early and return any value >= bound once the distance is known to
// reach bound.
func osaDistance(a, b []rune, bound int) int {
	if d := len(a) - len(b); d >= bound || -d >= bound {
		return bound
	}
	// Three rows: i-2, i-1, i.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin >= bound {
			return bound
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
