package resolve

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/configtest"
	"github.com/fencer-dev/fencer/internal/policy"
)

// verdict compiles the configuration's only service for archName and runs
// the program in fencer's BPF interpreter on one call.
func verdict(t *testing.T, src, archName, syscall string, args [6]uint64) (policy.Action, hcl.Diagnostics) {
	t.Helper()
	cfg := configtest.Parse(t, src)
	a, _ := arch.Lookup(archName)
	c, diags := Compile(cfg.Services[0], a)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", archName, diags)
	}
	nr, ok := a.Syscall(syscall)
	if !ok {
		t.Fatalf("%s: no syscall %s", archName, syscall)
	}
	vm, err := bpf.NewVM(c.Program, a.Order)
	if err != nil {
		t.Fatal(err)
	}
	data := bpf.MakeData(int32(nr), a.Audit, 0, args, a.Order)
	got := policy.ActionFromRet(vm.Run(data[:], bpf.Options{}).Ret)
	// The program must mean what the resolved policy means.
	if want := c.Filter.Decide(policy.Data{Nr: int32(nr), Arch: a.Audit, Args: args}); got != want {
		t.Fatalf("%s: the program says %v, the policy %v", archName, got, want)
	}
	return got, diags
}

var kill = policy.Action{Kind: policy.KillProcess}

// TestMmapRWXHighBits: mmap(0, 4096, 0x100000007, MAP_PRIVATE|MAP_ANONYMOUS,
// -1, 0) maps rwx on x86_64 (the kernel ignores prot's high half), so a rule
// that kills arg2 == PROT_READ|PROT_WRITE|PROT_EXEC must kill it. Before the
// audit prot was compared on 64 bits and the call was allowed.
func TestMmapRWXHighBits(t *testing.T) {
	src := `service "s" {
  unit           = "s.service"
  default_action = log
  rule "mmap" {
    syscalls = ["mmap"]
  }
  rule "no_rwx" {
    syscalls = ["mmap"]
    when     = arg2 == bitor(PROT_READ, PROT_WRITE, PROT_EXEC)
    action   = kill_process
  }
}
`
	const mapPrivateAnon = 0x22
	for _, a := range []string{"x86_64", "aarch64", "riscv64"} {
		for _, prot := range []uint64{0x7, 0x100000007, 0xffffffff00000007} {
			got, _ := verdict(t, src, a, "mmap", [6]uint64{0, 4096, prot, mapPrivateAnon, ^uint64(0), 0})
			if got != kill {
				t.Errorf("%s: mmap with prot %#x: %v, want kill_process", a, prot, got)
			}
		}
	}
	// On ppc64le the kernel refuses such a prot with EINVAL
	// (arch_validate_prot), so all 64 bits are compared there.
	got, _ := verdict(t, src, "ppc64le", "mmap", [6]uint64{0, 4096, 0x100000007, mapPrivateAnon, ^uint64(0), 0})
	if got.Kind != policy.Allow {
		t.Errorf("ppc64le: mmap with prot 0x100000007: %v, want allow (the kernel refuses it)", got)
	}
	// The same for flags: the kernel ignores their high half.
	src = strings.Replace(src, "arg2 == bitor(PROT_READ, PROT_WRITE, PROT_EXEC)", "arg3 == bitor(MAP_PRIVATE, MAP_ANONYMOUS)", 1)
	got, _ = verdict(t, src, "x86_64", "mmap", [6]uint64{0, 4096, 3, 0xdead000000000000 | mapPrivateAnon, ^uint64(0), 0})
	if got != kill {
		t.Errorf("x86_64: mmap with junk in flags' high half: %v, want kill_process", got)
	}
}

// TestKeyctlHighBits: keyctl(KEYCTL_GET_KEYRING_ID, 0x00000000fffffffc) is
// keyctl(KEYCTL_GET_KEYRING_ID, -4) to the kernel ((key_serial_t) arg2), so
// it must not pass a rule allowing arg1 != -4. Before the audit arg1 was
// compared on 64 bits, where -4 is 0xfffffffffffffffc, and it passed.
func TestKeyctlHighBits(t *testing.T) {
	for _, when := range []string{
		"arg1 != -4",
		"arg0 == KEYCTL_GET_KEYRING_ID && arg1 != -4",
		"!(arg1 == -4)",
		"!contains([-4, -5], arg1)",
	} {
		src := `service "s" {
  unit           = "s.service"
  default_action = errno(EPERM)
  rule "not_the_user_keyring" {
    syscalls = ["keyctl"]
    when     = ` + when + `
  }
}
`
		for _, a := range []string{"x86_64", "aarch64", "s390x", "ppc64le", "riscv64"} {
			for _, id := range []uint64{0x00000000fffffffc, 0xfffffffffffffffc, 0x12345678fffffffc} {
				got, _ := verdict(t, src, a, "keyctl", [6]uint64{0, id, 0})
				if got.Kind != policy.Errno {
					t.Errorf("%s, %s: keyctl(KEYCTL_GET_KEYRING_ID, %#x): %v, want errno(EPERM)", when, a, id, got)
				}
			}
			// Another keyring is allowed, and for an option whose arg1 is a
			// pointer (KEYCTL_JOIN_SESSION_KEYRING) all 64 bits count.
			if got, _ := verdict(t, src, a, "keyctl", [6]uint64{0, 0xfffffffd}); got.Kind != policy.Allow && !strings.HasPrefix(when, "arg0") {
				t.Errorf("%s, %s: keyctl(KEYCTL_GET_KEYRING_ID, -3): %v, want allow", when, a, got)
			}
			if strings.HasPrefix(when, "arg0") {
				continue
			}
			if got, _ := verdict(t, src, a, "keyctl", [6]uint64{1, 0x00000000fffffffc}); got.Kind != policy.Allow {
				t.Errorf("%s, %s: keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0xfffffffc): %v, want allow (a pointer, not -4)", when, a, got)
			}
		}
	}
}

// TestFutexRequeueHighBits: futex's utime (arg3) is a pointer for
// FUTEX_WAIT, but do_futex() reads it as a u32 count for FUTEX_REQUEUE,
// FUTEX_CMP_REQUEUE and FUTEX_WAKE_OP: futex(uaddr,
// FUTEX_CMP_REQUEUE_PRIVATE, 0, 0xdead00007fffffff, ...) requeues
// 0x7fffffff waiters. Before, arg3 was compared on all 64 bits as the
// pointer it is declared, and that call dodged a rule denying that count.
func TestFutexRequeueHighBits(t *testing.T) {
	src := `service "s" {
  unit           = "s.service"
  default_action = kill_process
  rule "futex" {
    syscalls = ["futex"]
  }
  rule "no_requeue_all" {
    syscalls = ["futex"]
    when     = arg1 == 132 && arg3 == 2147483647
    action   = errno(EPERM)
  }
  rule "no_wait_without_timeout" {
    syscalls = ["futex"]
    when     = arg1 == 128 && arg3 == 0
    action   = errno(EINVAL)
  }
}
`
	for _, a := range []string{"x86_64", "aarch64", "s390x", "ppc64le", "riscv64"} {
		for _, n := range []uint64{0x7fffffff, 0xdead00007fffffff, 0xffffffff7fffffff} {
			got, _ := verdict(t, src, a, "futex", [6]uint64{0x1000, 132, 0, n, 0x2000, 0})
			if got.Kind != policy.Errno || got.Data != 1 {
				t.Errorf("%s: futex(FUTEX_CMP_REQUEUE_PRIVATE, nr_requeue %#x): %v, want errno(1)", a, n, got)
			}
		}
		// FUTEX_WAIT's utime is a pointer: 0x100000000 is not NULL.
		if got, _ := verdict(t, src, a, "futex", [6]uint64{0x1000, 128, 0, 0x100000000, 0, 0}); got.Kind != policy.Allow {
			t.Errorf("%s: futex(FUTEX_WAIT_PRIVATE, timeout 0x100000000): %v, want allow (a pointer, not NULL)", a, got)
		}
	}
}

// TestCallDependentWidths: fcntl's arg2 is an int for F_SETFL and a pointer
// for F_SETLK; prctl's arg2 is an fd for PR_SET_MM_EXE_FILE.
func TestCallDependentWidths(t *testing.T) {
	src := `service "s" {
  unit           = "s.service"
  default_action = log
  rule "allowed" {
    syscalls = ["fcntl", "prctl"]
  }
  rule "no_async" {
    syscalls = ["fcntl"]
    when     = arg2 == 8192
    action   = kill_process
  }
  rule "no_exe" {
    syscalls = ["prctl"]
    when     = arg0 == PR_SET_MM && arg1 == PR_SET_MM_EXE_FILE && arg2 == 3
    action   = kill_process
  }
}
`
	const junk = 0x5a5a5a5a00000000
	fSetfl, _ := arch.X86_64.Const("F_SETFL")
	fSetlk, _ := arch.X86_64.Const("F_SETLK")
	prSetMM, _ := arch.X86_64.Const("PR_SET_MM")
	exeFile, _ := arch.X86_64.Const("PR_SET_MM_EXE_FILE")
	for _, c := range []struct {
		syscall string
		args    [6]uint64
		want    policy.ActionKind
	}{
		{"fcntl", [6]uint64{3, fSetfl, 8192}, policy.KillProcess},
		{"fcntl", [6]uint64{3, fSetfl, junk | 8192}, policy.KillProcess},
		{"fcntl", [6]uint64{3, fSetlk, 8192}, policy.KillProcess},
		{"fcntl", [6]uint64{3, fSetlk, junk | 8192}, policy.Allow}, // a different pointer
		{"prctl", [6]uint64{prSetMM, exeFile, 3}, policy.KillProcess},
		{"prctl", [6]uint64{prSetMM, junk | exeFile, junk | 3}, policy.KillProcess},
		{"prctl", [6]uint64{prSetMM, exeFile + 1, junk | 3}, policy.Allow},
	} {
		got, diags := verdict(t, src, "x86_64", c.syscall, c.args)
		if got.Kind != c.want {
			t.Errorf("%s%#x: %v, want %v", c.syscall, c.args, got, c.want)
		}
		// fcntl's condition does not fix the command: a warning says so.
		if n := countSummary(diags, "Argument width unknown"); n != 1 {
			t.Errorf("%d width warnings, want 1 (fcntl's): %v", n, diags)
		}
	}
}

func countSummary(diags hcl.Diagnostics, summary string) int {
	n := 0
	for _, d := range diags {
		if d.Summary == summary {
			n++
		}
	}
	return n
}

// TestWidthWarnings: a condition on an argument whose reading fencer cannot
// pin down warns, at the comparison, with the safe form; one written in
// the safe form, or whose command the condition fixes, does not.
func TestWidthWarnings(t *testing.T) {
	for _, c := range []struct {
		syscall, when string
		warn          string // "" for none
	}{
		{"ioctl", "arg2 == 1", "masked(arg2, 4294967295)"},
		{"ioctl", "arg1 == 21505 && arg2 != 0", "the driver decide"},
		{"ioctl", "masked(arg2, 4294967295) == 1", ""},
		{"ioctl", "has_bits(arg2, 128)", ""},
		{"ioctl", "has_bits(arg2, 4294967296)", "has_bits(arg2, MASK)"},
		{"fcntl", "arg2 == 1024", "depends on arg1"},
		{"fcntl", "arg1 == F_SETFL && arg2 == 1024", ""},
		{"fcntl", "contains([F_SETFL, F_SETFD], arg1) && arg2 == 1", ""},
		{"fcntl", "arg1 == F_GETDELEG && arg2 == 1", "other commands are EINVAL"},
		{"keyctl", "arg1 != -4", "Fix arg0 in the same condition"},
		{"keyctl", "arg0 == KEYCTL_GET_KEYRING_ID && arg1 != -4", ""},
		{"prctl", "arg1 == 1", "depends on arg0"},
		{"prctl", "arg0 == PR_SET_MM && arg1 == PR_SET_MM_EXE_FILE && arg2 == 3", ""},
		{"prctl", "arg0 == PR_SET_DUMPABLE && arg1 == 0", ""},
		{"write", "arg0 == 2", ""},
	} {
		src := configtest.Service(`rule "r" {
    syscalls = ["` + c.syscall + `"]
    when     = ` + c.when + `
    action   = kill_process
  }`)
		_, diags := resolveOn(t, src, "x86_64")
		if diags.HasErrors() {
			t.Fatalf("%s: %v", c.when, diags)
		}
		var warns []*hcl.Diagnostic
		for _, d := range diags {
			if d.Summary == "Argument width unknown" {
				warns = append(warns, d)
			}
		}
		switch {
		case c.warn == "" && len(warns) != 0:
			t.Errorf("%s when %s: unexpected warning: %s", c.syscall, c.when, warns[0].Detail)
		case c.warn != "" && len(warns) != 1:
			t.Errorf("%s when %s: %d warnings, want 1", c.syscall, c.when, len(warns))
		case c.warn != "":
			d := warns[0]
			if !strings.Contains(d.Detail, c.warn) || !strings.Contains(d.Detail, "masked(") {
				t.Errorf("%s when %s: warning %q lacks %q or the safe form", c.syscall, c.when, d.Detail, c.warn)
			}
			// The warning points at the comparison, file:line:col.
			if d.Subject == nil || d.Subject.Filename != "main.fencer.hcl" || d.Subject.Start.Line != 12 || d.Subject.Start.Column < 16 {
				t.Errorf("%s when %s: warning at %v", c.syscall, c.when, d.Subject)
			}
		}
		// No warning on 32-bit architectures, which have no high half.
		if _, diags := resolveOn(t, src, "i386"); !diags.HasErrors() && countSummary(diags, "Argument width unknown") != 0 {
			t.Errorf("%s when %s: warning on i386: %v", c.syscall, c.when, diags)
		}
	}
}

// TestPinnedCommandsCompileOneWidth: a condition that fixes the command
// compiles the comparison on that command's width alone, also when the
// command is itself an argument whose width depends on another (prctl's
// PR_SET_MM sub-option); one that does not compiles a comparison per width.
func TestPinnedCommandsCompileOneWidth(t *testing.T) {
	for _, c := range []struct {
		syscall, when string
		cmps          int
	}{
		{"prctl", "arg0 == PR_SET_MM && arg1 == PR_SET_MM_EXE_FILE && arg2 == 3", 3},
		{"prctl", "arg1 == PR_SET_MM_EXE_FILE && arg0 == PR_SET_MM && arg2 == 3", 3},
		{"keyctl", "arg0 == KEYCTL_GET_KEYRING_ID && (arg1 == -4 || arg1 == -5)", 3},
		{"keyctl", "contains([KEYCTL_REVOKE, KEYCTL_CLEAR], arg0) && !(arg1 == -4)", 3},
		{"fcntl", "arg1 == F_SETFL && arg2 == 2048", 2},
	} {
		f, diags := resolveOn(t, configtest.Service(`rule "r" {
    syscalls = ["`+c.syscall+`"]
    when     = `+c.when+`
  }`), "x86_64")
		if diags.HasErrors() || len(diags) != 0 {
			t.Fatalf("%s: %v", c.when, diags)
		}
		if n := len(policy.Comparisons(f.Rules[0].When)); n != c.cmps {
			t.Errorf("%s: %d comparisons, want %d: %v", c.when, n, c.cmps, f.Rules[0].When)
		}
	}
}
