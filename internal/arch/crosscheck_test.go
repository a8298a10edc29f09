package arch

import (
	"sort"
	"testing"

	seccomparch "github.com/elastic/go-seccomp-bpf/arch"
)

// TestCrossCheckGoSeccompBPF compares our tables (from golang.org/x/sys) with
// github.com/elastic/go-seccomp-bpf's (generated from Linux v6.15 headers) on
// the four arches both have. Every name both know must have the same number.
//
// Name differences, resolved here:
//   - go-seccomp-bpf's aarch64 table calls 79 "fstatat" (the old
//     asm-generic name); the kernel's entry and our table name is
//     newfstatat, and "fstatat" is our alias for it, so the alias resolves
//     the name.
//   - go-seccomp-bpf's aarch64 table also lists the 20 *_time64 syscalls
//     (clock_gettime64 = 403 ... sched_rr_get_interval_time64 = 423). Its
//     generator reads include/uapi/asm-generic/unistd.h without evaluating
//     the `#if __BITS_PER_LONG == 32` around them; the kernel's table
//     (scripts/syscall.tbl) gives them ABI "32" only, so a 64-bit arm64
//     kernel has no such syscalls (403-423 are ENOSYS there). x/sys, which
//     omits them, is right; the test requires exactly these extras.
//   - go-seccomp-bpf's aarch64 table has "arch_specific_syscall" = 244,
//     asm-generic's __NR_arch_specific_syscall, which is the base of the
//     arch-specific range and not a syscall (ENOSYS on arm64); x/sys has it
//     too and our generator drops it.
//   - go-seccomp-bpf's arm table has the ARM private syscalls (breakpoint,
//     cacheflush, usr26, usr32, set_tls, get_tls at 0xf0001-0xf0006), which
//     x/sys lacks; supplement.go adds them with the numbers of the kernel's
//     arch/arm/include/uapi/asm/unistd.h, which this test checks too.
//
// Names only one side has (newer syscalls, arch-private ones) are logged,
// not failed.
func TestCrossCheckGoSeccompBPF(t *testing.T) {
	pairs := []struct {
		ours   *Arch
		theirs *seccomparch.Info
	}{
		{X86_64, seccomparch.X86_64},
		{AArch64, seccomparch.AARCH64},
		{I386, seccomparch.I386},
		{ARM, seccomparch.ARM},
	}
	total := 0
	for _, p := range pairs {
		if len(p.theirs.SyscallNames) == 0 {
			t.Fatalf("%s: go-seccomp-bpf table is empty", p.ours.Name)
		}
		compared := 0
		var onlyTheirs []string
		for name, theirNr := range p.theirs.SyscallNames {
			ourNr, ok := p.ours.Syscall(name)
			if !ok {
				onlyTheirs = append(onlyTheirs, name)
				continue
			}
			compared++
			if ourNr != theirNr {
				t.Errorf("%s: %s = %d here, %d in go-seccomp-bpf", p.ours.Name, name, ourNr, theirNr)
			}
		}
		var onlyOurs []string
		for nr, name := range p.ours.tables().names {
			if _, ok := p.theirs.SyscallNumbers[nr]; !ok {
				onlyOurs = append(onlyOurs, name)
			}
		}
		sort.Strings(onlyTheirs)
		sort.Strings(onlyOurs)
		if p.ours == AArch64 {
			var rest []string
			time64 := 0
			for _, name := range onlyTheirs {
				nr := p.theirs.SyscallNames[name]
				switch {
				case name == "arch_specific_syscall" && nr == 244:
				case time64Replacement(name) != "" && nr >= 403 && nr <= 423:
					time64++
				default:
					rest = append(rest, name)
				}
			}
			if time64 != 20 {
				t.Errorf("aarch64: %d 32-bit-only *_time64 names in go-seccomp-bpf, want 20", time64)
			}
			t.Logf("aarch64: ignored arch_specific_syscall and %d 32-bit-only *_time64 names of go-seccomp-bpf", time64)
			onlyTheirs = rest
		}
		if len(onlyTheirs) > 0 {
			t.Errorf("%s: names only in go-seccomp-bpf (map them with an alias or investigate): %v", p.ours.Name, onlyTheirs)
		}
		t.Logf("%s: %d names compared; %d numbers only here: %v", p.ours.Name, compared, len(onlyOurs), onlyOurs)
		total += compared
		if compared < 300 {
			t.Errorf("%s: only %d names compared", p.ours.Name, compared)
		}
	}
	t.Logf("%d names compared in all", total)
}
