package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/usermanager"
)

// callsys builds e2e/testdata/callsys.c (once): `callsys NR ARGS...` makes
// one syscall and exits with its errno, or dies by SIGSYS.
var callsys struct {
	once sync.Once
	path string
	err  error
}

func callsysBinary(t *testing.T) string {
	t.Helper()
	binaries(t) // the build directory
	callsys.once.Do(func() {
		callsys.path = filepath.Join(build.dir, "callsys")
		out, err := exec.Command("gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", callsys.path,
			filepath.Join(repo(t), "e2e", "testdata", "callsys.c")).CombinedOutput()
		if err != nil {
			callsys.err = fmt.Errorf("gcc callsys.c: %v\n%s", err, out)
		}
	})
	need(t, callsys.err == nil, "%v", callsys.err)
	return callsys.path
}

// systemdModeConfig is a configuration with one oneshot service per probed
// call, each running callsys under the same policy with enforce =
// "systemd".
func systemdModeConfig(probe string, calls map[string]string) string {
	var b strings.Builder
	b.WriteString(`host "local" {
  scope = "user"
  arch  = "x86_64"
}

syscall_set "startup" {
  # glibc's static start-up and exit, measured with strace
  syscalls = ["execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
              "prlimit64", "readlink", "getrandom", "mprotect", "exit_group"]
}
`)
	for name, args := range calls {
		fmt.Fprintf(&b, `
service %q {
  unit           = "fencer-e2e-%s.service"
  unit_file      = "[Service]\nType=oneshot\nExecStart=%s %s\n"
  enforce        = "systemd"
  default_action = kill_process

  rule "startup" {
    syscalls = [syscall_set.startup]
  }
  rule "no_debugging" {
    syscalls = ["ptrace", "unshare"]
    action   = kill_process
  }
  rule "pid" {
    syscalls = ["getpid"]
    action   = errno(EACCES)
  }
  rule "stderr_only" {
    syscalls = ["write"]
    when     = arg0 == 2
  }
}
`, name, name, probe, args)
	}
	return b.String()
}

// TestSystemdModeEnforces applies a policy with enforce = "systemd" under a
// real user manager and makes the calls it denies: ptrace(PTRACE_TRACEME)
// and unshare(CLONE_NEWNS), which a kill_process rule names, die by
// SIGSYS (on the main both returned 0: the rule put their names
// in SystemCallFilter='s allow-list); getpid, in systemd's implicit
// @default group, fails with the rule's EACCES; write, which the policy
// allows only to fd 2, is killed whatever the fd; and verify says in sync.
func TestSystemdModeEnforces(t *testing.T) {
	um := usermanager.Start(t)
	fencer, _ := binaries(t)
	probe := callsysBinary(t)
	// callsys's start-up set is x86_64's (glibc's arch_prctl, readlink).
	need(t, hostArch() == "x86_64", "the probe's policy is written for x86_64, not %s", hostArch())
	a, _ := arch.Lookup("x86_64")
	nr := func(name string) int {
		n, ok := a.Syscall(name)
		if !ok {
			t.Fatalf("no %s on %s", name, a.Name)
		}
		return n
	}
	calls := map[string]string{
		"ptrace":   fmt.Sprintf("%d 0", nr("ptrace")),           // PTRACE_TRACEME
		"unshare":  fmt.Sprintf("%d 0x20000", nr("unshare")),    // CLONE_NEWNS
		"getpid":   fmt.Sprintf("%d", nr("getpid")),             // @default
		"write2":   fmt.Sprintf("%d 2 0 0", nr("write")),        // allowed only under a condition
		"uname":    fmt.Sprintf("%d 0", nr("uname")),            // not named: the default
		"gettid":   fmt.Sprintf("%d", nr("gettid")),             // @default, not allowed
		"exit":     fmt.Sprintf("%d 0", nr("exit_group")),       // allowed
		"ptrace2":  fmt.Sprintf("%d 16 1 0 0", nr("ptrace")),    // PTRACE_ATTACH to init
		"unshare2": fmt.Sprintf("%d 0x10000000", nr("unshare")), // CLONE_NEWUSER
	}
	cfg := t.TempDir()
	writeFile(t, filepath.Join(cfg, "main.fencer.hcl"), systemdModeConfig(probe, calls))
	fc := func(args ...string) result {
		cmd := exec.Command(fencer, args...)
		cmd.Dir, cmd.Env = cfg, um.Env
		return run(t, cmd)
	}
	if r := fc("validate"); r.code != 0 || !strings.Contains(r.stderr, `Condition not enforced with enforce = "systemd"`) {
		t.Fatalf("validate:\n%s", r)
	}
	if r := fc("apply", "-auto-approve"); r.code != 0 {
		t.Fatalf("apply:\n%s\n--- user manager\n%s", r, um.Log())
	}
	for name, want := range map[string]string{
		"ptrace": "killed/31", "unshare": "killed/31", "ptrace2": "killed/31", "unshare2": "killed/31",
		"getpid": "exited/13", "write2": "killed/31", "uname": "killed/31", "gettid": "killed/31",
		"exit": "exited/0",
	} {
		unit := "fencer-e2e-" + name + ".service"
		out, err := um.Systemctl("start", unit) // a oneshot that fails makes start fail
		code, _ := um.Show(unit, "ExecMainCode")
		status, _ := um.Show(unit, "ExecMainStatus")
		got := map[string]string{"1": "exited", "2": "killed", "3": "dumped"}[code] + "/" + status
		if err == nil {
			// A oneshot that succeeded is unloaded once inactive.
			got = "exited/0"
		}
		if got != want {
			t.Errorf("%s (%s): %s, want %s (systemctl start: %v %s)", unit, calls[name], got, want, err, out)
		}
	}
	r := fc("verify")
	if r.code != 0 {
		t.Errorf("verify:\n%s", r)
	}
	if r := fc("plan", "-detailed-exitcode"); r.code != 0 {
		t.Errorf("a second plan:\n%s", r)
	}
}

// TestHostSystemdNames applies, into a -root tree (verified with this
// machine's systemd-analyze, as on a host), a policy that names syscalls
// systemd 252 (libseccomp 2.5.4) does not know, and plans a unit whose
// name has a ':'. On the main both passed plan and then failed in
// apply's systemd-analyze verify; now the first applies (the unknown
// names stay out of SystemCallFilter=, or systemd's name filter goes where
// it would change the policy's verdict) and the second is refused by
// plan, naming the fix.
func TestHostSystemdNames(t *testing.T) {
	fencer, _ := binaries(t)
	_, err := exec.LookPath("systemd-analyze")
	need(t, err == nil, "no systemd-analyze")
	out, _ := exec.Command("systemctl", "--version").Output()
	need(t, strings.HasPrefix(string(out), "systemd 252 "), "this test knows systemd 252's names; have %q", strings.SplitN(string(out), "\n", 2)[0])

	for _, tc := range []struct {
		name, rules, want string
	}{
		{"denied", `rule "new" {
    syscalls = ["listns", "file_getattr"]
    action   = errno(EPERM)
  }`, "syscall names: the BPF filter only: the host's systemd does not know listns, which the policy gives errno(1)"},
		{"default", `rule "new" {
    syscalls = ["listns"]
    action   = kill_process
  }`, "note: listns is left out of SystemCallFilter="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, root := t.TempDir(), t.TempDir()
			writeFile(t, filepath.Join(cfg, "main.fencer.hcl"), `host "local" {
  arch        = "x86_64"
  fencer_path = "/usr/local/bin/fencer"
}
service "m" {
  unit      = "m.service"
  unit_file = "[Service]\nExecStart=/usr/bin/m\n"
  rule "start" {
    syscalls = ["execve", "exit_group"]
  }
  `+tc.rules+`
}
`)
			cmd := exec.Command(fencer, "apply", "-auto-approve", "-root="+root)
			cmd.Dir = cfg
			r := run(t, cmd)
			if r.code != 0 || !strings.Contains(r.stdout, tc.want) {
				t.Fatalf("apply, want %q:\n%s", tc.want, r)
			}
			drop := readFile(t, filepath.Join(root, "etc/systemd/system/m.service.d/zz-fencer.conf"))
			if strings.Contains(drop, "listns") || strings.Contains(drop, "file_getattr") {
				t.Errorf("the drop-in names a syscall systemd does not know:\n%s", drop)
			}
		})
	}

	cfg := t.TempDir()
	writeFile(t, filepath.Join(cfg, "main.fencer.hcl"), `host "local" {
  arch = "x86_64"
}
service "m" {
  unit      = "m:x.service"
  unit_file = "[Service]\nExecStart=/usr/bin/m\n"
  rule "start" {
    syscalls = ["execve", "exit_group"]
  }
}
`)
	cmd := exec.Command(fencer, "plan", "-root="+t.TempDir())
	cmd.Dir = cfg
	r := run(t, cmd)
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "has a ':' in its name") {
		t.Errorf("plan of m:x.service:\n%s", r)
	}
}

// TestErrnoZeroDefault applies, into a -root tree verified with this
// machine's systemd-analyze as apply does on a host, a policy whose
// default_action is errno(0). On the main before it, plan wrote
// SystemCallErrorNumber=0, which systemd 252 refuses ("Invalid error
// number, ignoring: 0": it would kill instead), and apply failed in
// systemd-analyze verify after plan had shown nothing wrong. Now the
// drop-in leaves systemd's name filter out (the BPF filter decides) and
// apply passes; with enforce = "systemd" validate refuses it.
func TestErrnoZeroDefault(t *testing.T) {
	fencer, _ := binaries(t)
	_, err := exec.LookPath("systemd-analyze")
	need(t, err == nil, "no systemd-analyze")
	for _, enforce := range []string{"exec", "systemd"} {
		cfg, root := t.TempDir(), t.TempDir()
		writeFile(t, filepath.Join(cfg, "main.fencer.hcl"), `host "local" {
  arch        = "x86_64"
  fencer_path = "/usr/local/bin/fencer"
}
service "m" {
  unit           = "m.service"
  unit_file      = "[Service]\nExecStart=/usr/bin/m\n"
  enforce        = "`+enforce+`"
  default_action = errno(0)
  rule "start" {
    syscalls = ["execve", "exit_group"]
  }
}
`)
		cmd := exec.Command(fencer, "apply", "-auto-approve", "-root="+root)
		cmd.Dir = cfg
		r := run(t, cmd)
		if enforce == "systemd" {
			if r.code != 1 || !strings.Contains(r.stderr, "SystemCallErrorNumber= takes an errno from 1 up") {
				t.Errorf("enforce = %q:\n%s", enforce, r)
			}
			continue
		}
		if r.code != 0 {
			t.Fatalf("enforce = %q:\n%s", enforce, r)
		}
		drop := readFile(t, filepath.Join(root, "etc/systemd/system/m.service.d/zz-fencer.conf"))
		if strings.Contains(drop, "SystemCallErrorNumber=0") {
			t.Errorf("the drop-in sets SystemCallErrorNumber=0:\n%s", drop)
		}
	}
}

// TestHighHalfUnderSystemd applies, under a real user manager with the
// loader (enforce = "exec"), the two rules on arguments whose
// high half the kernel ignores, and makes the calls that dodged them
// before the width audit: mmap with prot 0x100000007 (maps rwx) under a
// rule that kills prot == PROT_READ|PROT_WRITE|PROT_EXEC, and
// keyctl(KEYCTL_GET_KEYRING_ID, 0x00000000fffffffc) under a rule that
// allows it only when arg1 != -4. Both die by SIGSYS now; the same calls
// with other values still run.
func TestHighHalfUnderSystemd(t *testing.T) {
	need(t, hostArch() == "x86_64", "the probe's policy is written for x86_64, not %s", hostArch())
	um := usermanager.Start(t)
	fencer, _ := binaries(t)
	probe := callsysBinary(t)
	a, _ := arch.Lookup("x86_64")
	nr := func(name string) int { n, _ := a.Syscall(name); return n }
	calls := map[string]string{
		"rwx-high": fmt.Sprintf("%d 0 4096 0x100000007 0x22 -1 0", nr("mmap")), // MAP_PRIVATE|MAP_ANONYMOUS
		"rw":       fmt.Sprintf("%d 0 4096 0x3 0x22 -1 0", nr("mmap")),
		"key-high": fmt.Sprintf("%d 0 0x00000000fffffffc 0", nr("keyctl")), // KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING
		"key-ok":   fmt.Sprintf("%d 0 0x00000000fffffffd 0", nr("keyctl")), // KEY_SPEC_USER_SESSION_KEYRING
	}
	var b strings.Builder
	fmt.Fprintf(&b, `host "local" {
  scope       = "user"
  arch        = "x86_64"
  fencer_path = %q
}
`, fencer)
	for name, args := range calls {
		fmt.Fprintf(&b, `
service %q {
  unit      = "fencer-e2e-%s.service"
  unit_file = "[Service]\nType=oneshot\nExecStart=%s %s\n"

  rule "startup" {
    syscalls = ["brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
                "prlimit64", "readlink", "getrandom", "mprotect", "exit_group"]
  }
  rule "map" {
    syscalls = ["mmap"]
  }
  rule "no_rwx" {
    syscalls = ["mmap"]
    when     = arg2 == bitor(PROT_READ, PROT_WRITE, PROT_EXEC)
    action   = kill_process
  }
  rule "keys" {
    syscalls = ["keyctl"]
    when     = arg0 == KEYCTL_GET_KEYRING_ID && arg1 != -4
  }
}
`, name, name, probe, args)
	}
	cfg := t.TempDir()
	writeFile(t, filepath.Join(cfg, "main.fencer.hcl"), b.String())
	cmd := exec.Command(fencer, "apply", "-auto-approve")
	cmd.Dir, cmd.Env = cfg, um.Env
	if r := run(t, cmd); r.code != 0 {
		t.Fatalf("apply:\n%s\n--- user manager\n%s", r, um.Log())
	}
	for name, want := range map[string]string{"rwx-high": "killed/31", "rw": "exited/0", "key-high": "killed/31", "key-ok": "exited/0"} {
		unit := "fencer-e2e-" + name + ".service"
		out, err := um.Systemctl("start", unit)
		code, _ := um.Show(unit, "ExecMainCode")
		status, _ := um.Show(unit, "ExecMainStatus")
		got := map[string]string{"1": "exited", "2": "killed", "3": "dumped"}[code] + "/" + status
		if err == nil {
			got = "exited/0"
		}
		if got != want {
			t.Errorf("%s (callsys %s): %s, want %s (systemctl start: %v %s)\n%s", unit, calls[name], got, want, err, out, um.Log())
		}
	}
}
