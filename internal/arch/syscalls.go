package arch

import (
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
	t := a.tables()
	nr, ok := t.syscalls[name]
	if !ok {
		return "", false
	}
	return t.names[nr], true
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
	if _, ok := a.tables().syscalls[name]; ok {
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
