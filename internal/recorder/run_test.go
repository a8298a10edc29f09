package recorder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/observe"
)

// needStrace skips without strace, except under CI=true, where .ci/run
// installs it and a skip would hide a failure.
func needStrace(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("strace"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no strace: %v", err)
		}
		t.Skip("no strace here (Debian: apt-get install strace)")
	}
}

// testProgram compiles testdata/prog.c.
func testProgram(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "prog")
	if b, err := exec.Command("gcc", "-O2", "-pthread", "-o", out, "testdata/prog.c").CombinedOutput(); err != nil {
		if os.Getenv("CI") != "true" && errors.Is(err, exec.ErrNotFound) {
			t.Skip("no gcc here")
		}
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

// calls returns the calls named name.
func calls(rec *observe.Recording, name string) []observe.Call {
	var out []observe.Call
	for _, c := range rec.Calls {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

func TestRecordProgram(t *testing.T) {
	needStrace(t)
	prog := testProgram(t)
	rec, err := Command(context.Background(), []string{prog}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Ended != observe.Exited || rec.ExitStatus != 7 {
		t.Errorf("ended %v with %d, want exited with 7", rec.Ended, rec.ExitStatus)
	}
	first := rec.Calls[0]
	if first.Name != "execve" || !first.Returned || first.Ret != 0 {
		t.Errorf("first call %+v, want the program's execve", first)
	}
	main := first.PID
	// The thread: clone3 with CLONE_THREAD, a write of "thread\n" from
	// another thread of the same process.
	var thread int
	for _, c := range calls(rec, "clone3") {
		if c.CloneFlags&0x10000 != 0 {
			thread = int(c.Ret)
		}
	}
	writes := calls(rec, "write")
	if thread == 0 || len(writes) != 1 || writes[0].TID != thread || writes[0].PID != main || writes[0].Args[0] != 1 || writes[0].Args[2] != 7 {
		t.Errorf("thread %d, writes %+v: want one write(1, _, 7) from the thread, in process %d", thread, writes, main)
	}
	sock := calls(rec, "socket")
	if len(sock) != 1 || sock[0].Args[0] != syscall.AF_INET || sock[0].Args[1] != syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC || sock[0].Ret != 3 {
		t.Errorf("socket calls %+v, want socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0) = 3", sock)
	}
	found := false
	for _, c := range calls(rec, "openat") {
		if c.Text[1] == "/etc/hostname" && c.Args[0] == 0xffffff9c && c.Args[2] == syscall.O_RDONLY {
			found = true
		}
	}
	if !found {
		t.Errorf("no openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY) in %+v", calls(rec, "openat"))
	}
	// The child: a process of its own, exiting with 3.
	var child int
	for _, c := range calls(rec, "clone") {
		if c.PID == main && c.Args[0]&0x10000 == 0 {
			child = int(c.Ret)
		}
	}
	exits := calls(rec, "exit_group")
	if child == 0 || len(exits) != 2 || exits[0].PID != child || exits[0].Args[0] != 3 || exits[1].PID != main || exits[1].Args[0] != 7 {
		t.Errorf("child %d, exit_groups %+v: want the child's exit_group(3), then the program's (7)", child, exits)
	}
	for i := 1; i < len(rec.Calls); i++ {
		if rec.Calls[i].Start < rec.Calls[i-1].Start {
			t.Fatalf("call %d starts before call %d", i, i-1)
		}
	}
}

func TestRecordShell(t *testing.T) {
	needStrace(t)
	rec, err := Command(context.Background(), []string{"sh", "-c", "true; ls /nonexistent-fencer 2>/dev/null; exit 4"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Ended != observe.Exited || rec.ExitStatus != 4 {
		t.Errorf("ended %v with %d, want exited with 4", rec.Ended, rec.ExitStatus)
	}
	execs := calls(rec, "execve")
	if len(execs) != 2 || execs[1].Text[0] != "/usr/bin/ls" && execs[1].Text[0] != "/bin/ls" {
		t.Errorf("execve calls %+v: want sh's and ls's", execs)
	}
	enoent := false
	for _, c := range calls(rec, "statx") {
		enoent = enoent || c.Text[1] == "/nonexistent-fencer" && c.Ret == -int64(syscall.ENOENT)
	}
	for _, c := range calls(rec, "newfstatat") {
		enoent = enoent || c.Text[1] == "/nonexistent-fencer" && c.Ret == -int64(syscall.ENOENT)
	}
	for _, c := range calls(rec, "lstat") {
		enoent = enoent || c.Text[0] == "/nonexistent-fencer" && c.Ret == -int64(syscall.ENOENT)
	}
	if !enoent {
		t.Errorf("no stat of /nonexistent-fencer failing with ENOENT")
	}

	rec, err = Command(context.Background(), []string{"true"}, Options{})
	if err != nil || rec.Ended != observe.Exited || rec.ExitStatus != 0 || len(calls(rec, "exit_group")) != 1 {
		t.Errorf("true: %v, ended %v with %d", err, rec.Ended, rec.ExitStatus)
	}
}

// TestRecordStop stops a recording on time and when interrupted, with a
// program that ignores SIGTERM and a child that sleeps: nothing of it may
// be left, running or stopped.
func TestRecordStop(t *testing.T) {
	needStrace(t)
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want observe.End
	}{
		{"timeout", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 500*time.Millisecond)
		}, observe.Timeout},
		{"interrupt", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(500*time.Millisecond, cancel)
			return ctx, cancel
		}, observe.Interrupted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			rec, err := Command(ctx, []string{"sh", "-c", "trap '' TERM; sleep 1000 & sleep 1000; wait"}, Options{Grace: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if rec.Ended != tc.want {
				t.Errorf("ended %v, want %v", rec.Ended, tc.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v to stop", d)
			}
			pids := map[int]bool{}
			for _, c := range rec.Calls {
				pids[c.PID] = true
			}
			if len(pids) < 3 {
				t.Errorf("processes %v: want sh and two sleeps", pids)
			}
			for pid := range pids {
				if st := processState(pid); st != "" && st != "Z" {
					t.Errorf("process %d of the recording still there, state %s", pid, st)
				}
			}
		})
	}
}

func TestRecordNoProgram(t *testing.T) {
	needStrace(t)
	_, err := Command(context.Background(), []string{"/nonexistent/fencer-prog"}, Options{})
	if err == nil {
		t.Fatal("no error recording a program that does not exist")
	}
}

// processState is pid's state letter from /proc ("R", "S", "t", "Z"...),
// "" when it is gone. A killed process whose parent died waits as a
// zombie for PID 1 here, which is gone enough.
func processState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+3 > len(s) {
		return "?"
	}
	return s[i+2 : i+3]
}
