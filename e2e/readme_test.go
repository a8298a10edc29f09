package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// readmeFirstCommand returns the first command of README.md's quick
// start: the first line that is not a comment in its first sh block.
func readmeFirstCommand(t *testing.T) string {
	t.Helper()
	readme := readFile(t, filepath.Join(repo(t), "README.md"))
	_, quick, ok := strings.Cut(readme, "\n## Quick start\n")
	if !ok {
		t.Fatal("README.md has no Quick start section")
	}
	_, block, ok := strings.Cut(quick, "```sh\n")
	if !ok {
		t.Fatal("README.md's Quick start has no sh block")
	}
	block, _, _ = strings.Cut(block, "```")
	for _, l := range strings.Split(block, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	t.Fatal("README.md's first sh block has no command")
	return ""
}

// TestReadmeFirstCommand runs the README's first command — plan and apply
// of examples/metrics into -root of a temporary directory — exactly as
// written, with the prebuilt fencer for "go run ./cmd/fencer", in a
// fresh copy of the example, as an unprivileged user (nobody when the
// test runs as root).
func TestReadmeFirstCommand(t *testing.T) {
	fencer, _ := binaries(t)
	command := readmeFirstCommand(t)
	if !strings.Contains(command, "go run ./cmd/fencer ") || !strings.Contains(command, "-root=") {
		t.Fatalf("README's first command is not a go run of fencer with -root: %s", command)
	}
	command = strings.ReplaceAll(command, "go run ./cmd/fencer ", fencer+" ")
	t.Logf("running: %s", command)

	// A fresh clone's example, and a temporary directory mktemp -d uses,
	// both the unprivileged user's.
	base, err := os.MkdirTemp("", "fencer-e2e-readme")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	clone, tmp := filepath.Join(base, "clone"), filepath.Join(base, "tmp")
	src := filepath.Join(repo(t), "examples", "metrics")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			writeFile(t, filepath.Join(clone, "examples", "metrics", e.Name()), readFile(t, filepath.Join(src, e.Name())))
		}
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Dir = clone
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=" + tmp, "HOME=" + tmp, "LC_ALL=C"}
	uid := os.Getuid()
	if uid == 0 {
		nobody, err := user.Lookup("nobody")
		need(t, err == nil, "no user nobody: %v", err)
		uid, _ = strconv.Atoi(nobody.Uid)
		gid, _ := strconv.Atoi(nobody.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
		if err := os.Chmod(base, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(tmp, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	r := run(t, cmd)
	t.Logf("as uid %d: exit %d", uid, r.code)
	if r.code != 0 {
		t.Fatalf("README's first command failed:\n%s", r)
	}
	if !strings.Contains(r.stdout, "Apply complete! Files: 5 added, 0 changed, 0 destroyed.") {
		t.Errorf("the apply did not add the 5 files:\n%s", r.stdout)
	}
	if !strings.HasSuffix(r.stdout, "No changes. Your hosts match the configuration.\n") {
		t.Errorf("the plan after the apply is not empty:\n%s", r.stdout)
	}

	// mktemp -d made the root in TMPDIR.
	roots, err := os.ReadDir(tmp)
	if err != nil || len(roots) != 1 || !roots[0].IsDir() {
		t.Fatalf("TMPDIR holds %v (%v), want the one -root directory", roots, err)
	}
	root := filepath.Join(tmp, roots[0].Name())
	self, err := os.ReadFile(fencer)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		path string
		mode os.FileMode
		want string // a line of it, or for binaries ""
	}{
		{"etc/systemd/system/metrics.service", 0o644, "ExecStart=/usr/local/libexec/metrics-server"},
		{"etc/systemd/system/metrics.socket", 0o644, "ListenStream=0.0.0.0:7999"},
		{"etc/systemd/system/metrics.service.d/zz-fencer.conf", 0o644, "ExecStart=/usr/local/bin/fencer exec -filter=/etc/fencer/filters/metrics.service.bpf -sha256="},
		{"etc/fencer/filters/metrics.service.bpf", 0o644, ""},
		{"usr/local/bin/fencer", 0o755, ""},
	} {
		p := filepath.Join(root, f.path)
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if st.Mode() != f.mode || st.Sys().(*syscall.Stat_t).Uid != uint32(uid) {
			t.Errorf("%s: mode %v, owner %d; want %v, %d", f.path, st.Mode(), st.Sys().(*syscall.Stat_t).Uid, f.mode, uid)
		}
		b := readFile(t, p)
		if f.want != "" && (!strings.HasPrefix(b, "# Managed by fencer") || !strings.Contains(b, "\n"+f.want)) {
			t.Errorf("%s lacks fencer's header or %q:\n%s", f.path, f.want, b)
		}
		if f.path == "usr/local/bin/fencer" && !bytes.Equal([]byte(b), self) {
			t.Errorf("the loader installed is not the fencer that ran")
		}
	}

	// plan -detailed-exitcode agrees, and nothing outside the tree and
	// TMPDIR was written: the clone is as it was.
	again := exec.Command(fencer, "-chdir=examples/metrics", "plan", "-detailed-exitcode", "-root="+root)
	again.Dir, again.Env, again.SysProcAttr = clone, cmd.Env, cmd.SysProcAttr
	if r := run(t, again); r.code != 0 {
		t.Errorf("plan -detailed-exitcode: %s", r)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if readFile(t, filepath.Join(clone, "examples", "metrics", e.Name())) != readFile(t, filepath.Join(src, e.Name())) {
			t.Errorf("examples/metrics/%s changed", e.Name())
		}
	}
	if n, _ := os.ReadDir(filepath.Join(clone, "examples", "metrics")); len(n) != len(entries) {
		t.Errorf("the example directory has %d entries, had %d", len(n), len(entries))
	}
}
