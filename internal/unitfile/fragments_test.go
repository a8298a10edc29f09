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

// memFS is a host's files for a Lookup: path → content, and a content
// starting with "->" is a symbolic link to the rest; directories are
// implied by the paths.
type memFS map[string]string

// target resolves the link at p lexically (a relative target from p's
// directory), "" when p is no link.
func (m memFS) target(p string) string {
	c, ok := m[p]
	if !ok || !strings.HasPrefix(c, "->") {
		return ""
	}
	t := c[2:]
	if !path.IsAbs(t) {
		t = path.Join(path.Dir(p), t)
	}
	return path.Clean(t)
}

func (m memFS) read(p string) ([]byte, error) {
	for hops := 0; hops < 40; hops++ {
		if p == "/dev/null" {
			return nil, nil
		}
		c, ok := m[p]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		}
		if t := m.target(p); t != "" {
			p = t
			continue
		}
		return []byte(c), nil
	}
	return nil, &fs.PathError{Op: "open", Path: p, Err: errors.New("too many links")}
}

func (m memFS) readDir(dir string) ([]string, error) {
	seen := map[string]bool{}
	for p := range m {
		for d := p; d != "/"; d = path.Dir(d) {
			if path.Dir(d) == dir {
				seen[path.Base(d)] = true
			}
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

func (m memFS) links(dir string) (map[string]string, error) {
	names, err := m.readDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range names {
		if t := m.target(dir + "/" + n); t != "" {
			out[n] = t
		}
	}
	return out, nil
}

func (m memFS) source() Source { return Source{ReadFile: m.read, ReadDir: m.readDir, Links: m.links} }

// unitOf looks name up in m along search.
func unitOf(t *testing.T, m memFS, search []string, overlay map[string][]byte, name string) (*Unit, error) {
	t.Helper()
	l, err := NewLookup(m.source(), search, overlay)
	if err != nil {
		t.Fatal(err)
	}
	return l.Unit(name)
}

// fragments returns the unit's fragments, failing the test on an error.
func fragments(t *testing.T, m memFS, name string) []Fragment {
	t.Helper()
	u, err := unitOf(t, m, search, nil, name)
	if err != nil {
		t.Fatal(err)
	}
	return u.Fragments
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
	fr := fragments(t, m, "foo.service")
	want := []string{
		"/run/systemd/system/foo.service",
		"/lib/systemd/system/foo.service.d/05-c.conf",
		"/etc/systemd/system/foo.service.d/10-a.conf",
		"/run/systemd/system/foo.service.d/20-b.conf",
		"/lib/systemd/system/service.d/30-type.conf",
		"/etc/systemd/system/foo.service.d/zz-fencer.conf",
	}
	if got := paths(fr); !reflect.DeepEqual(got, want) {
		t.Errorf("fragments\n got %q\nwant %q", got, want)
	}
	if string(fr[2].Data) != "etc a" {
		t.Errorf("10-a.conf content %q", fr[2].Data)
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
	fr := fragments(t, m, "foo-bar@x.service")
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
	fr = fragments(t, m, "foo-bar@x.service")
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
	fr := fragments(t, m, "a-b-c.service")
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
	_, err := unitOf(t, m, search, nil, "foo.service")
	if !errors.Is(err, ErrMasked) || !strings.Contains(err.Error(), "/etc/systemd/system/foo.service") {
		t.Errorf("masked: %v", err)
	}
	_, err = unitOf(t, m, search, nil, "nope.service")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	for _, bad := range []string{"../foo.service", "a/b.service", "foo", "foo.bogus", "@x.service", "a b.service", ""} {
		if _, err := unitOf(t, m, search, nil, bad); err == nil {
			t.Errorf("Unit(%q) accepted the name", bad)
		}
	}
}

func TestFragmentsReadError(t *testing.T) {
	m := memFS{"/etc/systemd/system/foo.service": "[Service]\nExecStart=/bin/x\n", "/etc/systemd/system/foo.service.d/a.conf": ""}
	boom := errors.New("refusing: /etc/systemd/system/foo.service.d is a symbolic link")
	readDir := func(p string) ([]string, error) {
		if p == "/etc/systemd/system/foo.service.d" {
			return nil, boom
		}
		return m.readDir(p)
	}
	src := m.source()
	src.ReadDir = readDir
	l, err := NewLookup(src, search, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Unit("foo.service")
	if !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
}

// TestLookupAliases lays out the cases of systemd 252's name map that
// TestFragmentsAgreeWithSystemd (package host) checks against a real
// manager.
func TestLookupAliases(t *testing.T) {
	const (
		ctl = "/etc/systemd/system.control"
		etc = "/etc/systemd/system"
		run = "/run/systemd/system"
		lib = "/lib/systemd/system"
	)
	search := []string{ctl, etc, run, lib}
	m := memFS{
		// An alias: its drop-ins count, after the unit's own.
		lib + "/sl.service":                       "[Service]\nExecStart=/bin/sl\n",
		etc + "/slalias.service":                  "->sl.service",
		etc + "/slalias.service.d/zzz-local.conf": "[Service]\nExecStart=\n",
		etc + "/slalias.service.d/10-x.conf":      "alias's 10-x, masked by the unit's",
		lib + "/sl.service.d/10-x.conf":           "unit's 10-x",
		// Enabling a unit with Alias= makes an absolute link.
		etc + "/sshd.service": "->" + lib + "/ssh.service",
		lib + "/ssh.service":  "[Service]\nExecStart=/usr/sbin/sshd -D\n",
		// A chain of aliases.
		etc + "/a1.service": "->a2.service",
		run + "/a2.service": "->sl.service",
		// A template, its alias, an instance's drop-ins.
		lib + "/t@.service":                  "[Service]\nExecStart=/bin/t %i\n",
		etc + "/talias@.service":             "->t@.service",
		etc + "/talias@.service.d/ta.conf":   "ta",
		etc + "/talias@x.service.d/tax.conf": "tax",
		etc + "/t@x.service.d/tx.conf":       "tx",
		etc + "/other@y.service":             "->t@.service",
		// A linked unit file (outside the search path) and a mask.
		etc + "/elink.service":  "->/opt/e/e.service",
		"/opt/e/e.service":      "[Service]\nExecStart=/bin/e\n",
		etc + "/masked.service": "->/dev/null",
		lib + "/masked.service": "[Service]\nExecStart=/bin/m\n",
		// A link in a subdirectory's unit is a dangling alias.
		etc + "/c2.service":    "->sub/c.service",
		etc + "/sub/c.service": "[Service]\nExecStart=/bin/c\n",
		// Invalid aliases are ignored: a later file of the name counts.
		ctl + "/f.service": "->" + lib + "/b.socket",
		etc + "/f.service": "[Service]\nExecStart=/bin/f\n",
		// A link to the file of the same name elsewhere is ignored.
		etc + "/g.service":          "->" + lib + "/g.service",
		lib + "/g.service":          "[Service]\nExecStart=/bin/g\n",
		etc + "/g.service.d/g.conf": "g",
		// A loop.
		etc + "/loop1.service": "->loop2.service",
		etc + "/loop2.service": "->loop1.service",
		// A higher-priority alias hides a unit file of the name.
		ctl + "/hidden.service": "->sl.service",
		etc + "/hidden.service": "[Service]\nExecStart=/bin/hidden\n",
	}
	l, err := NewLookup(m.source(), search, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, id, link, to string
		names, frags       []string
	}{
		{name: "sl.service", id: "sl.service", names: []string{"a1.service", "a2.service", "hidden.service", "sl.service", "slalias.service"},
			frags: []string{lib + "/sl.service", lib + "/sl.service.d/10-x.conf", etc + "/slalias.service.d/zzz-local.conf"}},
		{name: "slalias.service", id: "sl.service", link: etc + "/slalias.service", to: "sl.service",
			names: []string{"a1.service", "a2.service", "hidden.service", "sl.service", "slalias.service"},
			frags: []string{lib + "/sl.service", lib + "/sl.service.d/10-x.conf", etc + "/slalias.service.d/zzz-local.conf"}},
		{name: "a1.service", id: "sl.service", link: etc + "/a1.service", to: "a2.service",
			names: []string{"a1.service", "a2.service", "hidden.service", "sl.service", "slalias.service"},
			frags: []string{lib + "/sl.service", lib + "/sl.service.d/10-x.conf", etc + "/slalias.service.d/zzz-local.conf"}},
		{name: "hidden.service", id: "sl.service", link: ctl + "/hidden.service", to: "sl.service",
			names: []string{"a1.service", "a2.service", "hidden.service", "sl.service", "slalias.service"},
			frags: []string{lib + "/sl.service", lib + "/sl.service.d/10-x.conf", etc + "/slalias.service.d/zzz-local.conf"}},
		{name: "ssh.service", id: "ssh.service", names: []string{"ssh.service", "sshd.service"}, frags: []string{lib + "/ssh.service"}},
		{name: "sshd.service", id: "ssh.service", link: etc + "/sshd.service", to: "ssh.service",
			names: []string{"ssh.service", "sshd.service"}, frags: []string{lib + "/ssh.service"}},
		{name: "t@x.service", id: "t@x.service", names: []string{"t@x.service", "talias@x.service"},
			frags: []string{lib + "/t@.service", etc + "/talias@.service.d/ta.conf", etc + "/talias@x.service.d/tax.conf", etc + "/t@x.service.d/tx.conf"}},
		{name: "talias@x.service", id: "t@x.service", link: etc + "/talias@.service", to: "t@.service",
			names: []string{"t@x.service", "talias@x.service"},
			frags: []string{lib + "/t@.service", etc + "/talias@.service.d/ta.conf", etc + "/talias@x.service.d/tax.conf", etc + "/t@x.service.d/tx.conf"}},
		{name: "t@y.service", id: "t@y.service", names: []string{"other@y.service", "t@y.service", "talias@y.service"},
			frags: []string{lib + "/t@.service", etc + "/talias@.service.d/ta.conf"}},
		{name: "other@y.service", id: "t@y.service", link: etc + "/other@y.service", to: "t@.service",
			names: []string{"other@y.service", "t@y.service", "talias@y.service"},
			frags: []string{lib + "/t@.service", etc + "/talias@.service.d/ta.conf"}},
		{name: "elink.service", id: "elink.service", names: []string{"elink.service"}, frags: []string{etc + "/elink.service"}},
		{name: "f.service", id: "f.service", names: []string{"f.service"}, frags: []string{etc + "/f.service"}},
		{name: "g.service", id: "g.service", names: []string{"g.service"}, frags: []string{lib + "/g.service", etc + "/g.service.d/g.conf"}},
	} {
		u, err := l.Unit(tc.name)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if u.ID != tc.id || u.Link != tc.link || u.LinkTo != tc.to || !reflect.DeepEqual(u.Names, tc.names) || !reflect.DeepEqual(paths(u.Fragments), tc.frags) {
			t.Errorf("%s:\n got id %s link %q → %q names %q\n  fragments %q\nwant id %s link %q → %q names %q\n  fragments %q",
				tc.name, u.ID, u.Link, u.LinkTo, u.Names, paths(u.Fragments), tc.id, tc.link, tc.to, tc.names, tc.frags)
		}
	}
	if u, err := l.Unit("elink.service"); err == nil && string(u.Fragments[0].Data) != "[Service]\nExecStart=/bin/e\n" {
		t.Errorf("linked unit file read as %q", u.Fragments[0].Data)
	}
	for name, want := range map[string]error{"masked.service": ErrMasked, "c2.service": ErrNotFound, "c.service": ErrNotFound, "loop1.service": errLoop} {
		if _, err := l.Unit(name); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	if _, err := l.Unit("c2.service"); err == nil || !strings.Contains(err.Error(), "the alias "+etc+"/c2.service → c.service leads to no unit file") {
		t.Errorf("c2.service: %v", err)
	}
	if got := l.Names(".service"); !contains(got, "talias@.service") || contains(got, "f.service") && l.ids["f.service"].path != etc+"/f.service" {
		t.Errorf("Names: %q", got)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestLookupAmbiguousDropIns: two aliases with drop-ins of the same name,
// which systemd picks from in hash order.
func TestLookupAmbiguousDropIns(t *testing.T) {
	m := memFS{
		"/lib/systemd/system/b.service":                 "[Service]\nExecStart=/bin/b\n",
		"/etc/systemd/system/b1.service":                "->b.service",
		"/etc/systemd/system/b2.service":                "->b.service",
		"/etc/systemd/system/b1.service.d/same.conf":    "1",
		"/etc/systemd/system/b2.service.d/same.conf":    "2",
		"/etc/systemd/system/b2.service.d/other.conf":   "2",
		"/run/systemd/system/b.service.d/decided.conf":  "the unit's own wins",
		"/etc/systemd/system/b1.service.d/decided.conf": "1",
		"/etc/systemd/system/b2.service.d/decided.conf": "2",
	}
	_, err := unitOf(t, m, search, nil, "b.service")
	if err == nil || !strings.Contains(err.Error(), "/etc/systemd/system/b1.service.d/same.conf (for its name b1.service) and /etc/systemd/system/b2.service.d/same.conf (for its name b2.service) have the same file name") {
		t.Fatalf("err = %v", err)
	}
	delete(m, "/etc/systemd/system/b1.service.d/same.conf")
	u, err := unitOf(t, m, search, nil, "b.service")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/lib/systemd/system/b.service", "/run/systemd/system/b.service.d/decided.conf",
		"/etc/systemd/system/b2.service.d/other.conf", "/etc/systemd/system/b2.service.d/same.conf"}
	if got := paths(u.Fragments); !reflect.DeepEqual(got, want) {
		t.Errorf("fragments\n got %q\nwant %q", got, want)
	}
}

// TestLookupOverlay: a file fencer writes stands where it is written: it
// replaces a link of its name, and a copy earlier on the search path
// still wins over it.
func TestLookupOverlay(t *testing.T) {
	const own = "/etc/systemd/system/m.service"
	overlay := map[string][]byte{own: []byte("[Service]\nExecStart=/bin/fencer-unit\n")}
	m := memFS{
		own:                                 "->other.service",
		"/lib/systemd/system/other.service": "[Service]\nExecStart=/bin/other\n",
		"/lib/systemd/system/m.service":     "[Service]\nExecStart=/bin/vendor\n",
	}
	u, err := unitOf(t, m, search, overlay, "m.service")
	if err != nil || u.ID != "m.service" || u.Fragments[0].Path != own || string(u.Fragments[0].Data) != string(overlay[own]) {
		t.Fatalf("%+v %v", u, err)
	}
	// Not written yet: the overlay is listed all the same.
	delete(m, own)
	if u, err := unitOf(t, m, search, overlay, "m.service"); err != nil || u.Fragments[0].Path != own {
		t.Fatalf("%+v %v", u, err)
	}
	for _, higher := range []string{"/etc/systemd/system.control/m.service"} {
		m[higher] = "[Service]\nSockets=other.socket\n"
		u, err := unitOf(t, m, append([]string{"/etc/systemd/system.control"}, search...), overlay, "m.service")
		if err != nil || u.Fragments[0].Path != higher {
			t.Errorf("%s: %+v %v", higher, u, err)
		}
		delete(m, higher)
	}
}
