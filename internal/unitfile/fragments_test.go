package unitfile

import (
	"errors"
	"io/fs"
	"path"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// memFS is a host's files for Fragments: path → content; directories are
// implied by the paths.
type memFS map[string]string

func (m memFS) read(p string) ([]byte, error) {
	if c, ok := m[p]; ok {
		return []byte(c), nil
	}
	return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
}

func (m memFS) readDir(dir string) ([]string, error) {
	seen := map[string]bool{}
	for p := range m {
		if path.Dir(p) == dir {
			seen[path.Base(p)] = true
		}
	}
	if len(seen) == 0 {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: fs.ErrNotExist}
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

var search = []string{"/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system"}

func paths(fr []Fragment) []string {
	var out []string
	for _, f := range fr {
		out = append(out, f.Path)
	}
	return out
}

func TestFragments(t *testing.T) {
	m := memFS{
		"/lib/systemd/system/foo.service":                  "[Service]\nExecStart=/bin/lib\n",
		"/run/systemd/system/foo.service":                  "[Service]\nExecStart=/bin/run\n",
		"/lib/systemd/system/foo.service.d/10-a.conf":      "lib a",
		"/etc/systemd/system/foo.service.d/10-a.conf":      "etc a", // masks lib's 10-a
		"/run/systemd/system/foo.service.d/20-b.conf":      "run b",
		"/lib/systemd/system/foo.service.d/05-c.conf":      "lib c",
		"/etc/systemd/system/foo.service.d/zz-fencer.conf": "fencer",
		"/etc/systemd/system/foo.service.d/.hidden.conf":   "hidden",
		"/etc/systemd/system/foo.service.d/notes.txt":      "not a drop-in",
		"/lib/systemd/system/service.d/10-a.conf":          "type-wide, masked by name",
		"/lib/systemd/system/service.d/30-type.conf":       "type-wide",
		"/etc/systemd/system/bar.service.d/99-x.conf":      "other unit",
	}
	skip := func(p string) bool { return strings.HasSuffix(p, "/zz-fencer.conf") }
	fr, err := Fragments(m.read, m.readDir, search, "foo.service", skip)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/run/systemd/system/foo.service",
		"/lib/systemd/system/foo.service.d/05-c.conf",
		"/etc/systemd/system/foo.service.d/10-a.conf",
		"/run/systemd/system/foo.service.d/20-b.conf",
		"/lib/systemd/system/service.d/30-type.conf",
	}
	if got := paths(fr); !reflect.DeepEqual(got, want) {
		t.Errorf("fragments\n got %q\nwant %q", got, want)
	}
	if string(fr[2].Data) != "etc a" {
		t.Errorf("10-a.conf content %q", fr[2].Data)
	}
	// Without skip, fencer's own drop-in sorts last.
	fr, err = Fragments(m.read, m.readDir, search, "foo.service", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fr[len(fr)-1].Path; got != "/etc/systemd/system/foo.service.d/zz-fencer.conf" {
		t.Errorf("last fragment %s", got)
	}
}

func TestFragmentsTemplates(t *testing.T) {
	m := memFS{
		"/lib/systemd/system/foo-bar@.service":              "[Service]\nExecStart=/bin/t %i\n",
		"/lib/systemd/system/foo-bar@.service.d/10-t.conf":  "template",
		"/etc/systemd/system/foo-bar@x.service.d/20-i.conf": "instance",
		"/etc/systemd/system/foo-bar@y.service.d/20-i.conf": "other instance",
		"/etc/systemd/system/foo-.service.d/30-p.conf":      "prefix, not for templates",
		"/etc/systemd/system/foo-@.service.d/40-pt.conf":    "prefix template",
		"/etc/systemd/system/foo-@x.service.d/50-pi.conf":   "prefix instance",
	}
	fr, err := Fragments(m.read, m.readDir, search, "foo-bar@x.service", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/lib/systemd/system/foo-bar@.service",
		"/lib/systemd/system/foo-bar@.service.d/10-t.conf",
		"/etc/systemd/system/foo-bar@x.service.d/20-i.conf",
		"/etc/systemd/system/foo-.service.d/30-p.conf",
		"/etc/systemd/system/foo-@.service.d/40-pt.conf",
		"/etc/systemd/system/foo-@x.service.d/50-pi.conf",
	}
	if got := paths(fr); !reflect.DeepEqual(got, want) {
		t.Errorf("fragments\n got %q\nwant %q", got, want)
	}

	// An instance's own unit file wins over the template, even in a
	// later directory.
	m["/lib/systemd/system/foo-bar@x.service"] = "[Service]\nExecStart=/bin/i\n"
	m["/etc/systemd/system/foo-bar@.service"] = "[Service]\nExecStart=/bin/t2\n"
	fr, err = Fragments(m.read, m.readDir, search, "foo-bar@x.service", nil)
	if err != nil {
		t.Fatal(err)
	}
	if fr[0].Path != "/lib/systemd/system/foo-bar@x.service" {
		t.Errorf("unit file %s", fr[0].Path)
	}
}

func TestFragmentsPrefixes(t *testing.T) {
	m := memFS{
		"/lib/systemd/system/a-b-c.service":          "[Service]\nExecStart=/bin/x\n",
		"/etc/systemd/system/a-b-.service.d/1.conf":  "ab",
		"/etc/systemd/system/a-.service.d/1.conf":    "a (masked by a-b-)",
		"/etc/systemd/system/a-.service.d/2.conf":    "a",
		"/etc/systemd/system/a-b-c.service.d/3.conf": "abc",
	}
	fr, err := Fragments(m.read, m.readDir, search, "a-b-c.service", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/lib/systemd/system/a-b-c.service",
		"/etc/systemd/system/a-b-.service.d/1.conf",
		"/etc/systemd/system/a-.service.d/2.conf",
		"/etc/systemd/system/a-b-c.service.d/3.conf",
	}
	if got := paths(fr); !reflect.DeepEqual(got, want) {
		t.Errorf("fragments\n got %q\nwant %q", got, want)
	}
}

func TestDropinNames(t *testing.T) {
	tests := map[string][]string{
		"foo.service":         {"foo.service"},
		"foo-bar-baz.service": {"foo-bar-baz.service", "foo-bar-.service", "foo-.service"},
		"-foo.service":        {"-foo.service"},
		"foo@x.service":       {"foo@x.service", "foo@.service"},
		"a-b@x.socket":        {"a-b@x.socket", "a-b@.socket", "a-.socket", "a-@x.socket", "a-@.socket"},
		"a-b@.socket":         {"a-b@.socket", "a-.socket"},
	}
	for in, want := range tests {
		if got := dropinNames(in); !reflect.DeepEqual(got, want) {
			t.Errorf("dropinNames(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestFragmentsMaskedAndMissing(t *testing.T) {
	m := memFS{
		"/etc/systemd/system/foo.service": "", // a link to /dev/null reads as empty
		"/lib/systemd/system/foo.service": "[Service]\nExecStart=/bin/x\n",
	}
	_, err := Fragments(m.read, m.readDir, search, "foo.service", nil)
	if !errors.Is(err, ErrMasked) || !strings.Contains(err.Error(), "/etc/systemd/system/foo.service") {
		t.Errorf("masked: %v", err)
	}
	_, err = Fragments(m.read, m.readDir, search, "nope.service", nil)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	for _, bad := range []string{"../foo.service", "a/b.service", "foo", "foo.bogus", "@x.service", "a@b@c.service", ""} {
		if _, err := Fragments(m.read, m.readDir, search, bad, nil); err == nil {
			t.Errorf("Fragments(%q) accepted the name", bad)
		}
	}
}

func TestFragmentsReadError(t *testing.T) {
	m := memFS{"/etc/systemd/system/foo.service": "[Service]\nExecStart=/bin/x\n"}
	boom := errors.New("refusing: /etc/systemd/system/foo.service.d is a symbolic link")
	readDir := func(p string) ([]string, error) {
		if p == "/etc/systemd/system/foo.service.d" {
			return nil, boom
		}
		return m.readDir(p)
	}
	_, err := Fragments(m.read, readDir, search, "foo.service", nil)
	if !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
}
