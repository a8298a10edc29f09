package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/host"
)

// argvEnv makes the test binary, run as a "#!" interpreter, print its
// arguments and /proc/self/exe as JSON and exit.
const argvEnv = "FENCER_VERIFY_PRINT_ARGV"

func TestMain(m *testing.M) {
	if os.Getenv(argvEnv) == "1" {
		exe, _ := os.Readlink("/proc/self/exe")
		json.NewEncoder(os.Stdout).Encode(map[string]any{"argv": os.Args, "exe": exe})
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// ran is what the interpreter printed.
type ran struct {
	Argv []string `json:"argv"`
	Exe  string   `json:"exe"`
}

// runScript executes path with one argument, "extra", the way a service
// is: the kernel reads its "#!" line.
func runScript(t *testing.T, path string) (ran, error) {
	t.Helper()
	cmd := exec.Command(path, "extra")
	cmd.Env = append(os.Environ(), argvEnv+"=1")
	out, err := cmd.Output()
	if err != nil {
		return ran{}, err
	}
	var r ran
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s printed %q: %v", path, out, err)
	}
	return r, nil
}

func self(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if len(p) > 100 || strings.ContainsAny(p, " \t") {
		t.Skipf("the test binary's path %q does not fit a #! line", p)
	}
	return p
}

// TestParseShebangAgainstKernel writes scripts whose interpreter is this
// test binary, with every shape of "#!" line the kernel treats specially,
// and checks parseShebang against what the kernel does with each: the
// arguments it passes, or its refusal (ENOEXEC).
func TestParseShebangAgainstKernel(t *testing.T) {
	interp := self(t)
	long := strings.Repeat("y", 300)
	for _, line := range []string{
		"#!I\n",
		"#!I arg\n",
		"#!  I  \t a  b \t \n",
		"#!I\targ\tx\n",
		"#!I",
		"#!I arg   ",
		"#!I a\x00b\n",
		"#!I\x00junk\n",
		"#! I " + long,
		"#!I " + long + "\n",
		"#!I\r\n",
		"#!\n",
		"#!  \t \n",
		"#!" + long,
		"#!/" + strings.Repeat("x", 260) + " arg\n",
	} {
		// A line without a newline ends the file.
		content := strings.ReplaceAll(line, "I", interp)
		if strings.HasSuffix(line, "\n") {
			content += "body\n"
		}
		dir := t.TempDir()
		script := filepath.Join(dir, "s")
		if err := os.WriteFile(script, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		name, arg, isScript, perr := parseShebang([]byte(content))
		if !isScript {
			t.Errorf("%q: not a script", line)
			continue
		}
		got, err := runScript(t, script)
		if errors.Is(perr, errNoExec) {
			if !errors.Is(err, syscall.ENOEXEC) {
				t.Errorf("%q: parseShebang says ENOEXEC (%v), the kernel ran it: %v %+v", line, perr, err, got)
			}
			continue
		}
		if perr != nil {
			t.Errorf("%q: %v", line, perr)
			continue
		}
		if err != nil {
			// The kernel found the line usable, and the interpreter
			// did not run: it named another file.
			if name == interp || errors.Is(err, syscall.ENOEXEC) {
				t.Errorf("%q: parseShebang names %q, the kernel: %v", line, name, err)
			}
			continue
		}
		want := []string{name}
		if arg != "" {
			want = append(want, arg)
		}
		want = append(want, script, "extra")
		if fmt.Sprintf("%q", got.Argv) != fmt.Sprintf("%q", want) {
			t.Errorf("%q: the kernel passed %q, parseShebang predicts %q", line, got.Argv, want)
		}
	}
	if _, _, isScript, _ := parseShebang([]byte("\x7fELF")); isScript {
		t.Errorf("an ELF file is a script")
	}
	if _, _, isScript, _ := parseShebang(nil); isScript {
		t.Errorf("an empty file is a script")
	}
}

// TestResolveExec follows paths through symbolic links (of directories,
// relative, with "..") and chains of "#!" interpreters on this machine,
// and checks the result against what the kernel runs.
func TestResolveExec(t *testing.T) {
	interp := self(t)
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	script := func(name, content string) string {
		p := filepath.Join(dir, name)
		must(os.WriteFile(p, []byte(content), 0o755))
		return p
	}
	must(os.MkdirAll(filepath.Join(dir, "real", "bin"), 0o755))
	must(os.Symlink("real", filepath.Join(dir, "link")))
	must(os.Symlink(interp, filepath.Join(dir, "real", "bin", "interp")))
	must(os.Symlink("../real/bin/../bin/interp", filepath.Join(dir, "link", "up")))
	s1 := script("s1", "#!"+filepath.Join(dir, "link", "up")+" -x\n")
	s2 := script("s2", "#!"+s1+"\n")

	in, err := host.Local("local", host.ScopeSystem)
	must(err)
	ctx := context.Background()
	e, err := resolveExec(ctx, in, s2)
	must(err)
	realInterp, err := filepath.EvalSymlinks(interp)
	must(err)
	if e.binary() != realInterp || len(e.steps) != 3 || !e.script() || e.literal() {
		t.Fatalf("resolveExec(%s) = %+v", s2, e.steps)
	}
	want := fmt.Sprintf("%s: #!%s: #!%s -> %s (symbolic links)", s2, s1, filepath.Join(dir, "link", "up"), realInterp)
	if e.String() != want {
		t.Errorf("String() = %q, want %q", e.String(), want)
	}
	got, err := runScript(t, s2)
	must(err)
	if got.Exe != e.binary() {
		t.Errorf("the kernel runs %s, resolveExec says %s", got.Exe, e.binary())
	}
	// The kernel hands each interpreter the path it was given.
	if w := []string{filepath.Join(dir, "link", "up"), "-x", s1, s2, "extra"}; fmt.Sprint(got.Argv) != fmt.Sprint(w) {
		t.Errorf("argv %q, want %q", got.Argv, w)
	}
	if e, err := resolveExec(ctx, in, realInterp); err != nil || !e.literal() {
		t.Errorf("the binary itself: %+v, %v", e, err)
	}

	// Five interpreters the kernel follows; a sixth fails with ELOOP.
	prev := interp
	for i := 1; i <= 6; i++ {
		prev = script(fmt.Sprintf("n%d", i), "#!"+prev+"\n")
		_, kerr := runScript(t, prev)
		_, rerr := resolveExec(ctx, in, prev)
		if (kerr == nil) != (rerr == nil) || i <= 5 && rerr != nil || i == 6 && !errors.Is(kerr, syscall.ELOOP) {
			t.Errorf("%d interpreters: the kernel: %v; resolveExec: %v", i, kerr, rerr)
		}
	}

	rel := script("rel", "#!interp\n")
	if _, err := resolveExec(ctx, in, rel); err == nil || !strings.Contains(err.Error(), "relative path") {
		t.Errorf("a relative interpreter: %v", err)
	}
	if _, err := resolveExec(ctx, in, filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	must(syscall.Mkfifo(fifo, 0o755))
	done := make(chan error, 1)
	go func() { _, err := resolveExec(ctx, in, fifo); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("a FIFO: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("resolveExec hangs on a FIFO")
	}
}
