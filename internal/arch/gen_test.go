package arch

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goCommand returns the go command on PATH.
func goCommand(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command: %v", err)
	}
	return p
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestGeneratedTablesUpToDate runs the generator into a temporary directory
// and requires its output to equal the committed zsyscalls.go and zconsts.go
// byte for byte, i.e. `go generate ./internal/arch` is a no-op.
func TestGeneratedTablesUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	goCmd := goCommand(t)
	out, err := exec.Command(goCmd, "list", "-m", "-f", "{{.Dir}}", "golang.org/x/sys").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" || !fileExists(filepath.Join(dir, "unix", "zsysnum_linux_amd64.go")) {
		msg := "golang.org/x/sys is not in the module cache (go mod download golang.org/x/sys)"
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s; err=%v", msg, err)
		}
		t.Skip(msg)
	}

	tmp := t.TempDir()
	cmd := exec.Command(goCmd, "run", "./internal/gen", "-out", tmp)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./internal/gen: %v\n%s", err, b)
	}
	for _, name := range []string{"zsyscalls.go", "zconsts.go"} {
		want, err := os.ReadFile(filepath.Join(tmp, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./internal/arch (committed %d bytes, generator %d bytes)", name, len(got), len(want))
		}
		if !bytes.HasPrefix(got, []byte("// Code generated ")) || !bytes.Contains(got, []byte("DO NOT EDIT.\n")) {
			t.Errorf("%s lacks the generated-code header", name)
		}
	}
}
