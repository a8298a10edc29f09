package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// highbitsPolicy denies what issue 7 showed getting through with junk in an
// argument's high half: an rwx mapping (mmap's prot is read on 32 bits) and
// the user keyring (keyctl's key serial is read on 32 bits). Everything a
// statically linked C program needs to start and print is allowed; the rest
// fails with EPERM.
const highbitsPolicy = `service "highbits" {
  unit           = "highbits.service"
  default_action = errno(EPERM)

  rule "start_and_print" {
    syscalls = ["execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
                "prlimit64", "readlink", "getrandom", "mprotect", "newfstatat", "write", "exit_group", "mmap"]
    arch     = ["ARCH"]
  }

  rule "no_rwx" {
    syscalls = ["mmap"]
    when     = arg2 == bitor(PROT_READ, PROT_WRITE, PROT_EXEC)
    action   = kill_process
    arch     = ["ARCH"]
  }

  rule "not_the_user_keyring" {
    syscalls = ["keyctl"]
    when     = arg1 != -4
    arch     = ["ARCH"]
  }
}
`

// TestHighBitsEndToEnd: the real fencer binary compiles the policy above,
// exports it and runs a program under it with fencer exec, the loader its
// systemd drop-ins run. mmap(0, 4096, 0x100000007, MAP_PRIVATE|MAP_ANONYMOUS,
// -1, 0) kills the program, and keyctl(KEYCTL_GET_KEYRING_ID,
// 0x00000000fffffffc) fails with EPERM; before the width audit both went
// through (the rwx mapping was made, the user keyring returned).
func TestHighBitsEndToEnd(t *testing.T) {
	host := hostArch()
	need(t, host == "x86_64" || host == "aarch64" || host == "riscv64",
		"the kernel reads mmap's prot on 32 bits only on x86_64, aarch64 and riscv64, not on %s", host)
	fencer, _ := binaries(t)
	dir := t.TempDir()
	helper := filepath.Join(dir, "highbits")
	gcc := exec.Command("gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", helper,
		filepath.Join(repo(t), "e2e", "testdata", "highbits.c"))
	out, err := gcc.CombinedOutput()
	need(t, err == nil, "gcc -static e2e/testdata/highbits.c: %v\n%s", err, out)

	cfg := filepath.Join(dir, "cfg")
	writeFile(t, filepath.Join(cfg, "main.fencer.hcl"), strings.ReplaceAll(highbitsPolicy, "ARCH", host))
	filter := filepath.Join(dir, "highbits.bpf")
	r := run(t, exec.Command(fencer, "-chdir="+cfg, "export", "bpf", "-arch="+host, "-out="+filter, "service.highbits"))
	if r.code != 0 {
		t.Fatalf("export: %s", r)
	}
	// The policy's keyctl condition does not fix the option: validate
	// warns, at the comparison, and names the safe forms.
	r = run(t, exec.Command(fencer, "-chdir="+cfg, "validate"))
	if r.code != 0 || !strings.Contains(r.stderr, "Argument width unknown") ||
		!strings.Contains(r.stderr, "main.fencer.hcl line 20, column 16") || !strings.Contains(r.stderr, "masked(arg1, 4294967295)") {
		t.Errorf("validate: want a width warning at line 20, column 16\n%s", r)
	}
	b, err := os.ReadFile(filter)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha(b)

	for _, c := range []struct {
		call   string
		killed bool
		out    string
	}{
		{"mmap-rwx", true, ""},
		{"mmap-rw", false, "ok"},
		{"keyctl-user", false, "EPERM"},
		{"keyctl-session", false, "ok"},
	} {
		cmd := exec.Command(fencer, "exec", "-filter="+filter, "-sha256="+sum, "--", helper, c.call)
		// A session keyring of its own, so that -3 names one.
		cmd.Dir = dir
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		signaled := errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled()
		got := fmt.Sprintf("stdout %q, stderr %q, %v", stdout.String(), stderr.String(), err)
		switch {
		case c.killed && !(signaled && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGSYS):
			t.Errorf("%s: want the program killed by SIGSYS; %s", c.call, got)
		case !c.killed && (signaled || strings.TrimSpace(stdout.String()) != c.out):
			t.Errorf("%s: want %q; %s", c.call, c.out, got)
		default:
			t.Logf("%s: %s", c.call, got)
		}
	}
}
