package loader

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"

	"github.com/fencer-dev/fencer/internal/usermanager"
)

// childEnv selects a child mode of the test binary, which tests re-execute
// (directly or through the loader): one of children, to which the files
// of some platforms add theirs in init functions.
const childEnv = "LOADER_CHILD"

var children = map[string]func() int{"exec-again": childExecAgain}

// TestMain runs a child mode, or the tests in a mount namespace of their
// own where a systemd user manager can run (see package usermanager).
func TestMain(m *testing.M) { usermanager.Main(m, childEnv, children) }

// childExecAgain plays a service that, once started, tries to run another
// program: /bin/sh, which would append the name of the attempt to
// $LOADER_EXEC_MARKER. It tries from a forked child (os/exec), then from
// another thread, then from its main goroutine's, and says on stdout how
// each attempt failed, one line each ("child: ...", "thread: ...",
// "main: ..."); an attempt that succeeds replaces the process with the
// shell, which ends it.
func childExecAgain() int {
	marker := os.Getenv("LOADER_EXEC_MARKER")
	argv := func(where string) []string {
		return []string{"/bin/sh", "-c", `echo "$0" >>"$1"`, where, marker}
	}
	a := argv("child")
	fmt.Printf("child: %v\n", exec.Command(a[0], a[1:]...).Run())
	done := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: a thread of its own
		done <- syscall.Exec("/bin/sh", argv("thread"), os.Environ())
	}()
	fmt.Printf("thread: %v\n", <-done)
	fmt.Printf("main: %v\n", syscall.Exec("/bin/sh", argv("main"), os.Environ()))
	return 0
}
