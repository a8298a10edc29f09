//go:build linux

package loader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/compile"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/internal/usermanager"
	"golang.org/x/sys/unix"
)

// needForLoader skips the test when ok is false, except in CI, where what the test
// needs must be there.
func needForLoader(t *testing.T, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("cannot run: %s", why)
	}
	t.Skipf("cannot run: %s", why)
}

// fencerBuilds are the two kinds of fencer binary: linked with cgo and
// glibc (dynamically, as "go build" makes it on a glibc system as soon as
// a dependency uses cgo; external linking forces it) and static
// (CGO_ENABLED=0).
var fencerBuilds = []struct{ name, cgo, ldflags string }{
	{"cgo", "1", "-linkmode=external"},
	{"static", "0", ""},
}

// buildFencer builds the fencer command each way into dir and returns the
// binaries by build name.
func buildFencer(t *testing.T, dir string) map[string]string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	needForLoader(t, err == nil, "no go command on PATH to build fencer with")
	bins := map[string]string{}
	for _, b := range fencerBuilds {
		out := filepath.Join(dir, "fencer-"+b.name)
		cmd := exec.Command(goCmd, "build", "-ldflags="+b.ldflags, "-o", out, "github.com/fencer-dev/fencer/cmd/fencer")
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+b.cgo)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build (%s): %v\n%s", b.name, err, msg)
		}
		bins[b.name] = out
	}
	return bins
}

// procResult is one finished process.
type procResult struct {
	stdout, stderr string
	status         syscall.WaitStatus
}

func (r procResult) String() string {
	return fmt.Sprintf("status %v\nstdout: %s\nstderr: %s", r.status, r.stdout, r.stderr)
}

// sigsys reports whether the process died of SIGSYS: a seccomp kill.
func (r procResult) sigsys() bool { return r.status.Signaled() && r.status.Signal() == unix.SIGSYS }

func runCmd(t *testing.T, cmd *exec.Cmd) procResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s: %v", cmd.Path, err)
	}
	return procResult{stdout: stdout.String(), stderr: stderr.String(), status: cmd.ProcessState.Sys().(syscall.WaitStatus)}
}

// writeFilter writes a filter file into dir and returns its path and hash.
func writeFilter(t *testing.T, dir, name string, data []byte) (string, string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, hexSHA256(data)
}

// tinyProgram is a static x86_64 executable that writes "ok\n" to stdout
// and exits with status 0: execve, write and exit_group are its only
// syscalls, so that a policy can name exactly what it does.
func tinyProgram() []byte {
	code := []byte{
		0xb8, 1, 0, 0, 0, // mov eax, 1 (write)
		0xbf, 1, 0, 0, 0, // mov edi, 1
		0x48, 0x8d, 0x35, 16, 0, 0, 0, // lea rsi, [rip+16] (the text)
		0xba, 3, 0, 0, 0, // mov edx, 3
		0x0f, 0x05, // syscall
		0xb8, 231, 0, 0, 0, // mov eax, 231 (exit_group)
		0x31, 0xff, // xor edi, edi
		0x0f, 0x05, // syscall
		'o', 'k', '\n',
	}
	const base, headers = 0x400000, 64 + 56
	size := uint64(headers + len(code))
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	w(uint16(2))              // ET_EXEC
	w(uint16(62))             // EM_X86_64
	w(uint32(1))              // EV_CURRENT
	w(uint64(base + headers)) // entry
	w(uint64(64))             // program headers
	w(uint64(0))              // section headers
	w(uint32(0))              // flags
	w(uint16(64))             // header size
	w(uint16(56))             // program header size
	w(uint16(1))              // one program header
	w(uint16(0))
	w(uint16(0))
	w(uint16(0))
	w(uint32(1))      // PT_LOAD
	w(uint32(5))      // PF_R|PF_X
	w(uint64(0))      // offset
	w(uint64(base))   // vaddr
	w(uint64(base))   // paddr
	w(size)           // filesz
	w(size)           // memsz
	w(uint64(0x1000)) // align
	b.Write(code)
	return b.Bytes()
}

// tinyPolicy is everything tinyProgram does, and nothing else.
var tinyPolicy = []string{"execve", "exit_group", "write"}

// systemdDefault is systemd 252's @default set, which systemd adds to every
// SystemCallFilter= allow-list (load-fragment.c, config_parse_syscall_filter;
// "systemd-analyze syscall-filter @default" lists it).
var systemdDefault = []string{
	"arch_prctl", "brk", "cacheflush", "clock_getres", "clock_getres_time64",
	"clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
	"execve", "exit", "exit_group", "futex", "futex_time64", "futex_waitv",
	"get_robust_list", "get_thread_area", "getegid", "getegid32", "geteuid",
	"geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getpgid",
	"getpgrp", "getpid", "getppid", "getrandom", "getresgid", "getresgid32",
	"getresuid", "getresuid32", "getrlimit", "getsid", "gettid", "gettimeofday",
	"getuid", "getuid32", "membarrier", "mmap", "mmap2", "mprotect", "munmap",
	"nanosleep", "pause", "prlimit64", "restart_syscall", "riscv_flush_icache",
	"riscv_hwprobe", "rseq", "rt_sigreturn", "sched_getaffinity", "sched_yield",
	"set_robust_list", "set_thread_area", "set_tid_address", "set_tls",
	"sigreturn", "time", "ugetrlimit", "uretprobe",
}

// TestLoader runs the fencer binary's exec command for real, built with
// and without cgo.
func TestLoader(t *testing.T) {
	host, err := HostArch()
	needForLoader(t, err == nil, fmt.Sprint(err))
	needForLoader(t, host == arch.X86_64, "the loader's syscall list is measured on x86_64 only, this is "+host.Name)
	dir := t.TempDir()
	bins := buildFencer(t, dir)
	tiny := filepath.Join(dir, "tiny")
	if err := os.WriteFile(tiny, tinyProgram(), 0o755); err != nil {
		t.Fatal(err)
	}
	permissive, permissiveSum := writeFilter(t, dir, "permissive.bpf",
		compileRules(t, host, policy.ActAllow, map[string]policy.Action{"kexec_load": policy.ActKillProcess}))
	noMkdir, noMkdirSum := writeFilter(t, dir, "nomkdir.bpf",
		compileRules(t, host, policy.ActAllow, map[string]policy.Action{"mkdirat": policy.ActKillProcess, "mkdir": policy.ActKillProcess}))
	tinyRules := map[string]policy.Action{}
	for _, n := range tinyPolicy {
		tinyRules[n] = policy.ActAllow
	}
	tight, tightSum := writeFilter(t, dir, "tight.bpf", compileRules(t, host, policy.ActKillProcess, tinyRules))
	gated, gatedSum := writeFilter(t, dir, "gated.bpf",
		compileRules(t, host, policy.ActAllow, map[string]policy.Action{"execve": policy.ActExecOnce, "kexec_load": policy.ActKillProcess}))
	tinyGated, tinyGatedSum := writeFilter(t, dir, "tinygated.bpf", compileRules(t, host, policy.ActKillProcess, tinyGatedRules()))

	for _, b := range fencerBuilds {
		bin := bins[b.name]
		t.Run(b.name, func(t *testing.T) {
			t.Run("seccomp status", func(t *testing.T) {
				own := seccompFilters(t, "/proc/self/status")
				r := runCmd(t, exec.Command(bin, "exec", "-filter="+permissive, "-sha256="+permissiveSum, "--", "/bin/sh", "-c", "cat /proc/self/status"))
				if r.status != 0 {
					t.Fatal(r)
				}
				if !regexp.MustCompile(`(?m)^Seccomp:\s+2$`).MatchString(r.stdout) || !regexp.MustCompile(`(?m)^NoNewPrivs:\s+1$`).MatchString(r.stdout) {
					t.Fatalf("not in filter mode with no_new_privs:\n%s", r.stdout)
				}
				if got := seccompFiltersIn(t, r.stdout); got != own+1 {
					t.Fatalf("Seccomp_filters: %d, want %d (this test's %d and the loader's)", got, own+1, own)
				}
			})
			t.Run("kills mkdirat", func(t *testing.T) {
				target := filepath.Join(t.TempDir(), "made")
				r := runCmd(t, exec.Command(bin, "exec", "-filter="+noMkdir, "-sha256="+noMkdirSum, "--", "mkdir", target))
				if !r.sigsys() {
					t.Fatalf("mkdir did not die of SIGSYS: %v", r)
				}
				if r.stderr != "" {
					t.Fatalf("the loader complained: %v", r)
				}
				if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("the directory was made: %v", err)
				}
			})
			t.Run("refuses", func(t *testing.T) { testRefusals(t, bin, host) })
			t.Run("what the command inherits", func(t *testing.T) { testInherits(t, bin, permissive, permissiveSum) })
			t.Run("argv0", func(t *testing.T) {
				r := runCmd(t, exec.Command(bin, "exec", "-filter="+permissive, "-sha256="+permissiveSum, "-argv0=renamed", "--", "/bin/sh", "-c", `echo "$0"`))
				if r.status != 0 || r.stdout != "renamed\n" {
					t.Fatal(r)
				}
			})
			t.Run("tight policy", func(t *testing.T) {
				r := runCmd(t, exec.Command(bin, "exec", "-filter="+tight, "-sha256="+tightSum, "--", tiny))
				if r.status != 0 || r.stdout != "ok\n" {
					t.Fatal(r)
				}
			})
			t.Run("tight policy, exec once", func(t *testing.T) {
				r := runCmd(t, exec.Command(bin, "exec", "-filter="+tinyGated, "-sha256="+tinyGatedSum, "--", tiny))
				if r.status != 0 || r.stdout != "ok\n" {
					t.Fatal(r)
				}
			})
			t.Run("exec once", func(t *testing.T) { testExecOnce(t, bin, gated, gatedSum, permissive, permissiveSum) })
			t.Run("exec once under another listener", func(t *testing.T) { testOuterListener(t, bin, gated, gatedSum, permissive, permissiveSum) })
			t.Run("exec once, traced", func(t *testing.T) { testTracedLoader(t, bin, gated, gatedSum, permissive, permissiveSum) })
		})
	}
	t.Run("signals", func(t *testing.T) { testSignalStorm(t, bins["cgo"], tight, tightSum, tiny, 1000, false) })
	t.Run("signals, exec once", func(t *testing.T) { testSignalStorm(t, bins["cgo"], tinyGated, tinyGatedSum, tiny, 100, true) })
	t.Run("starts under its list", func(t *testing.T) { testStartsUnderList(t, bins, tight, tightSum, tiny, 20) })
	t.Run("starts under its list, exec once", func(t *testing.T) {
		testStartsUnderList(t, bins, tinyGated, tinyGatedSum, tiny, 5)
	})
}

// tinyGatedRules is tinyPolicy with execve behind the exec-once gate
// instead of allowed.
func tinyGatedRules() map[string]policy.Action {
	rules := map[string]policy.Action{}
	for _, n := range tinyPolicy {
		rules[n] = policy.ActAllow
	}
	rules["execve"] = policy.ActExecOnce
	return rules
}

// testExecOnce starts, through the loader, a program that tries to exec
// /bin/sh after it started (childExecAgain): under a filter with the
// exec-once gate the loader's exec passes and every later one fails with
// ENOSYS, from a forked child, another thread and the main one, and the
// shell never runs; under a filter that allows execve, the shell runs.
func testExecOnce(t *testing.T, bin, gated, gatedSum, permissive, permissiveSum string) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run := func(filter, sum string) (procResult, string) {
		marker := filepath.Join(t.TempDir(), "ran")
		cmd := exec.Command(bin, "exec", "-filter="+filter, "-sha256="+sum, "--", self)
		cmd.Env = append(os.Environ(), childEnv+"=exec-again", "LOADER_EXEC_MARKER="+marker)
		r := runCmd(t, cmd)
		b, _ := os.ReadFile(marker)
		return r, string(b)
	}
	r, ran := run(gated, gatedSum)
	const enosys = "function not implemented"
	want := "child: fork/exec /bin/sh: " + enosys + "\nthread: " + enosys + "\nmain: " + enosys + "\n"
	if r.status != 0 || r.stdout != want || ran != "" {
		t.Errorf("under the gate: %v\nthe shell ran for %q\nwant stdout:\n%s", r, ran, want)
	}
	// The program ran under the filter, in one process: the loader's.
	r, ran = run(permissive, permissiveSum)
	if r.status != 0 || r.stdout != "child: <nil>\n" || ran != "child\nthread\n" {
		t.Errorf("with execve allowed: %v\nthe shell ran for %q, want child and thread", r, ran)
	}
}

// seccompFilters reads Seccomp_filters from a status file.
func seccompFilters(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return seccompFiltersIn(t, string(b))
}

func seccompFiltersIn(t *testing.T, status string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^Seccomp_filters:\s+(\d+)$`).FindStringSubmatch(status)
	if m == nil {
		t.Fatalf("no Seccomp_filters line in:\n%s", status)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// testRefusals checks that every refusal says why, exits non-zero and runs
// nothing: the command would create a marker file.
func testRefusals(t *testing.T, bin string, host *arch.Arch) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	touch := []string{"/bin/sh", "-c", "echo ran > " + marker}
	allowAll := map[string]policy.Action{"kexec_load": policy.ActKillProcess}
	good := compileRules(t, host, policy.ActAllow, allowAll)
	goodPath, goodSum := writeFilter(t, dir, "good.bpf", good)
	other := arch.AArch64
	if host == arch.AArch64 {
		other = arch.X86_64
	}
	foreign, foreignSum := writeFilter(t, dir, "foreign.bpf", compileRules(t, other, policy.ActAllow, allowAll))
	cut, _ := writeFilter(t, dir, "cut.bpf", good[:len(good)-8])
	cutOdd, cutOddSum := writeFilter(t, dir, "cutodd.bpf", good[:len(good)-3])
	cutInsn, cutInsnSum := writeFilter(t, dir, "cutinsn.bpf", good[:len(good)-8])
	noExecve, noExecveSum := writeFilter(t, dir, "noexecve.bpf",
		compileRules(t, host, policy.ActAllow, map[string]policy.Action{"execve": policy.Action{Kind: policy.Errno, Data: 1}}))
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\necho ran > "+marker+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Executable, but in no format the kernel runs: execve itself fails,
	// after the filter is in place.
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte{0, 1, 2, 3}, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"wrong hash", []string{"-filter=" + goodPath, "-sha256=" + hexSHA256(nil)}, 1,
			"fencer exec: filter " + goodPath + ": SHA-256 is " + goodSum + ", want " + hexSHA256(nil) + ": the file is not the planned filter"},
		{"wrong arch", []string{"-filter=" + foreign, "-sha256=" + foreignSum}, 1,
			fmt.Sprintf("fencer exec: filter %s: the filter is for %s (AUDIT_ARCH %#x), but this machine is %s (AUDIT_ARCH %#x)", foreign, other.Name, other.Audit, host.Name, host.Audit)},
		{"truncated", []string{"-filter=" + cut, "-sha256=" + goodSum}, 1, "fencer exec: filter " + cut + ": SHA-256 is "},
		{"truncated mid-instruction, its own hash", []string{"-filter=" + cutOdd, "-sha256=" + cutOddSum}, 1, "is not a whole number of 8-byte instructions"},
		{"truncated at an instruction, its own hash", []string{"-filter=" + cutInsn, "-sha256=" + cutInsnSum}, 1, "the kernel would refuse the program"},
		{"missing filter", []string{"-filter=" + filepath.Join(dir, "none.bpf"), "-sha256=" + goodSum}, 1, "fencer exec: open filter file: open " + filepath.Join(dir, "none.bpf") + ": no such file or directory"},
		{"policy forbids execve", []string{"-filter=" + noExecve, "-sha256=" + noExecveSum}, 1, "the filter answers errno(1) to execve of /bin/sh: the command could never start under it"},
		{"no -filter", []string{"-sha256=" + goodSum}, 1, "fencer exec: missing -filter=FILE"},
		{"no -sha256", []string{"-filter=" + goodPath}, 1, "fencer exec: missing -sha256=HEX"},
		{"unknown flag", []string{"-filter=" + goodPath, "-sha256=" + goodSum, "-bogus"}, 1, "fencer exec: flag provided but not defined: -bogus"},
		{"bad -sigpipe", []string{"-filter=" + goodPath, "-sha256=" + goodSum, "-sigpipe=maybe"}, 1, `fencer exec: -sigpipe is "maybe"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCmd(t, exec.Command(bin, append(append(append([]string{"exec"}, tc.args...), "--"), touch...)...))
			checkRefused(t, r, tc.code, tc.want, marker)
		})
	}
	for _, tc := range []struct {
		name string
		cmd  string
		code int
		want string
	}{
		{"missing command", filepath.Join(dir, "nope"), 127, "fencer exec: command \"" + filepath.Join(dir, "nope") + "\": stat " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"command not in PATH", "fencer-test-no-such-command", 127, `fencer exec: command "fencer-test-no-such-command" not found in PATH`},
		{"not executable", plain, 126, "permission denied"},
		{"execve fails", garbage, 126, "fencer exec: execve " + garbage + " failed after the filter was installed, errno 8\n"},
		{"no command", "", 1, "fencer exec: missing the command to run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"exec", "-filter=" + goodPath, "-sha256=" + goodSum, "--"}
			if tc.cmd != "" {
				args = append(args, tc.cmd)
			}
			checkRefused(t, runCmd(t, exec.Command(bin, args...)), tc.code, tc.want, marker)
		})
	}
}

func checkRefused(t *testing.T, r procResult, code int, want, marker string) {
	t.Helper()
	if r.status.ExitStatus() != code {
		t.Errorf("exit status %d, want %d\n%v", r.status.ExitStatus(), code, r)
	}
	if !strings.HasPrefix(r.stderr, "fencer exec: ") || !strings.Contains(r.stderr, want) {
		t.Errorf("stderr:\n%s\nwant it to start with \"fencer exec: \" and contain %q", r.stderr, want)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the command ran")
	}
}

// testInherits checks that the command starts as the loader was started:
// the soft RLIMIT_NOFILE, the signal mask, the dispositions (SIGPIPE as
// -sigpipe says), open descriptors, the environment.
func testInherits(t *testing.T, bin, filter, filterSum string) {
	dir := t.TempDir()
	fdFile := filepath.Join(dir, "fd7")
	if err := os.WriteFile(fdFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	report := `ulimit -Sn; grep -E '^Sig(Blk|Ign)' /proc/self/status; readlink /proc/self/fd/7; echo "$FENCER_TEST_VAR"`
	for _, tc := range []struct {
		sigpipe string
		sigIgn  string
	}{
		{"", "0000000000001000"}, // SIGPIPE (13) ignored: systemd's IgnoreSIGPIPE=yes
		{"-sigpipe=default", "0000000000000000"},
	} {
		args := []string{"exec", "-filter=" + filter, "-sha256=" + filterSum}
		if tc.sigpipe != "" {
			args = append(args, tc.sigpipe)
		}
		args = append(args, "--", "/bin/sh", "-c", report)
		// The shell lowers the soft limit the Go runtime raises, and opens
		// fd 7 as a socket-activated service would have its fds.
		cmd := exec.Command("/bin/sh", append([]string{"-c", `ulimit -Sn 512 && exec 7<"$0" && exec "$@"`, fdFile, bin}, args...)...)
		cmd.Env = append(os.Environ(), "FENCER_TEST_VAR=kept")
		r := runCmd(t, cmd)
		want := fmt.Sprintf("512\nSigBlk:\t0000000000000000\nSigIgn:\t%s\n%s\nkept\n", tc.sigIgn, fdFile)
		if r.status != 0 || r.stdout != want {
			t.Errorf("%s: got\n%s\nwant\n%s", tc.sigpipe, r, want)
		}
	}
}

// testSignalStorm execs the tiny program under a policy that allows only
// its own three syscalls, runs times, in parallel, while signals rain on
// each loader: SIGURG (the Go runtime's preemption signal), SIGCHLD and
// SIGWINCH, whose default action is to do nothing. A handler that ran
// between the installation of the filter and execve would need
// rt_sigreturn, which the policy kills; no run may die of it.
//
// With stops, each signal is followed by SIGSTOP and SIGCONT: a stop
// interrupts the loader's wait for the exec-once helper's answer, and the
// kernel makes the execve again, a new notification.
func testSignalStorm(t *testing.T, bin, filter, filterSum, tiny string, runs int, stops bool) {
	var (
		next, sent atomic.Int64
		mu         sync.Mutex
		failures   []string
		wg         sync.WaitGroup
	)
	start := time.Now()
	for w := 0; w < max(2, runtime.NumCPU()); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(runs) {
				var stdout, stderr bytes.Buffer
				cmd := exec.Command(bin, "exec", "-filter="+filter, "-sha256="+filterSum, "--", tiny)
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Start(); err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					return
				}
				done := make(chan struct{})
				go func() {
					sigs := []os.Signal{unix.SIGURG, unix.SIGCHLD, unix.SIGWINCH}
					for i := 0; ; i++ {
						select {
						case <-done:
							return
						default:
						}
						// os.Process signals through a pidfd: never another
						// process that reused the pid.
						if cmd.Process.Signal(sigs[i%len(sigs)]) != nil {
							return
						}
						sent.Add(1)
						if stops {
							// A stop not followed by SIGCONT would leave the
							// loader stopped: send both whatever happens.
							err := cmd.Process.Signal(unix.SIGSTOP)
							cmd.Process.Signal(unix.SIGCONT)
							if err != nil {
								return
							}
							sent.Add(2)
						}
					}
				}()
				err := cmd.Wait()
				close(done)
				if err != nil || stdout.String() != "ok\n" {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%v (%v), stdout %q, stderr %q", err, cmd.ProcessState.Sys(), stdout.String(), stderr.String()))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d runs in %v with %d signals sent to the loaders", runs, time.Since(start).Round(time.Millisecond), sent.Load())
	if len(failures) > 0 {
		t.Fatalf("%d of %d runs failed; the first: %s", len(failures), runs, failures[0])
	}
}

// sandboxEnv names the syscalls TestSandboxHelper allows.
const sandboxEnv = "FENCER_TEST_SANDBOX"

// TestSandboxHelper is not a test: started by sandboxed with sandboxEnv
// set, it plays systemd. It installs a seccomp allow-list of exactly the
// names in sandboxEnv (kill_process for anything else) and execs the
// command after "--" in its arguments, as systemd does with
// SystemCallFilter= before it starts a service. Without sandboxEnv it does
// nothing.
func TestSandboxHelper(t *testing.T) {
	names := os.Getenv(sandboxEnv)
	if names == "" {
		return
	}
	i := slices.Index(os.Args, "--")
	if i < 0 || i == len(os.Args)-1 {
		fmt.Fprintln(os.Stderr, "sandbox helper: no command after --")
		os.Exit(98)
	}
	argv := os.Args[i+1:]
	host, _ := HostArch()
	rules := map[string]policy.Action{}
	for _, n := range strings.Split(names, ",") {
		if _, ok := host.Syscall(n); ok {
			rules[n] = policy.ActAllow
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, sandboxEnv+"=") {
			env = append(env, kv)
		}
	}
	p := &prepared{prog: compileProgram(t, host, policy.ActKillProcess, rules), arch: host, path: argv[0], argv: argv, env: env, ignoreSIGPIPE: true}
	err := p.exec()
	fmt.Fprintln(os.Stderr, "sandbox helper:", err)
	os.Exit(99)
}

// sandboxed runs argv under an allow-list of names, through
// TestSandboxHelper.
func sandboxed(t *testing.T, names []string, argv ...string) procResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestSandboxHelper$", "--"}, argv...)...)
	cmd.Env = append(os.Environ(), sandboxEnv+"="+strings.Join(names, ","))
	return runCmd(t, cmd)
}

// testStartsUnderList starts the loader as systemd would with the drop-in's
// SystemCallFilter=: under an allow-list of Syscalls, the policy's
// names and systemd's @default, which systemd adds to every allow-list;
// and, stricter, without @default. The command must run to completion
// every time (runs times for each list and build). Then it takes each loader syscall out of the strict list in
// turn, to show which the loader cannot start without.
func testStartsUnderList(t *testing.T, bins map[string]string, filter, filterSum, tiny string, runs int) {
	loader := Syscalls("x86_64")
	strict := unionNames(loader, tinyPolicy)
	withDefault := unionNames(strict, systemdDefault)
	for _, b := range fencerBuilds {
		argv := []string{bins[b.name], "exec", "-filter=" + filter, "-sha256=" + filterSum, "--", tiny}
		for _, list := range []struct {
			name  string
			names []string
		}{{"with @default", withDefault}, {"strict", strict}} {
			for i := 0; i < runs; i++ {
				if r := sandboxed(t, list.names, argv...); r.status != 0 || r.stdout != "ok\n" {
					t.Fatalf("%s build, %s list, run %d:\n%v", b.name, list.name, i, r)
				}
			}
		}
		var needed, spare []string
		for _, n := range loader {
			if slices.Contains(tinyPolicy, n) {
				continue
			}
			r := sandboxed(t, slices.DeleteFunc(slices.Clone(strict), func(s string) bool { return s == n }), argv...)
			switch {
			case r.status == 0 && r.stdout == "ok\n":
				spare = append(spare, n)
			case r.sigsys():
				needed = append(needed, n)
			default:
				t.Errorf("%s build without %s: neither success nor SIGSYS:\n%v", b.name, n, r)
			}
		}
		t.Logf("%s build: %d of %d loader syscalls each needed (the start fails without it): %v; not met in this run: %v",
			b.name, len(needed), len(needed)+len(spare), needed, spare)
		if len(needed) == 0 {
			t.Errorf("%s build: the loader starts without any one of its syscalls: the list proves nothing", b.name)
		}
	}
}

func unionNames(lists ...[]string) []string {
	var all []string
	for _, l := range lists {
		all = append(all, l...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// TestLoaderUnderSystemd runs the loader as a drop-in does, in services of
// a real user manager: under NoNewPrivileges= and a SystemCallFilter= of
// exactly Syscalls and the policy's names, the command runs to
// completion, with execve allowed by the policy and under exec once; a call the loader's filter kills ends the service by SIGSYS
// (ExecMainStatus=31); the command starts with what systemd gave the
// loader (SIGPIPE ignored, the soft RLIMIT_NOFILE); and with one loader
// syscall missing from SystemCallFilter= the loader never gets to run the
// command.
func TestLoaderUnderSystemd(t *testing.T) {
	host, err := HostArch()
	needForLoader(t, err == nil, fmt.Sprint(err))
	needForLoader(t, host == arch.X86_64, "the loader's syscall list is measured on x86_64 only, this is "+host.Name)
	um := usermanager.Start(t)
	dir := t.TempDir()
	bins := buildFencer(t, dir)
	tiny := filepath.Join(dir, "tiny")
	if err := os.WriteFile(tiny, tinyProgram(), 0o755); err != nil {
		t.Fatal(err)
	}
	tinyRules := map[string]policy.Action{}
	for _, n := range tinyPolicy {
		tinyRules[n] = policy.ActAllow
	}
	tight, tightSum := writeFilter(t, dir, "tight.bpf", compileRules(t, host, policy.ActKillProcess, tinyRules))
	tinyGated, tinyGatedSum := writeFilter(t, dir, "tinygated.bpf", compileRules(t, host, policy.ActKillProcess, tinyGatedRules()))
	noMkdir, noMkdirSum := writeFilter(t, dir, "nomkdir.bpf",
		compileRules(t, host, policy.ActAllow, map[string]policy.Action{"mkdirat": policy.ActKillProcess, "mkdir": policy.ActKillProcess}))
	made := filepath.Join(dir, "made")
	unitDir := filepath.Join(um.Home, ".config", "systemd", "user")
	if err := os.MkdirAll(unitDir, 0o755); err != nil {
		t.Fatal(err)
	}
	withoutOpenat := slices.DeleteFunc(unionNames(Syscalls("x86_64"), tinyPolicy), func(s string) bool { return s == "openat" })
	type unit struct {
		name, filter, execStart string
		ok                      bool
		output                  string // a regexp the output must match
	}
	var units []unit
	for _, b := range fencerBuilds {
		bin := bins[b.name]
		units = append(units, []unit{
			{"loader-tight-" + b.name, strings.Join(unionNames(Syscalls("x86_64"), tinyPolicy), " "),
				fmt.Sprintf("%s exec -filter=%s -sha256=%s -- %s", bin, tight, tightSum, tiny), true, `^ok\n$`},
			{"loader-exec-once-" + b.name, strings.Join(unionNames(Syscalls("x86_64"), []string{"write", "exit_group"}), " "),
				fmt.Sprintf("%s exec -filter=%s -sha256=%s -- %s", bin, tinyGated, tinyGatedSum, tiny), true, `^ok\n$`},
			{"loader-mkdir-" + b.name, "",
				fmt.Sprintf("%s exec -filter=%s -sha256=%s -- /bin/mkdir %s", bin, noMkdir, noMkdirSum, made), false, `^$`},
			{"loader-inherits-" + b.name, "",
				fmt.Sprintf(`%s exec -filter=%s -sha256=%s -- /bin/sh -c "ulimit -Sn; grep -E '^(Seccomp|SigIgn|SigBlk)' /proc/self/status"`, bin, noMkdir, noMkdirSum), true,
				`^NNN\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000001000\nSeccomp:\t2\nSeccomp_filters:\t\d+\n$`},
			{"loader-no-openat-" + b.name, strings.Join(withoutOpenat, " "),
				fmt.Sprintf("%s exec -filter=%s -sha256=%s -- %s", bin, tight, tightSum, tiny), false, `^$`},
		}...)
	}
	// What a service gets from this manager without the loader.
	plainOut := filepath.Join(dir, "plain.out")
	writeUnit(t, unitDir, "plain", "", `/bin/sh -c "ulimit -Sn; ulimit -Hn"`, plainOut)
	for _, u := range units {
		writeUnit(t, unitDir, u.name, u.filter, u.execStart, filepath.Join(dir, u.name+".out"))
	}
	if out, err := um.Systemctl("daemon-reload"); err != nil {
		t.Fatalf("daemon-reload: %v\n%s", err, out)
	}
	if out, err := um.Systemctl("start", "plain.service"); err != nil {
		t.Fatalf("plain.service: %v\n%s", err, out)
	}
	limits, err := os.ReadFile(plainOut)
	if err != nil {
		t.Fatal(err)
	}
	softLimit, hardLimit, _ := strings.Cut(strings.TrimSpace(string(limits)), "\n")
	t.Logf("RLIMIT_NOFILE of a service: soft %s, hard %s (the Go runtime raises the soft one when it is below hard-1)", softLimit, hardLimit)
	for _, u := range units {
		t.Run(u.name, func(t *testing.T) {
			_, err := um.Systemctl("start", u.name+".service")
			status, _ := um.Show(u.name+".service", "ExecMainStatus")
			result, _ := um.Show(u.name+".service", "Result")
			out, _ := os.ReadFile(filepath.Join(dir, u.name+".out"))
			st, _ := um.Systemctl("status", u.name+".service")
			if u.ok != (err == nil) || u.ok != (status == "0") {
				t.Fatalf("start: %v; Result=%s ExecMainStatus=%s\n%s\n%s", err, result, status, out, st)
			}
			if !u.ok && (status != "31" || result != "signal") {
				t.Fatalf("Result=%s ExecMainStatus=%s, want signal and 31 (SIGSYS)\n%s", result, status, st)
			}
			want := strings.Replace(u.output, "NNN", softLimit, 1)
			if !regexp.MustCompile(want).Match(out) {
				t.Fatalf("output %q, want %q", out, want)
			}
		})
	}
	if _, err := os.Stat(made); err == nil {
		t.Error("mkdir made its directory")
	}
}

// writeUnit writes a oneshot user service that runs execStart with
// NoNewPrivileges=yes and, when filter is not empty, that
// SystemCallFilter=, its output going to out.
func writeUnit(t *testing.T, unitDir, name, filter, execStart, out string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[Service]\nType=oneshot\nNoNewPrivileges=yes\nSystemCallArchitectures=native\n")
	if filter != "" {
		fmt.Fprintf(&b, "SystemCallFilter=%s\n", filter)
	}
	fmt.Fprintf(&b, "ExecStart=%s\nStandardOutput=file:%s\nStandardError=journal\n", execStart, out)
	if err := os.WriteFile(filepath.Join(unitDir, name+".service"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func init() {
	children["gate-restart"] = childGateRestart
	children["outer-listener"] = childOuterListener
}

// listenerFilter is a program for the running architecture that answers
// syscall nr with SECCOMP_RET_USER_NOTIF and allows everything else.
func listenerFilter(nr int) []unix.SockFilter {
	host, _ := HostArch()
	f := &policy.Filter{Service: "t", Arch: host.Name, AuditArch: host.Audit, Order: host.Order, X32: host.X32,
		Default: policy.ActAllow, ExecOnce: []uint32{uint32(nr)}}
	p, _, err := compile.Compile(f)
	if err != nil {
		panic(err)
	}
	out := make([]unix.SockFilter, len(p))
	for i, in := range p {
		out[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return out
}

// installListener sets no_new_privs and installs listenerFilter(nr) on the
// calling thread with SECCOMP_FILTER_FLAG_NEW_LISTENER, and returns the
// listener.
func installListener(nr int) (int, error) {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, err
	}
	f := listenerFilter(nr)
	prog := unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}
	fd, _, e := syscall.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(f)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// childGateRestart checks the exec-once helper (execGate.answer) where a
// signal interrupts the call it is to answer: a thread under a filter that
// sends getppid to a listener makes the call; the first notification is
// received (as the helper would) and the thread then takes a signal
// (SIGURG, which the Go runtime handles, with SA_RESTART), so the kernel
// withdraws the notification and, after the handler, makes the call again:
// a new notification. Answering the first fails with ENOENT, which the
// helper must take as "wait for the next"; started then, it must answer
// the second, and the call return. It prints "ok" or what went wrong.
func childGateRestart() int {
	fail := func(format string, args ...any) int {
		fmt.Printf(format+"\n", args...)
		return 1
	}
	type started struct {
		fd, tid int
		err     error
	}
	ready := make(chan started)
	result := make(chan uintptr)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		fd, err := installListener(unix.SYS_GETPPID)
		ready <- started{fd, unix.Gettid(), err}
		if err != nil {
			return
		}
		r, _, _ := syscall.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		result <- r
	}()
	s := <-ready
	if s.err != nil {
		return fail("installing the listener: %v", s.err)
	}
	var first seccompNotif
	if _, _, e := syscall.Syscall(unix.SYS_IOCTL, uintptr(s.fd), ioctlNotifRecv, uintptr(unsafe.Pointer(&first))); e != 0 {
		return fail("receiving the first notification: %v", e)
	}
	if err := unix.Tgkill(unix.Getpid(), s.tid, unix.SIGURG); err != nil {
		return fail("tgkill: %v", err)
	}
	// The kernel withdraws the notification once the thread runs the
	// signal; only then is the answer certain to come too late.
	id := first.id
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		_, _, e := syscall.Syscall(unix.SYS_IOCTL, uintptr(s.fd), unix.SECCOMP_IOCTL_NOTIF_ID_VALID, uintptr(unsafe.Pointer(&id)))
		if e == unix.ENOENT {
			break
		}
		if time.Now().After(deadline) {
			return fail("the first notification was not withdrawn after the signal: %v", e)
		}
	}
	resp := seccompNotifResp{id: first.id, flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	if _, _, e := syscall.Syscall(unix.SYS_IOCTL, uintptr(s.fd), ioctlNotifSend, uintptr(unsafe.Pointer(&resp))); e != unix.ENOENT {
		return fail("answering the withdrawn notification: %v, want ENOENT", e)
	}
	host, _ := HostArch()
	g := &execGate{tid: uint32(s.tid), nr: unix.SYS_GETPPID, audit: host.Audit,
		noContinue: []byte("no continue\n"), broken: []byte("broken\n")}
	// The helper's answer to the withdrawn notification: wait for the next.
	if msg := g.reply(uintptr(s.fd), &first); msg != nil {
		return fail("the helper gives up on a withdrawn notification: %s", msg)
	}
	g.listener.Store(int32(s.fd))
	g.startHelper()
	select {
	case r := <-result:
		if int(r) != os.Getppid() {
			return fail("getppid returned %d, want %d", r, os.Getppid())
		}
	case <-time.After(5 * time.Second):
		return fail("the helper did not answer the call made again after the signal")
	}
	fmt.Println("ok")
	return 0
}

// childOuterListener plays a container runtime that supervises the
// process with a seccomp listener of its own: it installs a filter with a
// listener (for kexec_load, which nothing makes), keeps the listener open
// across exec, and execs the command after "--" in $LOADER_OUTER_ARGV
// (separated by US, 0x1f).
func childOuterListener() int {
	runtime.LockOSThread()
	fd, err := installListener(unix.SYS_KEXEC_LOAD)
	if err != nil {
		fmt.Fprintln(os.Stderr, "outer listener:", err)
		return 1
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
		fmt.Fprintln(os.Stderr, "outer listener:", err)
		return 1
	}
	argv := strings.Split(os.Getenv("LOADER_OUTER_ARGV"), "\x1f")
	fmt.Fprintln(os.Stderr, "outer listener:", syscall.Exec(argv[0], argv, os.Environ()))
	return 1
}

// TestExecOnceGateRestart runs childGateRestart.
func TestExecOnceGateRestart(t *testing.T) {
	needForLoader(t, notifSupported() == nil, fmt.Sprint(notifSupported()))
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=gate-restart")
	if r := runCmd(t, cmd); r.status != 0 || r.stdout != "ok\n" {
		t.Fatal(r)
	}
}

// testOuterListener starts the loader under a filter whose listener is
// still open (childOuterListener), as in a container whose runtime
// supervises syscalls: the kernel allows one listener, so a filter with the
// exec-once gate cannot be installed, and the loader refuses to start the
// command, saying why; a policy that allows execve needs no listener and
// runs.
func testOuterListener(t *testing.T, bin, gated, gatedSum, permissive, permissiveSum string) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "ran")
	run := func(filter, sum string) procResult {
		cmd := exec.Command(self)
		argv := []string{bin, "exec", "-filter=" + filter, "-sha256=" + sum, "--", "/bin/sh", "-c", "echo ran >" + marker}
		cmd.Env = append(os.Environ(), childEnv+"=outer-listener", "LOADER_OUTER_ARGV="+strings.Join(argv, "\x1f"))
		return runCmd(t, cmd)
	}
	checkRefused(t, run(gated, gatedSum), ExitError,
		"fencer exec: the kernel refused the filter with its exec-once listener (seccomp SECCOMP_FILTER_FLAG_NEW_LISTENER: device or resource busy): "+
			"this process already runs under a seccomp filter that has a listener", marker)
	if r := run(permissive, permissiveSum); r.status != 0 {
		t.Errorf("with execve allowed: %v", r)
	}
	if b, _ := os.ReadFile(marker); string(b) != "ran\n" {
		t.Errorf("with execve allowed, the command did not run: %q", b)
	}
}

// testTracedLoader: a loader that something traces could have its
// exec-once listener used by the tracer, which could then let a later
// execve of the service through; under exec once it refuses to start the
// command, naming the tracer. With execve allowed (no gate) it runs.
func testTracedLoader(t *testing.T, bin, gated, gatedSum, permissive, permissiveSum string) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("strace is missing (CI=true, so this fails instead of skipping)")
		}
		t.Skip("no strace")
	}
	marker := filepath.Join(t.TempDir(), "ran")
	run := func(filter, sum string) procResult {
		return runCmd(t, exec.Command(strace, "-f", "-qq", "-o", "/dev/null", bin, "exec", "-filter="+filter, "-sha256="+sum, "--", "/bin/sh", "-c", "echo ran >"+marker))
	}
	checkRefused(t, run(gated, gatedSum), ExitError, "traces the loader, and could let a later execve of the service past exec once through it", marker)
	if r := run(permissive, permissiveSum); r.status.ExitStatus() != 0 {
		t.Errorf("with execve allowed: %v", r)
	}
	if b, _ := os.ReadFile(marker); string(b) != "ran\n" {
		t.Errorf("with execve allowed, the command did not run under strace: %q", b)
	}
}

// TestHostExecve: the loader checks its own execve with x/sys's number for
// this machine (unix.SYS_EXECVE), which keeps the syscall tables unbuilt
// at every start of a service: it must be the table's.
func TestHostExecve(t *testing.T) {
	a, err := HostArch()
	if err != nil {
		t.Skip(err)
	}
	if nr, ok := a.Syscall("execve"); !ok || nr != unix.SYS_EXECVE {
		t.Errorf("execve on %s is %d in the tables (%v), and unix.SYS_EXECVE is %d", a.Name, nr, ok, unix.SYS_EXECVE)
	}
}
