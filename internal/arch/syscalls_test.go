package arch

import (
	"slices"
	"testing"
)

func TestSyscallNumbers(t *testing.T) {
	// Numbers from each arch's kernel syscall table.
	want := map[string]map[string]int{
		"write":            {"x86_64": 1, "aarch64": 64, "i386": 4, "arm": 4, "riscv64": 64, "ppc64le": 4, "s390x": 4},
		"openat":           {"x86_64": 257, "aarch64": 56, "i386": 295, "arm": 322, "riscv64": 56, "ppc64le": 286, "s390x": 288},
		"newfstatat":       {"x86_64": 262, "aarch64": 79, "riscv64": 79, "ppc64le": 291, "s390x": 293},
		"fstatat64":        {"i386": 300, "arm": 327},
		"clone":            {"x86_64": 56, "aarch64": 220, "i386": 120, "arm": 120, "riscv64": 220, "ppc64le": 120, "s390x": 120},
		"mmap2":            {"i386": 192, "arm": 192},
		"arch_prctl":       {"x86_64": 158, "i386": 384},
		"riscv_hwprobe":    {"riscv64": 258},
		"arm_fadvise64_64": {"arm": 270},
		"s390_sthyi":       {"s390x": 380},
		"restart_syscall":  {"arm": 0, "x86_64": 219},
		"cacheflush":       {"arm": 0x0f0002},
		"set_tls":          {"arm": 0x0f0005},
	}
	for name, byArch := range want {
		for _, a := range All() {
			nr, ok := a.Syscall(name)
			w, exists := byArch[a.Name]
			if exists && (!ok || nr != w) {
				t.Errorf("%s %s = %d, %v; want %d", a.Name, name, nr, ok, w)
			}
		}
	}
	absent := map[string][]string{
		"open":            {"aarch64", "riscv64"},
		"mmap":            {"arm"},
		"select":          {"arm", "aarch64", "riscv64"},
		"umount":          {"x86_64", "arm", "aarch64"},
		"arch_prctl":      {"aarch64", "arm", "riscv64", "ppc64le", "s390x"},
		"newfstatat":      {"i386", "arm"},
		"syscall_mask":    {"arm"}, // SYS_SYSCALL_MASK is not a syscall
		"socketcall":      {"x86_64", "aarch64", "riscv64"},
		"renameat":        {"riscv64"},
		"mmap_pgoff":      {"i386", "x86_64"},
		"set_tls":         {"aarch64", "x86_64"},
		"clock_gettime64": {"x86_64", "aarch64", "riscv64", "ppc64le", "s390x"},
	}
	for name, arches := range absent {
		for _, an := range arches {
			a, _ := Lookup(an)
			if nr, ok := a.Syscall(name); ok {
				t.Errorf("%s: %s should not exist, got %d", an, name, nr)
			}
		}
	}
}

func TestSyscallTablesConsistent(t *testing.T) {
	for _, a := range All() {
		if len(a.tables().names) < 300 {
			t.Errorf("%s: only %d syscalls", a.Name, len(a.tables().names))
		}
		for nr, name := range a.tables().names {
			got, ok := a.Syscall(name)
			if !ok || got != nr {
				t.Errorf("%s: names[%d] = %s, but Syscall(%s) = %d, %v", a.Name, nr, name, name, got, ok)
			}
		}
		for _, name := range a.SyscallNames() {
			nr, _ := a.Syscall(name)
			if _, ok := a.SyscallName(nr); !ok {
				t.Errorf("%s: %s = %d has no canonical name", a.Name, name, nr)
			}
		}
		if a.X32 {
			for nr, name := range a.tables().names {
				if nr&0x40000000 != 0 {
					t.Errorf("%s: %s = %#x is an x32 number", a.Name, name, nr)
				}
			}
		}
	}
}

func TestAliases(t *testing.T) {
	tests := []struct {
		arch, alias, canon string
		nr                 int
	}{
		{"aarch64", "fstatat", "newfstatat", 79},
		{"riscv64", "fstatat", "newfstatat", 79},
		{"x86_64", "fstatat", "newfstatat", 262},
		{"i386", "fstatat", "fstatat64", 300},
		{"arm", "fstatat", "fstatat64", 327},
		{"arm", "llseek", "_llseek", 140},
		{"arm", "sync_file_range2", "arm_sync_file_range", 341},
	}
	for _, tt := range tests {
		a, _ := Lookup(tt.arch)
		nr, ok := a.Syscall(tt.alias)
		if !ok || nr != tt.nr {
			t.Errorf("%s: Syscall(%s) = %d, %v; want %d", tt.arch, tt.alias, nr, ok, tt.nr)
		}
		if name, _ := a.SyscallName(nr); name != tt.canon {
			t.Errorf("%s: SyscallName(%d) = %s, want %s", tt.arch, nr, name, tt.canon)
		}
		if c, _ := a.Canonical(tt.alias); c != tt.canon {
			t.Errorf("%s: Canonical(%s) = %s, want %s", tt.arch, tt.alias, c, tt.canon)
		}
		if !slices.Contains(a.SyscallNames(), tt.alias) {
			t.Errorf("%s: SyscallNames lacks alias %s", tt.arch, tt.alias)
		}
	}
	// ppc64le has its own sync_file_range2; no alias may shadow a syscall.
	if nr, _ := PPC64LE.Syscall("sync_file_range2"); nr != 308 {
		t.Errorf("ppc64le sync_file_range2 = %d, want 308", nr)
	}
	// mmap2 stays mmap2: different offset unit, not an alias.
	if _, ok := ARM.Syscall("mmap"); ok {
		t.Error("arm: mmap must not alias mmap2")
	}
	if _, ok := AArch64.Syscall("umount"); ok {
		t.Error("aarch64: umount must not alias umount2")
	}
}

func TestReplacement(t *testing.T) {
	tests := []struct {
		arch, name, want string
	}{
		{"aarch64", "poll", "ppoll"},
		{"aarch64", "open", "openat"},
		{"aarch64", "creat", "openat"},
		{"aarch64", "stat", "newfstatat"},
		{"aarch64", "lstat", "newfstatat"},
		{"aarch64", "access", "faccessat"},
		{"aarch64", "dup2", "dup3"},
		{"aarch64", "pipe", "pipe2"},
		{"aarch64", "epoll_wait", "epoll_pwait"},
		{"aarch64", "epoll_create", "epoll_create1"},
		{"aarch64", "select", "pselect6"},
		{"aarch64", "mkdir", "mkdirat"},
		{"aarch64", "unlink", "unlinkat"},
		{"aarch64", "rename", "renameat"},
		{"riscv64", "rename", "renameat2"}, // riscv64 has no renameat
		{"aarch64", "link", "linkat"},
		{"aarch64", "symlink", "symlinkat"},
		{"aarch64", "readlink", "readlinkat"},
		{"aarch64", "chmod", "fchmodat"},
		{"aarch64", "chown", "fchownat"},
		{"aarch64", "lchown", "fchownat"},
		{"aarch64", "rmdir", "unlinkat"},
		{"aarch64", "fork", "clone"},
		{"aarch64", "vfork", "clone"},
		{"aarch64", "getdents", "getdents64"},
		{"aarch64", "time", "clock_gettime"},
		{"aarch64", "alarm", "setitimer"},
		{"aarch64", "signalfd", "signalfd4"},
		{"aarch64", "eventfd", "eventfd2"},
		{"aarch64", "inotify_init", "inotify_init1"},
		{"aarch64", "utime", "utimensat"},
		{"aarch64", "utimes", "utimensat"},
		{"aarch64", "mknod", "mknodat"},
		{"aarch64", "getpgrp", "getpgid"},
		{"aarch64", "ustat", "statfs"},
		{"aarch64", "umount", "umount2"},
		{"x86_64", "sendfile64", "sendfile"},
		{"x86_64", "fstat64", "fstat"},
		{"x86_64", "stat64", "stat"},
		{"x86_64", "_llseek", "lseek"},
		{"x86_64", "llseek", "lseek"},
		{"x86_64", "mmap2", "mmap"},
		{"x86_64", "_newselect", "select"},
		{"x86_64", "send", "sendto"},
		{"x86_64", "recv", "recvfrom"},
		{"x86_64", "chown32", "chown"},
		{"x86_64", "clock_gettime64", "clock_gettime"},
		{"x86_64", "futex_time64", "futex"},
		{"x86_64", "fstatat64", "newfstatat"},
		{"arm", "mmap", "mmap2"},
		{"arm", "select", "_newselect"},
		{"arm", "getrlimit", "ugetrlimit"},
		{"arm", "newfstatat", "fstatat64"},
		{"arm", "fadvise64_64", "arm_fadvise64_64"},
		{"arm", "sync_file_range", "arm_sync_file_range"},
		{"ppc64le", "sync_file_range", "sync_file_range2"},
	}
	for _, tt := range tests {
		a, _ := Lookup(tt.arch)
		got, ok := a.Replacement(tt.name)
		if !ok || got != tt.want {
			t.Errorf("%s: Replacement(%s) = %q, %v; want %q", tt.arch, tt.name, got, ok, tt.want)
		}
		if _, exists := a.Syscall(got); ok && !exists {
			t.Errorf("%s: Replacement(%s) = %s does not exist there", tt.arch, tt.name, got)
		}
	}
	// No replacement for a syscall that exists, or for one with no substitute.
	for _, c := range []struct{ arch, name string }{
		{"x86_64", "open"}, {"aarch64", "openat"}, {"x86_64", "arch_prctl"},
		{"aarch64", "arch_prctl"}, {"aarch64", "nosuchcall"}, {"aarch64", "fstatat"},
	} {
		a, _ := Lookup(c.arch)
		if r, ok := a.Replacement(c.name); ok {
			t.Errorf("%s: Replacement(%s) = %s, want none", c.arch, c.name, r)
		}
	}
	// Every replacement any arch hands out exists there.
	for _, a := range All() {
		for name := range replacements {
			if r, ok := a.Replacement(name); ok {
				if _, exists := a.Syscall(r); !exists {
					t.Errorf("%s: Replacement(%s) = %s, which does not exist", a.Name, name, r)
				}
			}
		}
	}
}
