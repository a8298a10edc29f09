package host

import "strings"

// Facts are what fencer learns from a host before planning.
type Facts struct {
	// Arch is the canonical architecture name (internal/arch).
	Arch string
	// SystemdVersion is systemd's major version (252), 0 when unknown.
	SystemdVersion int
	// Scope is "system" or "user".
	Scope string
	// Paths are where units, drop-ins and filters go for the scope.
	Paths Paths
	// UnitSearchPath lists the directories systemd reads units from, in
	// its order of precedence (first wins), for the scope.
	UnitSearchPath []string
	// Root is the directory tree the host stands for, "" for a real host.
	Root string
	// Live is set when a systemd manager runs for the scope, so units
	// can be reloaded, verified and restarted.
	Live bool
	// Systemd is what the host's systemd knows of syscall and unit names;
	// nil when it could not be read (no systemd-analyze), and then plan
	// takes systemd 252's @default group and assumes every name known.
	Systemd *SystemdFacts
}

// Paths are the directories fencer writes to on a host.
type Paths struct {
	// UnitDir holds units and drop-in directories fencer writes:
	// /etc/systemd/system, or ~/.config/systemd/user.
	UnitDir string
	// FilterDir holds compiled filters: /etc/fencer/filters, or
	// ~/.config/fencer/filters.
	FilterDir string
	// OriginalDir keeps the files fencer took over (apply -adopt), by
	// their path below UnitDir, for destroy to put back:
	// /etc/fencer/originals, or ~/.config/fencer/originals.
	OriginalDir string
}

// SystemPaths and the user paths for a home directory follow SPEC §4.
var SystemPaths = Paths{UnitDir: "/etc/systemd/system", FilterDir: "/etc/fencer/filters", OriginalDir: "/etc/fencer/originals"}

// UserPaths returns the user-scope paths under configHome
// ($XDG_CONFIG_HOME, default ~/.config).
func UserPaths(configHome string) Paths {
	return Paths{UnitDir: configHome + "/systemd/user", FilterDir: configHome + "/fencer/filters", OriginalDir: configHome + "/fencer/originals"}
}

// The unit search path. A host that runs systemd-analyze reports its own
// (LocalHost.unitSearchPath); for the others, and where it does not run,
// fencer assumes systemd 252's (LocalHost.defaultUnitSearchPath), which
// these two say for each scope.

// SystemUnitSearchPath is where systemd 252 on Debian looks for system
// units, in order (systemd-analyze unit-paths).
var SystemUnitSearchPath = []string{
	"/etc/systemd/system.control", "/run/systemd/system.control", "/run/systemd/transient",
	"/run/systemd/generator.early", "/etc/systemd/system", "/etc/systemd/system.attached",
	"/run/systemd/system", "/run/systemd/system.attached", "/run/systemd/generator",
	"/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
	"/run/systemd/generator.late",
}

// userUnitSearchPath is where a user manager looks for units, in order,
// given $XDG_CONFIG_HOME and $XDG_RUNTIME_DIR and the user's data home.
func userUnitSearchPath(configHome, runtimeDir, dataHome string) []string {
	return []string{
		configHome + "/systemd/user.control", runtimeDir + "/systemd/user.control",
		runtimeDir + "/systemd/transient", runtimeDir + "/systemd/generator.early",
		configHome + "/systemd/user", "/etc/xdg/systemd/user", "/etc/systemd/user",
		runtimeDir + "/systemd/user", "/run/systemd/user", runtimeDir + "/systemd/generator",
		dataHome + "/systemd/user", "/usr/local/share/systemd/user", "/usr/share/systemd/user",
		"/usr/local/lib/systemd/user", "/usr/lib/systemd/user", runtimeDir + "/systemd/generator.late",
	}
}

// SystemdFacts is what a host's systemd knows of syscalls and unit names,
// read with systemd-analyze (probeSystemd).
type SystemdFacts struct {
	// Default is the @default group, which systemd adds to every
	// SystemCallFilter= allow-list.
	Default []string
	// Unknown are the syscall names of the host's architecture that its
	// systemd cannot resolve (libseccomp does not know them): systemd
	// ignores them in SystemCallFilter= with a warning, on which
	// systemd-analyze verify fails, and its filter gives them its default
	// action, since it cannot name them.
	Unknown map[string]bool
	// ColonUnitsVerify is false when systemd-analyze verify fails on a
	// unit whose name has a ':' (systemd 252: "Couldn't process aliases").
	ColonUnitsVerify bool
}

// SystemdDefault252 is systemd 252's @default group (systemd-analyze
// syscall-filter @default), for a host that cannot say its own.
var SystemdDefault252 = strings.Fields(`arch_prctl brk cacheflush clock_getres clock_getres_time64
clock_gettime clock_gettime64 clock_nanosleep clock_nanosleep_time64 execve exit exit_group futex
futex_time64 futex_waitv get_robust_list get_thread_area getegid getegid32 geteuid geteuid32 getgid
getgid32 getgroups getgroups32 getpgid getpgrp getpid getppid getrandom getresgid getresgid32
getresuid getresuid32 getrlimit getsid gettid gettimeofday getuid getuid32 membarrier mmap mmap2
mprotect munmap nanosleep pause prlimit64 restart_syscall riscv_flush_icache rseq rt_sigreturn
sched_getaffinity sched_yield set_robust_list set_thread_area set_tid_address set_tls sigreturn
time ugetrlimit`)

// SystemdDefault returns the host's @default group, systemd 252's when the
// host could not say.
func (f *Facts) SystemdDefault() []string {
	if f.Systemd != nil && len(f.Systemd.Default) > 0 {
		return f.Systemd.Default
	}
	return SystemdDefault252
}

// SystemdKnows reports whether the host's systemd resolves a syscall name;
// true when the host could not say.
func (f *Facts) SystemdKnows(name string) bool {
	return f.Systemd == nil || !f.Systemd.Unknown[name]
}
