package host

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/usermanager"
)

// childEnv selects a child mode of the test binary, which tests re-execute
// (directly or as a systemd service): one of children.
const childEnv = "HOST_CHILD"

var children = map[string]func() int{"writer": childWriter, "lock": childLock, "argv": childArgv}

// TestMain runs a child mode, or the tests in a mount namespace of their
// own where a systemd user manager can run (see package usermanager).
func TestMain(m *testing.M) { usermanager.Main(m, childEnv, children) }

// childWriter rewrites the files named in $HOST_FILES (in the -root tree
// $HOST_ROOT) with WriteFile forever, alternating two contents, until it
// is killed. It says "ready" on stdout once it started.
func childWriter() int {
	h, err := Root("child", os.Getenv("HOST_ROOT"), "", ScopeSystem)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	paths := strings.Fields(os.Getenv("HOST_FILES"))
	fmt.Println("ready")
	for i := 0; ; i++ {
		for _, p := range paths {
			if err := h.WriteFile(context.Background(), p, content(p, i%2), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
}

// content is what the atomic-write test writes: two versions per file,
// of different lengths, large enough for writes to be interruptible.
func content(p string, version int) []byte {
	n := 64<<10 + version*4096
	line := fmt.Sprintf("%s version %d\n", p, version)
	return []byte(strings.Repeat(line, n/len(line)+1)[:n])
}

// childLock takes the lock of the -root tree $HOST_ROOT, says "locked" and
// holds it until killed (or for $HOST_HOLD).
func childLock() int {
	h, err := Root("child", os.Getenv("HOST_ROOT"), "", ScopeSystem)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	unlock, err := h.Lock(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	hold, _ := strconv.Atoi(os.Getenv("HOST_HOLD_MS"))
	if hold == 0 {
		hold = 60000
	}
	time.Sleep(time.Duration(hold) * time.Millisecond)
	if err := unlock(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// childArgv appends its argv as a JSON line to $HOST_ARGV_OUT: the test
// binary stands in for a service's program (and for the loader) to see
// exactly what systemd passes.
func childArgv() int {
	f, err := os.OpenFile(os.Getenv("HOST_ARGV_OUT"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer f.Close()
	b, _ := json.Marshal(os.Args)
	if _, err := f.Write(append(b, '\n')); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
