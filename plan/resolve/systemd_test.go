package resolve

import (
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/configtest"
	"github.com/fencer-dev/fencer/internal/policy"
)

// TestSystemdModeMeaning checks that what fencer test runs under enforce =
// "systemd" is what systemd does: every rule's condition gone, the most
// restrictive verdict the policy can give each syscall.
func TestSystemdModeMeaning(t *testing.T) {
	cfg := configtest.Parse(t, configtest.Systemd)
	a, _ := arch.Lookup("x86_64")
	c, diags := Compile(cfg.Services[0], a)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	nr := func(n string) int32 { x, _ := a.Syscall(n); return int32(x) }
	vm, err := bpf.NewVM(c.Program, a.Order)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		call string
		arg0 uint64
		want policy.Action
	}{
		{"write", 2, policy.ActKillProcess}, // the condition held: the policy allows it, systemd cannot
		{"write", 1, policy.ActKillProcess},
		{"read", 3, policy.Action{Kind: policy.Errno, Data: 9}},
		{"read", 0, policy.Action{Kind: policy.Errno, Data: 9}},
		{"ptrace", 0, policy.ActKillProcess},
		{"getpid", 0, policy.Action{Kind: policy.Errno, Data: 13}},
		{"execve", 0, policy.ActAllow},
		{"uname", 0, policy.Action{Kind: policy.Log}},
		{"gettid", 0, policy.ActKillProcess},
	} {
		d := bpf.MakeData(nr(tc.call), a.Audit, 0, [6]uint64{tc.arg0}, a.Order)
		if got := policy.ActionFromRet(vm.Run(d[:], bpf.Options{}).Ret); got != tc.want {
			t.Errorf("%s(%d): program gives %v, want %v", tc.call, tc.arg0, got, tc.want)
		}
		if got := c.Filter.Decide(policy.Data{Nr: nr(tc.call), Arch: a.Audit, Args: [6]uint64{tc.arg0}}); got != tc.want {
			t.Errorf("%s(%d): meaning gives %v, want %v", tc.call, tc.arg0, got, tc.want)
		}
	}
	// Each condition systemd cannot enforce is a warning on the
	// condition itself.
	var warned []string
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning && d.Summary == `Condition not enforced with enforce = "systemd"` {
			warned = append(warned, d.Subject.String())
		}
	}
	sort.Strings(warned)
	if len(warned) != 2 || !strings.HasPrefix(warned[0], "main.fencer.hcl:19,") || !strings.HasPrefix(warned[1], "main.fencer.hcl:23,") {
		t.Errorf("condition warnings at %q, want lines 19 and 23 (the two when =)", warned)
	}
}

// TestSystemdModeRefuses checks what systemd cannot express at all: a trap
// or kill_thread, a log, trap or errno(0) default, an execve the service
// could not be started with.
func TestSystemdModeRefuses(t *testing.T) {
	a, _ := arch.Lookup("x86_64")
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"trap rule", "action   = errno(EACCES)", "action   = trap", "Action systemd cannot enforce"},
		{"kill_thread rule", "action   = errno(EACCES)", "action   = kill_thread", "Action systemd cannot enforce"},
		{"log default", "default_action = kill_process", "default_action = log", "Default action systemd cannot enforce"},
		// SystemCallErrorNumber=0 is "Invalid error number, ignoring" in
		// systemd 252: the default would kill, and apply's verify fails.
		{"errno(0) default", "default_action = kill_process", "default_action = errno(0)", "Default action systemd cannot enforce"},
		{"no execve", `["execve", "exit_group", "brk", "read"]`, `["exit_group", "brk", "read"]`, `execve must be allowed with enforce = "systemd"`},
		{"conditional execve", `["execve", "exit_group", "brk", "read"]`, `["exit_group", "brk", "read"]
  }
  rule "x" {
    syscalls = ["execve"]
    when = arg0 == 1`, `execve must be allowed with enforce = "systemd"`},
	} {
		src := strings.Replace(configtest.Systemd, tc.from, tc.to, 1)
		if src == configtest.Systemd {
			t.Fatalf("%s: %q not in the configuration", tc.name, tc.from)
		}
		_, diags := Compile(configtest.Parse(t, src).Services[0], a)
		found := false
		for _, d := range diags {
			found = found || d.Severity == hcl.DiagError && d.Summary == tc.want
		}
		if !found {
			t.Errorf("%s: no error %q in %v", tc.name, tc.want, diags)
		}
	}
}
