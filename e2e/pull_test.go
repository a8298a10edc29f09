package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// git runs git in dir and fails the test when it fails.
func git(t *testing.T, env []string, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(env, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestPullMode runs examples/fleet's fencer-pull.service, as shipped but
// for where fencer is, under a real user manager, as host web-1: a git
// pull that fails applies nothing; one that works brings the checkout up
// to date and applies web-1's part, which verify finds in sync.
func TestPullMode(t *testing.T) {
	_, err := exec.LookPath("git")
	need(t, err == nil, "git is not installed")
	w := newWorld(t)
	env := w.um.Env
	// The repository the hosts pull: the fleet example in it.
	origin := filepath.Join(t.TempDir(), "origin")
	src := filepath.Join(repo(t), "examples", "fleet")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(origin, "examples", "fleet", e.Name()), string(b))
	}
	git(t, env, origin, "init", "-q")
	git(t, env, origin, "add", ".")
	git(t, env, origin, "commit", "-q", "-m", "fleet")
	checkout := filepath.Join(t.TempDir(), "config")
	git(t, env, filepath.Dir(checkout), "clone", "-q", origin, checkout)
	writeFile(t, filepath.Join(origin, "NEWS"), "a commit the hosts have not pulled yet\n")
	git(t, env, origin, "add", ".")
	git(t, env, origin, "commit", "-q", "-m", "news")

	unit, err := os.ReadFile(filepath.Join(src, "fencer-pull.service"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(unit), "/usr/local/bin/fencer ") != 1 {
		t.Fatalf("fencer-pull.service does not run /usr/local/bin/fencer once:\n%s", unit)
	}
	writeFile(t, filepath.Join(w.unitDir, "fencer-pull.service"), strings.Replace(string(unit), "/usr/local/bin/fencer ", w.fencer+" ", 1))
	flags := strings.Join(w.vars(), " ")
	writeFile(t, filepath.Join(w.unitDir, "fencer-pull.service.d", "test.conf"), fmt.Sprintf(
		"[Service]\nEnvironment=FENCER_HOST=web-1 FENCER_REPO=%s \"FENCER_FLAGS=%s\"\n", checkout, flags))
	if out, err := w.um.Systemctl("daemon-reload"); err != nil {
		t.Fatalf("daemon-reload: %v\n%s", err, out)
	}

	// The remote cannot be reached: the run fails before fencer runs.
	git(t, env, checkout, "remote", "set-url", "origin", filepath.Join(t.TempDir(), "gone"))
	if out, err := w.um.Systemctl("start", "fencer-pull.service"); err == nil {
		t.Fatalf("fencer-pull.service succeeded with its remote gone:\n%s", out)
	}
	if _, err := os.Stat(w.unitFilePath()); err == nil {
		t.Fatalf("a failed pull applied the configuration: %s exists", w.unitFilePath())
	}
	if got, _ := w.um.Show("fencer-pull.service", "Result"); got != "exit-code" {
		t.Errorf("Result=%s after a failed pull, want exit-code", got)
	}

	git(t, env, checkout, "remote", "set-url", "origin", origin)
	if out, err := w.um.Systemctl("start", "fencer-pull.service"); err != nil {
		t.Fatalf("fencer-pull.service: %v\n%s\n--- user manager\n%s", err, out, w.um.Log())
	}
	if got, want := git(t, env, checkout, "rev-parse", "HEAD"), git(t, env, origin, "rev-parse", "HEAD"); got != want {
		t.Errorf("the checkout is at %s, origin at %s", got, want)
	}
	for _, p := range []string{w.unitFilePath(), w.socketPath(), w.dropInPath(), w.filterPath()} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("pull mode did not apply %s: %v", p, err)
		}
	}
	r := run(t, w.command(append([]string{"-chdir=" + filepath.Join(checkout, "examples", "fleet"), "verify", "-host=web-1"}, w.vars()...)...))
	if r.code != 0 || !strings.Contains(r.stdout, "host \"web-1\": in sync\n") {
		t.Errorf("verify after pull mode:\n%s", r)
	}
}
