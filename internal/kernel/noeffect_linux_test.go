package kernel_test

import (
	"debug/elf"
	"golang.org/x/sys/unix"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/fencer-dev/fencer/internal/kernel"
)

// canaryName is a NUL-terminated path in statically initialized data: in a
// non-PIE binary it has the same address in the test process and in the
// prober, which re-executes the same binary, so probed calls can pass it.
var canaryName = [...]byte{'f', 'e', 'n', 'c', 'e', 'r', '-', 'c', 'a', 'n', 'a', 'r', 'y', 0}

// atFDCWD is AT_FDCWD (-100) as a 64-bit argument.
const atFDCWD = ^uint64(99)

// TestNoEffect probes calls that the program allows and that would change
// something outside the probe if they ran, and checks that nothing changed.
func TestNoEffect(t *testing.T) {
	requireProbes(t)
	p := testProgram(t)

	// A process the probes try to kill.
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sleeper.Process.Kill()
		sleeper.Wait()
	}()
	pid := uint64(sleeper.Process.Pid)
	calls := []kernel.Call{
		{Nr: nrKill, Args: [6]uint64{pid, uint64(syscall.SIGKILL)}},
		{Nr: nrTgkill, Args: [6]uint64{pid, pid, uint64(syscall.SIGKILL)}},
		// Would end the probe child, or write into the prober's answer.
		{Nr: nrExitGroup, Args: [6]uint64{0}},
		{Nr: nrWrite, Args: [6]uint64{1, uint64(uintptr(unsafe.Pointer(&canaryName[0]))), uint64(len(canaryName))}},
	}
	got, err := kernel.Probe(p, calls)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != passed {
			t.Errorf("%v: got %+v, want passed", calls[i], v)
		}
	}
	time.Sleep(50 * time.Millisecond)
	// A killed child stays a zombie until reaped, and signal 0 reaches
	// zombies: ask whether it has exited without reaping it.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, int(pid), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
		t.Fatalf("waitid: %v", err)
	}
	if pidOf(&info) != 0 {
		t.Errorf("the sleeper was killed: a probed kill took effect")
	}
}

// pidOf returns si_pid of a waitid result: 0 when no child changed state.
func pidOf(info *unix.Siginfo) int32 {
	// si_pid follows si_signo, si_errno and si_code (three int32s) and, on
	// 64-bit, padding to 8 bytes.
	b := (*[128]byte)(unsafe.Pointer(info))
	return *(*int32)(unsafe.Pointer(&b[16]))
}

// TestNoEffectFiles probes mkdirat and unlinkat on a path in a temporary
// directory and checks the directory afterwards; then makes the same calls
// in the test process to show that they would have had an effect.
func TestNoEffectFiles(t *testing.T) {
	requireProbes(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	pie := f.Type != elf.ET_EXEC
	f.Close()
	if pie {
		// The prober would see canaryName at another address.
		if os.Getenv("CI") == "true" {
			t.Fatal("the test binary is position-independent: cannot pass a path to the prober")
		}
		t.Skip("the test binary is position-independent: cannot pass a path to the prober")
	}
	t.Chdir(t.TempDir())
	name := string(canaryName[:len(canaryName)-1])
	path := uint64(uintptr(unsafe.Pointer(&canaryName[0])))
	const atRemoveDir = 0x200
	mkdir := kernel.Call{Nr: nrMkdirat, Args: [6]uint64{atFDCWD, path, 0o755}}
	rmdir := kernel.Call{Nr: nrUnlinkat, Args: [6]uint64{atFDCWD, path, atRemoveDir}}

	probe := func(c kernel.Call) {
		t.Helper()
		v, err := kernel.Probe(testProgram(t), []kernel.Call{c})
		if err != nil {
			t.Fatal(err)
		}
		if v[0] != passed {
			t.Fatalf("%v: got %+v, want passed", c, v[0])
		}
	}
	run := func(c kernel.Call) {
		t.Helper()
		if _, _, e := syscall.Syscall(uintptr(c.Nr), uintptr(c.Args[0]), uintptr(c.Args[1]), uintptr(c.Args[2])); e != 0 {
			t.Fatalf("%v in the test process: %v", c, e)
		}
	}

	probe(mkdir)
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Fatalf("after the probed mkdirat: stat: %v", err)
	}
	run(mkdir)
	if fi, err := os.Stat(name); err != nil || !fi.IsDir() {
		t.Fatalf("mkdirat in the test process did not create the directory: %v", err)
	}
	probe(rmdir)
	if fi, err := os.Stat(name); err != nil || !fi.IsDir() {
		t.Fatalf("after the probed unlinkat: %v", err)
	}
	run(rmdir)
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Fatalf("unlinkat in the test process did not remove the directory: %v", err)
	}
}
