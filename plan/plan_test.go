package plan

import (
	"context"
	"io/fs"
	"path"
	"sort"
	"strings"
	"testing"
)

// memHost is a host whose files live in a map.
type memHost struct {
	files map[string][]byte
}

func (m *memHost) Name() string { return "mem" }

func (m *memHost) Facts(context.Context) (*Facts, error) {
	return &Facts{Arch: "x86_64", SystemdVersion: 252, Scope: "system", Paths: SystemPaths, UnitSearchPath: SystemUnitSearchPath}, nil
}

func (m *memHost) ReadFile(_ context.Context, p string) ([]byte, fs.FileMode, error) {
	b, ok := m.files[p]
	if !ok {
		return nil, 0, fs.ErrNotExist
	}
	return b, 0o644, nil
}

func (m *memHost) ReadDir(_ context.Context, p string) ([]string, error) {
	var out []string
	for f := range m.files {
		if path.Dir(f) == p {
			out = append(out, path.Base(f))
		}
	}
	if out == nil {
		return nil, fs.ErrNotExist
	}
	sort.Strings(out)
	return out, nil
}

const unitConfig = `service "m" {
  unit      = "m.service"
  unit_file = "[Service]\nExecStart=/usr/bin/m\n"
  fd "log" {
    stdout = "append:LOG"
  }
  fd "sock" {
    listen_stream = "127.0.0.1:80"
  }
  rule "start" {
    syscalls = ["execve", "exit_group"]
  }
}
`

func makePlan(t *testing.T, src string, h *memHost) (*Plan, error) {
	t.Helper()
	cfg := load(t, src)
	p, diags := Make(context.Background(), cfg, Options{Hosts: map[string]Host{"local": h},
		Loader: func() ([]byte, string, error) { return []byte("loader"), "x86_64", nil }})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if f := p.Failed(); len(f) > 0 {
		return p, &planError{f[0].Error}
	}
	return p, nil
}

type planError struct{ s string }

func (e *planError) Error() string { return e.s }

// TestWriteOrder checks that every prefix of a first install is safe: the
// drop-in comes before the socket unit and the unit file, so a unit never
// exists without the drop-in that wraps it in the loader.
func TestWriteOrder(t *testing.T) {
	p, err := makePlan(t, strings.Replace(unitConfig, "LOG", "/var/log/m.log", 1), &memHost{files: map[string][]byte{}})
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, ch := range p.Hosts[0].Changes {
		roles = append(roles, ch.Role)
	}
	if got := strings.Join(roles, ","); got != "filter,loader,drop-in,socket unit,unit file" {
		t.Errorf("write order %s", got)
	}
}

// TestUnitValuesCannotInjectSettings checks that a value with a newline or
// a trailing backslash is refused rather than written into a unit file.
func TestUnitValuesCannotInjectSettings(t *testing.T) {
	for _, bad := range []string{`/var/log/m.log\nExecStartPost=+/bin/sh`, `/var/log/m.log\\`} {
		_, err := makePlan(t, strings.Replace(unitConfig, "LOG", bad, 1), &memHost{files: map[string][]byte{}})
		if err == nil || !strings.Contains(err.Error(), `fd "log"`) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
