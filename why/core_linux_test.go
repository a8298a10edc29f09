//go:build linux

package why

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/auditlog"
	"github.com/fencer-dev/fencer/internal/coredump"
	"github.com/fencer-dev/fencer/internal/policy"
)

// The environment of the test binary run as a filtered child: the
// filter file, the program to exec under it and its arguments.
const (
	childEnv   = "FENCER_WHY_CHILD"
	childProg  = "FENCER_WHY_PROG"
	childArg   = "FENCER_WHY_ARG"
	childFiltr = "FENCER_WHY_FILTER"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(filteredChild())
	}
	os.Exit(m.Run())
}

// filteredChild does what fencer's loader does, in a few raw syscalls:
// unlimited RLIMIT_CORE, on one locked thread with every signal blocked
// (nothing may run between the filter and the exec), no_new_privs, the
// filter on this thread only, and execve of the program, which then
// makes the call the filter kills.
func filteredChild() int {
	filter, err := os.ReadFile(os.Getenv(childFiltr))
	if err != nil || len(filter) == 0 {
		return 90
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}); err != nil {
		return 91
	}
	prog := os.Getenv(childProg)
	argv := []string{prog}
	if a := os.Getenv(childArg); a != "" {
		argv = append(argv, a)
	}
	path, _ := unix.BytePtrFromString(prog)
	argvp, _ := syscall.SlicePtrFromStrings(argv)
	envp, _ := syscall.SlicePtrFromStrings(nil)
	fprog := unix.SockFprog{Len: uint16(len(filter) / 8), Filter: (*unix.SockFilter)(unsafe.Pointer(&filter[0]))}
	runtime.LockOSThread()
	all := ^uint64(0)
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, uintptr(unsafe.Pointer(&all)), 0, 8, 0, 0)
	if _, _, e := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0); e != 0 {
		return 92
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		return 93
	}
	unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])))
	runtime.KeepAlive(filter)
	unix.RawSyscall(unix.SYS_EXIT_GROUP, 94, 0, 0)
	return 94
}

// corePolicy is the filter the child runs: its loader's execve, writes
// to stdout, and a kill for writes to high fds; everything else kills.
const corePolicy = `service "victim" {
  unit           = "victim.service"
  default_action = kill_process

  rule "exec" {
    syscalls = ["execve"]
  }

  rule "stdout" {
    syscalls = ["write"]
    when     = arg0 == 1
  }

  rule "high_fds" {
    syscalls = ["write"]
    when     = arg0 >= 900
    action   = kill_process
  }

  rule "exit" {
    syscalls = ["exit_group"]
  }
}
`

// The programs the child execs: each makes one write with six argument
// registers set, then exits with status 3 if it is still alive. The
// x86_64 one writes to fd 999 when it has an argument, else to fd 5.
const (
	prog64 = `.globl _start
_start:
	movq (%rsp), %rax
	movq $5, %rdi
	cmpq $1, %rax
	je 1f
	movq $999, %rdi
1:	movq $1, %rax
	movabsq $0xdead0000, %rsi
	movq $42, %rdx
	movq $0x10, %r10
	movq $0x20, %r8
	movq $0x30, %r9
	syscall
	movq $231, %rax
	movq $3, %rdi
	syscall
`
	prog32 = `.globl _start
_start:
	movl $4, %eax
	movl $999, %ebx
	movl $0xdead, %ecx
	movl $42, %edx
	movl $0x11, %esi
	movl $0x22, %edi
	movl $0x33, %ebp
	int $0x80
	movl $252, %eax
	movl $3, %ebx
	int $0x80
`
)

// ciNeed skips the test when ok is false, or fails it under CI=true.
func ciNeed(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("cannot run (CI=true, so this fails instead of skipping): %s", msg)
	}
	t.Skipf("cannot run: %s", msg)
}

// build assembles a program with the C compiler.
func build(t *testing.T, dir, name, src string, flags ...string) string {
	t.Helper()
	s := filepath.Join(dir, name+".S")
	if err := os.WriteFile(s, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command("cc", append(append([]string{"-nostdlib", "-static", "-o", out}, flags...), s)...)
	msg, err := cmd.CombinedOutput()
	ciNeed(t, err == nil, "cc %s: %v\n%s", strings.Join(flags, " "), err, msg)
	return out
}

// killed runs prog (with arg, if any) under the policy's filter in a
// child whose working directory is dir, and returns its PID; the child
// must die by SIGSYS and dump core.
func killed(t *testing.T, filter, dir, prog, arg string) int {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), childEnv+"=1", childFiltr+"="+filter, childProg+"="+prog, childArg+"="+arg)
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the child was not killed: %v", err)
	}
	ws := exit.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
		t.Fatalf("the child ended with %v, want SIGSYS", ws)
	}
	ciNeed(t, ws.CoreDump(), "the kernel dumped no core of the child (core_pattern %q)", corePattern())
	return cmd.Process.Pid
}

func corePattern() string {
	b, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	return strings.TrimSpace(string(b))
}

// TestRealCore makes the kernel kill a process with a filter fencer
// compiled and dump its core, reads the registers back, and has Run find
// the core and explain the call with its arguments: an x86_64 write that
// a rule kills, one the default kills, and an i386 write (int $0x80)
// that the x86_64 filter's architecture check kills.
//
// The core must land where core_pattern says. On this project's machines
// it is "core" in the process's working directory; a pattern that pipes
// cores to systemd-coredump is read back with coredumpctl; any other pipe
// (apport, say) keeps the cores from the test, which then skips (fails
// under CI=true).
func TestRealCore(t *testing.T) {
	ciNeed(t, runtime.GOOS == "linux" && runtime.GOARCH == "amd64", "the test programs are x86 assembly; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	pattern := corePattern()
	coredumpctl := ""
	if strings.HasPrefix(pattern, "|") {
		path, err := exec.LookPath("coredumpctl")
		ciNeed(t, strings.Contains(pattern, "systemd-coredump") && err == nil,
			"core_pattern pipes cores to %q, where this test cannot read them back", pattern)
		coredumpctl = path
	}
	dir := t.TempDir()
	p64 := build(t, dir, "victim64", prog64)
	p32 := build(t, dir, "victim32", prog32, "-m32")

	a := arch.X86_64
	pol, _ := loadPolicy(t, corePolicy, a)
	filter := filepath.Join(dir, "victim.bpf")
	if err := os.WriteFile(filter, pol.Compiled.Program.Encode(a.Order), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, prog, arg string
		pid             int
		auditArch       uint32
		nr              int64
		args            [6]uint64
		decided         Decided
		text            string
		given           bool // given with Options.Cores, not found
	}{
		{name: "rule", prog: p64, arg: "x", auditArch: a.Audit, nr: 1, args: [6]uint64{999, 0xdead0000, 42, 0x10, 0x20, 0x30},
			decided: ByRule, text: `decided by rule "high_fds" (`},
		{name: "default", prog: p64, auditArch: a.Audit, nr: 1, args: [6]uint64{5, 0xdead0000, 42, 0x10, 0x20, 0x30},
			decided: ByDefault, text: "gives allow when arg0 == 1: false for arg0 = 5.", given: true},
		{name: "i386", prog: p32, auditArch: arch.AuditI386, nr: 4, args: [6]uint64{999, 0xdead, 42, 0x11, 0x22, 0x33},
			decided: ByForeignArch, text: "the filter for x86_64 kills every call of another architecture (here i386)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			work := t.TempDir()
			before := time.Now()
			pid := killed(t, filter, work, c.prog, c.arg)

			m := Local("system", "", nil)
			m.Coredumpctl = coredumpctl
			m.Journalctl, m.AuditLog, m.Cgroup = "", "", ""
			m.Systemctl = func(context.Context, ...string) ([]byte, error) {
				return []byte(fmt.Sprintf("LoadState=loaded\nExecMainPID=%d\nExecMainCode=3\nExecMainStatus=31\nWorkingDirectory=%s\nExecStart={ path=%s ; argv[]=%s ; }\n",
					pid, work, c.prog, c.prog)), nil
			}
			// The kernel's own record, when its rate limit let it through
			// to the kernel log; else one made from what the kernel
			// logs, for Run to find the core from.
			rec := kernelRecord(t, m, pid, before)
			if rec == nil {
				t.Logf("the kernel log has no record of pid %d (its rate limit suppressed it): using one made from the core", pid)
				m.Kmsg = filepath.Join(t.TempDir(), "kmsg")
				code := fmt.Sprintf("%#x", policy.RetKillProcess)
				line := fmt.Sprintf("5,1,1,-;audit: type=1326 audit(%d.%03d:7): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=%d comm=%q exe=%q sig=31 arch=%x syscall=%d compat=%d ip=0x401000 code=%s\n",
					time.Now().Unix(), time.Now().Nanosecond()/1e6, pid, filepath.Base(c.prog), c.prog, c.auditArch, c.nr, boolInt(c.auditArch != a.Audit), code)
				if err := os.WriteFile(m.Kmsg, []byte(line), 0o644); err != nil {
					t.Fatal(err)
				}
			} else if rec.Syscall != c.nr || rec.Arch != c.auditArch || rec.Sig != 31 || rec.Code != policy.RetKillProcess || rec.Exe != c.prog {
				t.Errorf("the kernel's record: %+v", rec)
			}

			var given []string
			if c.given {
				given = findCores(t, work, pid, coredumpctl)
			}
			r := Run(context.Background(), m, pol, Options{Unit: "victim.service", Since: before.Add(-time.Second), Cores: given})
			var ev *Event
			for _, e := range r.Events {
				if e.PID == pid {
					ev = e
				}
			}
			if ev == nil {
				t.Fatalf("no event of pid %d: %s", pid, dump(r))
			}
			if ev.core == nil {
				t.Fatalf("no core found for pid %d (core_pattern %q, working directory %s): %s", pid, pattern, work, dump(ev))
			}
			core := ev.core
			if core.PID != pid || core.Comm != filepath.Base(c.prog) || !core.Siginfo.Seccomp() ||
				int64(core.Siginfo.Syscall) != c.nr || core.Siginfo.Arch != c.auditArch ||
				core.Regs.Args != c.args || !core.Regs.Known || core.Regs.Nr != c.nr {
				t.Errorf("core: pid %d comm %q siginfo %+v regs %+v; want pid %d, syscall %d, args %#x",
					core.PID, core.Comm, core.Siginfo, core.Regs, pid, c.nr, c.args)
			}
			if rec != nil && core.Siginfo.CallAddr != rec.IP {
				t.Errorf("si_call_addr %#x, the record's ip %#x", core.Siginfo.CallAddr, rec.IP)
			}
			var want []string
			for _, v := range c.args {
				want = append(want, fmt.Sprintf("%#x", v))
			}
			if strings.Join(ev.Args, ",") != strings.Join(want, ",") || DecidedBy(ev) != c.decided ||
				!strings.Contains(strings.Join(ev.Explanation, "\n"), c.text) {
				t.Errorf("event: %s\nwant args %v, decided by %s, %q", dump(ev), want, c.decided, c.text)
			}
		})
	}
}

// DecidedBy reads an event's decision.
func DecidedBy(ev *Event) Decided { return Decided(ev.DecidedBy) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// kernelRecord finds the kernel log's record of pid since before, nil
// when there is none.
func kernelRecord(t *testing.T, m *Machine, pid int, before time.Time) *auditlog.Record {
	t.Helper()
	res, err := m.readKmsg()
	if err != nil {
		t.Logf("reading %s: %v", m.Kmsg, err)
		return nil
	}
	for _, rec := range res.Records {
		if rec.PID == pid && !rec.Time.Before(before.Add(-time.Second)) {
			return rec
		}
	}
	return nil
}

// findCores finds the core of pid as a user would: where core_pattern
// put it, or through coredumpctl.
func findCores(t *testing.T, work string, pid int, coredumpctl string) []string {
	t.Helper()
	if coredumpctl != "" {
		out := filepath.Join(t.TempDir(), "core")
		if msg, err := exec.Command(coredumpctl, "dump", "-o", out, fmt.Sprint(pid)).CombinedOutput(); err != nil {
			t.Fatalf("coredumpctl dump %d: %v\n%s", pid, err, msg)
		}
		return []string{out}
	}
	b, _ := os.ReadFile("/proc/sys/kernel/core_uses_pid")
	names, _ := filepath.Glob(CoreGlob(corePattern(), strings.TrimSpace(string(b)) == "1", work, CoreName{PID: pid}))
	if len(names) == 0 {
		t.Fatalf("no core of pid %d in %s (core_pattern %q)", pid, work, corePattern())
	}
	for _, n := range names {
		if c, err := coredump.Open(n); err == nil && c.PID == pid {
			return []string{n}
		}
	}
	t.Fatalf("none of %v is pid %d's core", names, pid)
	return nil
}
