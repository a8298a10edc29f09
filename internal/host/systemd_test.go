package host

import (
	"context"
	"os"
	"os/exec"
	"testing"
)

// TestProbeSystemd checks what plan learns of this machine's systemd 252
// (Debian 12, libseccomp 2.5.4): its @default group, the syscall names it
// cannot resolve (those newer than its libseccomp, on which apply's
// systemd-analyze verify would fail), and that verify fails on a unit name
// with ':'.
func TestProbeSystemd(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is missing (CI=true, so this fails instead of skipping)")
		}
		t.Skip("no systemd-analyze")
	}
	f := probeSystemd(context.Background(), commandEnv(os.Environ(), ScopeSystem), "x86_64")
	if f == nil {
		t.Fatal("no answer from systemd-analyze")
	}
	has := func(list []string, n string) bool {
		for _, x := range list {
			if x == n {
				return true
			}
		}
		return false
	}
	for _, n := range []string{"execve", "brk", "rt_sigreturn", "exit_group"} {
		if !has(f.Default, n) {
			t.Errorf("@default lacks %s: %v", n, f.Default)
		}
	}
	for _, n := range []string{"read", "write", "execve", "openat"} {
		if f.Unknown[n] {
			t.Errorf("%s reported unknown", n)
		}
	}
	out, _ := exec.Command("systemctl", "--version").Output()
	if len(out) > 12 && string(out[:12]) == "systemd 252 " {
		// libseccomp 2.5.4 knows neither (Linux 6.17/6.18 syscalls).
		for _, n := range []string{"listns", "file_getattr"} {
			if !f.Unknown[n] {
				t.Errorf("%s not reported unknown on systemd 252; unknown: %v", n, f.Unknown)
			}
		}
		if f.ColonUnitsVerify {
			t.Error("systemd 252's verify fails on unit names with ':', but the probe says it does not")
		}
	}
	t.Logf("@default: %d names; unknown: %v; verify copes with ':': %v", len(f.Default), f.Unknown, f.ColonUnitsVerify)
}
