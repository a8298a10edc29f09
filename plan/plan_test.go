package plan

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/configtest"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/plan/loader"
)

// memHost is a host whose files live in a map.
type memHost struct {
	files map[string][]byte
	// links are symbolic links: path → target as written.
	links map[string]string
	// systemd is the version the host reports, 252 when 0.
	systemd int
	modes   map[string]fs.FileMode // 0644 when absent
	// sysd is what the host's systemd knows; nil when it cannot say.
	sysd *host.SystemdFacts
	arch string // "" for x86_64
	// reads counts ReadFile's reads of each path, when not nil.
	reads map[string]int
}

func (m *memHost) Name() string { return "mem" }

func (m *memHost) Facts(context.Context) (*host.Facts, error) {
	v := m.systemd
	if v == 0 {
		v = 252
	}
	a := m.arch
	if a == "" {
		a = "x86_64"
	}
	return &host.Facts{Arch: a, SystemdVersion: v, Scope: "system", Paths: host.SystemPaths, UnitSearchPath: host.SystemUnitSearchPath, Systemd: m.sysd}, nil
}

// target resolves a link lexically, "" for no link.
func (m *memHost) target(p string) string {
	t, ok := m.links[p]
	if !ok {
		return ""
	}
	if !path.IsAbs(t) {
		t = path.Join(path.Dir(p), t)
	}
	return path.Clean(t)
}

func (m *memHost) ReadFile(_ context.Context, p string) ([]byte, fs.FileMode, error) {
	if m.reads != nil {
		m.reads[p]++
	}
	for hops := 0; m.target(p) != "" && hops < 40; hops++ {
		p = m.target(p)
	}
	if p == "/dev/null" {
		return nil, fs.ModeDevice | fs.ModeCharDevice | 0o666, nil
	}
	b, ok := m.files[p]
	if !ok {
		return nil, 0, fs.ErrNotExist
	}
	if mode, ok := m.modes[p]; ok {
		return b, mode, nil
	}
	return b, 0o644, nil
}

// FileMode is ReadFile's mode, without counting as a read.
func (m *memHost) FileMode(ctx context.Context, p string) (fs.FileMode, error) {
	reads := m.reads[p]
	_, mode, err := m.ReadFile(ctx, p)
	if m.reads != nil {
		m.reads[p] = reads
	}
	return mode, err
}

func (m *memHost) ReadDir(_ context.Context, p string) ([]string, error) {
	seen := map[string]bool{}
	add := func(f string) {
		for d := f; d != "/"; d = path.Dir(d) {
			if path.Dir(d) == p {
				seen[path.Base(d)] = true
			}
		}
	}
	for f := range m.files {
		add(f)
	}
	for f := range m.links {
		add(f)
	}
	if len(seen) == 0 {
		return nil, fs.ErrNotExist
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

func (m *memHost) Links(ctx context.Context, p string) (map[string]string, error) {
	names, err := m.ReadDir(ctx, p)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range names {
		if t := m.target(p + "/" + n); t != "" {
			out[n] = t
		}
	}
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
	cfg := configtest.Parse(t, src)
	p, diags := Make(context.Background(), cfg, Options{Hosts: map[string]host.Reader{"local": h},
		Loader: loader.SetOf(&loader.Binary{Data: []byte("loader"), Arch: "x86_64"})})
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
		roles = append(roles, ch.Role.String())
	}
	if got := strings.Join(roles, ","); got != "filter,loader,drop-in,socket unit,unit file" {
		t.Errorf("write order %s", got)
	}
}

// TestLoaderPresentNotRead: a loader already at fencer_path is left
// alone, and plan does not read it (over SSH that is the whole binary,
// about 14 MB, from every host on every plan); a host without one gets
// it.
func TestLoaderPresentNotRead(t *testing.T) {
	const loaderPath = "/usr/local/bin/fencer"
	h := &memHost{files: map[string][]byte{}, reads: map[string]int{}}
	p, err := makePlan(t, strings.Replace(unitConfig, "LOG", "/var/log/m.log", 1), h)
	if err != nil {
		t.Fatal(err)
	}
	installs := func(p *Plan) bool {
		return slices.ContainsFunc(p.Hosts[0].Changes, func(ch *Change) bool { return ch.Role == RoleLoader && ch.Path == loaderPath })
	}
	if !installs(p) {
		t.Fatalf("a host without the loader does not get it: %v", p.Hosts[0].Changes)
	}
	applyTo(h, p.Hosts[0])
	clear(h.reads)
	p, err = makePlan(t, strings.Replace(unitConfig, "LOG", "/var/log/m.log", 1), h)
	if err != nil {
		t.Fatal(err)
	}
	if installs(p) {
		t.Errorf("after applying, the plan installs the loader again")
	}
	if n := h.reads[loaderPath]; n != 0 {
		t.Errorf("plan read the loader %d times; want it only checked", n)
	}
}

// vendorConfig wraps the host's unit: it has no unit_file.
const vendorConfig = `service "m" {
  unit = "m.service"
  fd "sock" {
    listen_stream = "127.0.0.1:80"
  }
  rule "start" {
    syscalls = ["execve", "exit_group"]
  }
}
`

// applyTo writes a host plan's changes into the host's files, as apply
// would.
func applyTo(h *memHost, hp *HostPlan) {
	for _, ch := range hp.Changes {
		switch ch.Action {
		case Delete:
			delete(h.files, ch.Path)
		case Create, Update:
			h.files[ch.Path] = ch.Content
		}
	}
}

// inputsNow reads the host plan's inputs again and compares them.
func inputsNow(t *testing.T, h *memHost, hp *HostPlan) *InputChange {
	t.Helper()
	facts, _ := h.Facts(context.Background())
	now, err := ReadInputs(context.Background(), h, facts, hp)
	if err != nil {
		t.Fatal(err)
	}
	return DiffInputs(hp.Inputs, now)
}

// TestInputs checks that a plan records the unit file and drop-ins it
// read, but not the files it writes, and that reading them again finds
// every change, new drop-in and removed drop-in, and nothing else.
func TestInputs(t *testing.T) {
	const unit, admin = "/lib/systemd/system/m.service", "/etc/systemd/system/m.service.d/50-admin.conf"
	host := func() *memHost {
		return &memHost{files: map[string][]byte{
			unit:  []byte("[Service]\nExecStart=/usr/bin/m --old\n"),
			admin: []byte("[Service]\nEnvironment=A=1\n"),
		}}
	}
	h := host()
	p, err := makePlan(t, vendorConfig, h)
	if err != nil {
		t.Fatal(err)
	}
	hp := p.Hosts[0]
	if len(hp.Inputs) != 1 || hp.Inputs[0].Unit != "m.service" {
		t.Fatalf("inputs %+v", hp.Inputs)
	}
	var got []string
	for _, f := range hp.Inputs[0].Fragments {
		got = append(got, f.Path+" "+f.SHA256[:8])
	}
	if want := []string{unit + " " + Hash(h.files[unit])[:8], admin + " " + Hash(h.files[admin])[:8]}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("inputs %q, want %q", got, want)
	}
	if d := inputsNow(t, h, hp); d != nil {
		t.Errorf("unchanged host: %+v", d)
	}
	// Applied, the plan's own files (fencer's drop-in above all) are no
	// inputs of it.
	applied := host()
	applyTo(applied, hp)
	if d := inputsNow(t, applied, hp); d != nil {
		t.Errorf("after applying: %+v", d)
	}

	for _, tc := range []struct {
		name, path, what string
		edit             func(map[string][]byte)
	}{
		{"vendor upgrade", unit, "changed", func(f map[string][]byte) { f[unit] = []byte("[Service]\nExecStart=/usr/bin/m --new\n") }},
		{"late drop-in", "/run/systemd/system/m.service.d/zzz-late.conf", "appeared",
			func(f map[string][]byte) {
				f["/run/systemd/system/m.service.d/zzz-late.conf"] = []byte("[Service]\nSystemCallFilter=\n")
			}},
		{"type-wide drop-in", "/etc/systemd/system/service.d/10-all.conf", "appeared",
			func(f map[string][]byte) { f["/etc/systemd/system/service.d/10-all.conf"] = []byte("[Service]\n") }},
		{"removed drop-in", admin, "disappeared", func(f map[string][]byte) { delete(f, admin) }},
		{"shadowed unit", "/etc/systemd/system/m.service", "appeared",
			func(f map[string][]byte) {
				f["/etc/systemd/system/m.service"] = []byte("[Service]\nExecStart=/usr/bin/m --old\n")
			}},
		{"shadowed drop-in", "/etc/systemd/system.control/m.service.d/50-admin.conf", "appeared",
			func(f map[string][]byte) {
				f["/etc/systemd/system.control/m.service.d/50-admin.conf"] = []byte("[Service]\nEnvironment=A=1\n")
			}},
	} {
		h := host()
		tc.edit(h.files)
		d := inputsNow(t, h, hp)
		if d == nil || d.Path != tc.path || d.What != tc.what || d.Unit != "m.service" {
			t.Errorf("%s: %+v, want %s %s", tc.name, d, tc.path, tc.what)
		}
	}
	// A file that is no input changes nothing.
	h = host()
	h.files["/etc/systemd/system/m.service.d/notes.txt"] = []byte("x")
	h.files["/etc/systemd/system/other.service"] = []byte("[Service]\nExecStart=/bin/true\n")
	if d := inputsNow(t, h, hp); d != nil {
		t.Errorf("unrelated files: %+v", d)
	}
}

// TestInputsWithUnitFile checks that the unit file fencer installs is no
// input (it is a change of its own), stands in for the host's when the
// inputs are read again before it is written, and hides a vendor unit of
// the same name.
func TestInputsWithUnitFile(t *testing.T) {
	h := &memHost{files: map[string][]byte{
		"/lib/systemd/system/m.service":                  []byte("[Service]\nExecStart=/usr/bin/vendor\n"),
		"/lib/systemd/system/m.service.d/10-vendor.conf": []byte("[Service]\nEnvironment=A=1\n"),
	}}
	p, err := makePlan(t, strings.Replace(unitConfig, "LOG", "/var/log/m.log", 1), h)
	if err != nil {
		t.Fatal(err)
	}
	hp := p.Hosts[0]
	if len(hp.Inputs) != 1 || len(hp.Inputs[0].Fragments) != 1 || hp.Inputs[0].Fragments[0].Path != "/lib/systemd/system/m.service.d/10-vendor.conf" {
		t.Fatalf("inputs %+v", hp.Inputs)
	}
	if d := inputsNow(t, h, hp); d != nil {
		t.Errorf("before apply: %+v", d)
	}
	h.files["/lib/systemd/system/m.service"] = []byte("[Service]\nExecStart=/usr/bin/vendor --new\n")
	if d := inputsNow(t, h, hp); d != nil {
		t.Errorf("a vendor unit fencer's unit file hides: %+v", d)
	}
	// A copy earlier on the search path wins over fencer's in systemd:
	// the plan was made for fencer's.
	h.files["/etc/systemd/system.control/m.service"] = []byte("[Service]\nExecStart=/usr/bin/other\n")
	if d := inputsNow(t, h, hp); d == nil || d.Path != "/etc/systemd/system.control/m.service" || d.What != "appeared" {
		t.Errorf("a unit file before fencer's on the search path: %+v", d)
	}
}

// TestInputsSurviveJSON checks that a saved plan keeps its inputs and
// that the format version says so.
func TestInputsSurviveJSON(t *testing.T) {
	h := &memHost{files: map[string][]byte{"/lib/systemd/system/m.service": []byte("[Service]\nExecStart=/usr/bin/m\n")}}
	p, err := makePlan(t, vendorConfig, h)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, p); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Hosts[0].Inputs, p.Hosts[0].Inputs) || len(back.Hosts[0].Inputs[0].Fragments) != 1 {
		t.Errorf("inputs %+v, saved %+v", back.Hosts[0].Inputs, p.Hosts[0].Inputs)
	}
	buf.Reset()
	if err := WriteJSON(&buf, p); err != nil {
		t.Fatal(err)
	}
	old := strings.Replace(buf.String(), fmt.Sprintf(`"format_version": %d`, FormatVersion), `"format_version": 1`, 1)
	if _, err := ReadJSON(strings.NewReader(old)); err == nil || !strings.Contains(err.Error(), "format version 1") {
		t.Errorf("a version 1 plan: %v", err)
	}
	// A version 3 plan, whose enforcement and notes were sentences, is
	// refused for its version, not for its shape.
	v3 := `{"format_version": 3, "config_id": "c", "hosts": [{"name": "h", "scope": "system", "arch": "x86_64",
	  "services": [{"name": "m", "unit": "m.service", "enforcement": ["syscall names (3): systemd SystemCallFilter=, as well"]}],
	  "notes": ["/etc/systemd/system/x.socket (socket unit) is not fencer's (it has no fencer header): destroy leaves it"]}]}`
	if _, err := ReadJSON(strings.NewReader(v3)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("format version 3 is an older fencer's; this fencer reads version %d: make a new plan with this fencer", FormatVersion)) {
		t.Errorf("a version 3 plan: %v", err)
	}
	newer := strings.Replace(buf.String(), fmt.Sprintf(`"format_version": %d`, FormatVersion), `"format_version": 99`, 1)
	if _, err := ReadJSON(strings.NewReader(newer)); err == nil || !strings.Contains(err.Error(), "format version 99 is a newer fencer's") {
		t.Errorf("a version 99 plan: %v", err)
	}
}

// TestForeignSockets checks that plan refuses whatever would pass the
// service fds besides fencer's socket unit, or before it — Sockets= in the
// unit or a drop-in, another socket unit that triggers the service, a
// drop-in of fencer's socket unit that listens on more — naming the file,
// and accepts what passes none.
func TestForeignSockets(t *testing.T) {
	const unit = "/lib/systemd/system/m.service"
	vendor := []byte("[Service]\nExecStart=/usr/bin/m\n")
	openFileOnly := strings.Replace(vendorConfig, `listen_stream = "127.0.0.1:80"`, `open_file = "/etc/m.conf:conf:read-only"`, 1)
	stdoutOnly := strings.Replace(vendorConfig, `listen_stream = "127.0.0.1:80"`, `stdout = "journal"`, 1)
	for _, tc := range []struct {
		name   string
		config string
		files  map[string]string
		// bad is the file the error must name, "" when the plan must
		// succeed; want is a part of the error.
		bad, want string
	}{
		{"Sockets= in the unit", vendorConfig, map[string]string{unit: "[Service]\nExecStart=/usr/bin/m\nSockets=aaa.socket\n"},
			unit, `line 3 sets Sockets=aaa.socket: systemd passes the fds of those socket units to m.service before fencer's`},
		{"Sockets= in an early drop-in", vendorConfig, map[string]string{"/etc/systemd/system/m.service.d/10-s.conf": "[Service]\nSockets=\nSockets=aaa.socket bbb.socket\n"},
			"/etc/systemd/system/m.service.d/10-s.conf", `fencer cannot guarantee the fd numbers of the policy (fd "sock" is to be 3)`},
		{"Sockets= for open_file", openFileOnly, map[string]string{unit: "[Service]\nExecStart=/usr/bin/m\nSockets=aaa.socket\n"},
			unit, `(fd "sock" is to be 3)`},
		{"an empty Sockets=", vendorConfig, map[string]string{"/etc/systemd/system/m.service.d/10-s.conf": "[Service]\nSockets=\n"}, "", ""},
		{"Sockets= and no numbered fd", stdoutOnly, map[string]string{unit: "[Service]\nExecStart=/usr/bin/m\nSockets=aaa.socket\n"}, "", ""},
		{"Service= names the unit", vendorConfig, map[string]string{"/lib/systemd/system/other.socket": "[Socket]\nListenStream=81\nService=m.service\n"},
			"/lib/systemd/system/other.socket", "this socket unit passes its fds to m.service too (its Service= (/lib/systemd/system/other.socket:3) names m.service)"},
		{"Service= with a specifier", vendorConfig, map[string]string{"/run/systemd/system/m-extra.socket": "[Socket]\nListenStream=81\nService=%p.service\n"}, "", ""},
		{"Service= in a drop-in", vendorConfig, map[string]string{
			"/lib/systemd/system/other.socket":                "[Socket]\nListenStream=81\n",
			"/etc/systemd/system/other.socket.d/50-to-m.conf": "[Socket]\nService=m.service\n",
		}, "/lib/systemd/system/other.socket", "(/etc/systemd/system/other.socket.d/50-to-m.conf:2) names m.service"},
		// systemd 252's unit_name_printf expands %j (the last dash
		// component of the prefix), and names of the host (%H, %u, %a,
		// ...), which fencer cannot know: such a Service= may name the
		// unit.
		{"Service= with %j", vendorConfig, map[string]string{"/run/systemd/system/x-m.socket": "[Socket]\nListenStream=81\nService=%j.service\n"},
			"/run/systemd/system/x-m.socket", "its Service= (/run/systemd/system/x-m.socket:3) names m.service"},
		{"Service= with the host's name", vendorConfig, map[string]string{"/lib/systemd/system/other.socket": "[Socket]\nListenStream=81\nService=%H.service\n"},
			"/lib/systemd/system/other.socket", "its Service= (/lib/systemd/system/other.socket:3) is %H.service, which names m.service on a host whose %H makes it so"},
		{"Service= with the host's name for another unit", vendorConfig, map[string]string{"/lib/systemd/system/other.socket": "[Socket]\nListenStream=81\nService=x-%H.service\n"}, "", ""},
		// An assignment systemd ignores (an unknown specifier, not a
		// service's name) leaves the one before it in force.
		{"Service= then one with an unknown specifier", vendorConfig, map[string]string{"/lib/systemd/system/other.socket": "[Socket]\nListenStream=81\nService=m.service\nService=%x.service\n"},
			"/lib/systemd/system/other.socket", "its Service= (/lib/systemd/system/other.socket:3) names m.service"},
		{"Service= then a template", vendorConfig, map[string]string{"/lib/systemd/system/other.socket": "[Socket]\nListenStream=81\nService=m.service\nService=other@.service\n"},
			"/lib/systemd/system/other.socket", "its Service= (/lib/systemd/system/other.socket:3) names m.service"},
		// A template socket's instances, which a link in a .wants
		// directory or a start starts, take their instance as %i.
		{"a template socket whose Service= is its instance", vendorConfig, map[string]string{"/etc/systemd/system/t@.socket": "[Socket]\nListenStream=81\nService=%i.service\n"},
			"/etc/systemd/system/t@.socket", "its Service= (/etc/systemd/system/t@.socket:3) is %i.service, which names m.service for an instance of t@.socket"},
		{"a template socket for other services", vendorConfig, map[string]string{"/etc/systemd/system/t@.socket": "[Socket]\nListenStream=81\nService=t-%i.service\n"}, "", ""},
		{"Service= names another unit", vendorConfig, map[string]string{"/lib/systemd/system/other.socket": "[Socket]\nListenStream=81\nService=other-thing.service\n"}, "", ""},
		{"a socket of the unit's name before fencer's", vendorConfig, map[string]string{"/etc/systemd/system.control/m.socket": "[Socket]\nListenStream=81\n"},
			"/etc/systemd/system.control/m.socket", "systemd reads it instead of fencer's /etc/systemd/system/m.socket"},
		{"a socket of the unit's name after fencer's", vendorConfig, map[string]string{"/lib/systemd/system/m.socket": "[Socket]\nListenStream=81\n"}, "", ""},
		{"a socket of the unit's name for open_file", openFileOnly, map[string]string{"/lib/systemd/system/m.socket": "[Socket]\nListenStream=81\n"},
			"/lib/systemd/system/m.socket", "it has the name of m.service and no Service=, so it starts that service"},
		{"an accepting socket with Service=", vendorConfig, map[string]string{"/lib/systemd/system/other.socket": "[Socket]\nListenStream=81\nAccept=yes\nService=m.service\n"}, "", ""},
		{"an accepting socket of the unit's name", openFileOnly, map[string]string{"/lib/systemd/system/m.socket": "[Socket]\nListenStream=81\nAccept=yes\n"}, "", ""},
		{"a masked socket", vendorConfig, map[string]string{"/lib/systemd/system/other.socket": ""}, "", ""},
		{"a drop-in of fencer's socket that listens on more", vendorConfig, map[string]string{"/run/systemd/system/m.socket.d/10-more.conf": "[Socket]\nListenStream=82\n"},
			"/run/systemd/system/m.socket.d/10-more.conf", "line 2 sets ListenStream= for fencer's socket unit m.socket"},
		{"a type-wide socket drop-in that accepts", vendorConfig, map[string]string{"/etc/systemd/system/socket.d/10-accept.conf": "[Socket]\nAccept=yes\n"},
			"/etc/systemd/system/socket.d/10-accept.conf", "sets Accept= for fencer's socket unit m.socket"},
		{"a harmless drop-in of fencer's socket", vendorConfig, map[string]string{"/run/systemd/system/m.socket.d/10-backlog.conf": "[Socket]\nBacklog=16\n"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &memHost{files: map[string][]byte{unit: vendor}, systemd: 253}
			for p, c := range tc.files {
				h.files[p] = []byte(c)
			}
			_, err := makePlan(t, tc.config, h)
			switch {
			case tc.bad == "" && err != nil:
				t.Errorf("plan: %v", err)
			case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), `service "m": `+tc.bad+": ") || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("plan: %v\nwant an error naming %s: %s", err, tc.bad, tc.want)
			case err != nil:
				t.Logf("%v", err)
			}
		})
	}
}

// TestSocketInputs checks that a socket unit that would feed the service,
// or a change to a drop-in of fencer's socket unit, after the plan was
// made makes the plan stale.
func TestSocketInputs(t *testing.T) {
	const backlog = "/run/systemd/system/m.socket.d/10-backlog.conf"
	h := &memHost{files: map[string][]byte{
		"/lib/systemd/system/m.service": []byte("[Service]\nExecStart=/usr/bin/m\n"),
		backlog:                         []byte("[Socket]\nBacklog=16\n"),
		"/lib/systemd/system/x.socket":  []byte("[Socket]\nListenStream=81\n"),
	}}
	p, err := makePlan(t, vendorConfig, h)
	if err != nil {
		t.Fatal(err)
	}
	hp := p.Hosts[0]
	if s := hp.Inputs[0].Sockets; len(s) != 1 || s[0].Path != backlog {
		t.Errorf("socket inputs %+v", s)
	}
	applied := &memHost{files: map[string][]byte{}}
	for k, v := range h.files {
		applied.files[k] = v
	}
	applyTo(applied, hp)
	if d := inputsNow(t, applied, hp); d != nil {
		t.Errorf("after applying: %+v", d)
	}
	h.files["/etc/systemd/system/x.socket.d/10-to-m.conf"] = []byte("[Socket]\nService=m.service\n")
	if d := inputsNow(t, h, hp); d == nil || d.Path != "/lib/systemd/system/x.socket" || d.What != "appeared" || !strings.Contains(d.Role, "socket units that pass fds to m.service") {
		t.Errorf("a socket unit now feeding the service: %+v", d)
	}
	delete(h.files, "/etc/systemd/system/x.socket.d/10-to-m.conf")
	h.files[backlog] = []byte("[Socket]\nBacklog=16\nListenStream=82\n")
	if d := inputsNow(t, h, hp); d == nil || d.Path != backlog || d.What != "changed" {
		t.Errorf("a drop-in of fencer's socket unit changed: %+v", d)
	}
}

// TestIgnoreSIGPIPE checks that the loader leaves SIGPIPE at its default
// action, as systemd would, when the unit's last valid IgnoreSIGPIPE= is
// no, and ignores it (its own default, and systemd's) otherwise.
func TestIgnoreSIGPIPE(t *testing.T) {
	const unit, dropIn = "/lib/systemd/system/m.service", "/etc/systemd/system/m.service.d/50-pipe.conf"
	for _, tc := range []struct {
		name        string
		unit, drop  string
		wantDefault bool
	}{
		{"systemd's default", "", "", false},
		{"no", "IgnoreSIGPIPE=no\n", "", true},
		{"false in a drop-in", "", "IgnoreSIGPIPE=false\n", true},
		{"yes", "IgnoreSIGPIPE=yes\n", "", false},
		{"a drop-in says yes again", "IgnoreSIGPIPE=no\n", "IgnoreSIGPIPE=1\n", false},
		{"a drop-in says no", "IgnoreSIGPIPE=yes\n", "IgnoreSIGPIPE=off\n", true},
		{"an invalid value is ignored", "IgnoreSIGPIPE=no\n", "IgnoreSIGPIPE=maybe\nIgnoreSIGPIPE=\n", true},
		{"another section", "", "[Unit]\nIgnoreSIGPIPE=no\n", false},
	} {
		h := &memHost{files: map[string][]byte{unit: []byte("[Service]\nExecStart=/usr/bin/m --flag\n" + tc.unit)}}
		if tc.drop != "" {
			drop := tc.drop
			if !strings.HasPrefix(drop, "[") {
				drop = "[Service]\n" + drop
			}
			h.files[dropIn] = []byte(drop)
		}
		p, err := makePlan(t, vendorConfig, h)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		sp := p.Hosts[0].Services[0]
		if got := strings.Contains(sp.WrappedStart, " -sigpipe=default "); got != tc.wantDefault {
			t.Errorf("%s: %s", tc.name, sp.WrappedStart)
		}
		if !strings.HasSuffix(sp.WrappedStart, " -- /usr/bin/m --flag") || strings.Count(sp.WrappedStart, "-sigpipe") > 1 || (!tc.wantDefault && strings.Contains(sp.WrappedStart, "-sigpipe")) {
			t.Errorf("%s: %s", tc.name, sp.WrappedStart)
		}
		var drop string
		for _, ch := range p.Hosts[0].Changes {
			if ch.Role == "drop-in" {
				drop = string(ch.Content)
			}
		}
		if !strings.Contains(drop, "\nExecStart="+sp.WrappedStart+"\n") {
			t.Errorf("%s: the drop-in lacks ExecStart=%s:\n%s", tc.name, sp.WrappedStart, drop)
		}
	}
}

// TestOtherCommandsWarned checks that the plan warns of each of the
// unit's commands besides ExecStart= that systemd's SystemCallFilter=
// applies to — every one without the + prefix — and of none when systemd
// filters no names.
func TestOtherCommandsWarned(t *testing.T) {
	const unit = "/lib/systemd/system/m.service"
	h := &memHost{files: map[string][]byte{
		unit: []byte("[Service]\nExecStartPre=/bin/mkdir -p /run/m\nExecStartPre=+/bin/chown m /run/m\nExecStart=/usr/bin/m\n" +
			"ExecReload=/bin/kill -HUP $MAINPID\nExecStop=/usr/bin/m stop\nExecStopPost=!/bin/rm -rf /run/m\n"),
		"/etc/systemd/system/m.service.d/50-admin.conf": []byte("[Service]\nExecStop=\nExecCondition=/usr/bin/test -d /etc/m\n"),
	}}
	p, err := makePlan(t, vendorConfig, h)
	if err != nil {
		t.Fatal(err)
	}
	// Each in words: internal/views TestEnforcementLines.
	want := []OtherCommand{
		{Key: "ExecCondition", Command: "/usr/bin/test -d /etc/m", Path: "/etc/systemd/system/m.service.d/50-admin.conf", Line: 3},
		{Key: "ExecStartPre", Command: "/bin/mkdir -p /run/m", Path: unit, Line: 2},
		{Key: "ExecReload", Command: "/bin/kill -HUP $MAINPID", Path: unit, Line: 5},
		{Key: "ExecStopPost", Command: "!/bin/rm -rf /run/m", Path: unit, Line: 7},
	}
	if sp := p.Hosts[0].Services[0]; !reflect.DeepEqual(sp.Enforcement.OtherCommands, want) || sp.Enforce != "exec" {
		t.Errorf("other commands %+v, want %+v", sp.Enforcement.OtherCommands, want)
	}

	// enforce = "systemd": the policy's names only.
	p, err = makePlan(t, strings.Replace(vendorConfig, `unit = "m.service"`, "unit = \"m.service\"\n  enforce = \"systemd\"", 1), h)
	if err != nil {
		t.Fatal(err)
	}
	if sp := p.Hosts[0].Services[0]; !reflect.DeepEqual(sp.Enforcement.OtherCommands, want) || sp.Enforce != "systemd" {
		t.Errorf("enforce = systemd: other commands %+v", sp.Enforcement.OtherCommands)
	}
	// No name filter, no warning.
	p, err = makePlan(t, strings.Replace(vendorConfig, `unit = "m.service"`, "unit = \"m.service\"\n  default_action = log", 1), h)
	if err != nil {
		t.Fatal(err)
	}
	if e := p.Hosts[0].Services[0].Enforcement; len(e.OtherCommands) > 0 || e.Names != NamesFilterOnly {
		t.Errorf("default_action = log: %+v", e)
	}
}

// TestModeChangeShows checks that a file whose content is right but whose
// mode is not is planned as a change that says so.
func TestModeChangeShows(t *testing.T) {
	src := strings.Replace(unitConfig, "LOG", "/var/log/m.log", 1)
	h := &memHost{files: map[string][]byte{}}
	p, err := makePlan(t, src, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range p.Hosts[0].Changes {
		h.files[ch.Path] = ch.Content
	}
	drop := "/etc/systemd/system/m.service.d/zz-fencer.conf"
	h.modes = map[string]fs.FileMode{drop: 0o600}
	p, err = makePlan(t, src, h)
	if err != nil {
		t.Fatal(err)
	}
	// How the plan's view shows it: internal/views TestPlanModeChange.
	changed := 0
	for _, ch := range p.Hosts[0].Changes {
		if ch.Path == drop && (ch.Action != Update || ch.PriorMode != 0o600 || ch.Mode != 0o644 || ch.Prior != string(ch.Content)) {
			t.Errorf("the drop-in's change: %+v", ch)
		}
		if ch.Action != NoOp {
			changed++
		}
	}
	if changed != 1 || p.Counts().Change != 1 {
		t.Errorf("%d changes, %+v", changed, p.Counts())
	}
}

// TestLoaderPerArch: a host of an architecture the loader set has no
// binary for fails with the command that builds one; the others are
// planned, each with the binary for its architecture.
func TestLoaderPerArch(t *testing.T) {
	cfg := configtest.Parse(t, `host "a" {}
host "b" {}
host "c" {}
`+strings.Replace(unitConfig, "LOG", "/var/log/m.log", 1))
	set := loader.SetOf(&loader.Binary{Data: []byte("x86 loader"), Arch: "x86_64"})
	p, diags := Make(context.Background(), cfg, Options{Loader: set, Hosts: map[string]host.Reader{
		"a": &memHost{files: map[string][]byte{}},
		"b": &memHost{files: map[string][]byte{}, arch: "aarch64"},
		"c": &memHost{files: map[string][]byte{}, arch: "x86_64"},
	}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, hp := range p.Hosts {
		switch hp.Name {
		case "b":
			if !strings.Contains(hp.Error, "no fencer binary for aarch64") || !strings.Contains(hp.Error, "GOOS=linux GOARCH=arm64 go build -o fencer-aarch64 ./cmd/fencer") {
				t.Errorf("host b: %q", hp.Error)
			}
		default:
			if hp.Error != "" {
				t.Errorf("host %s: %s", hp.Name, hp.Error)
			}
			loaded := false
			for _, ch := range hp.Changes {
				loaded = loaded || ch.Role == RoleLoader && ch.NewSHA256 == Hash([]byte("x86 loader")) && ch.NewSize() == len("x86 loader") && ch.Content == nil
			}
			if !loaded {
				t.Errorf("host %s installs no loader", hp.Name)
			}
		}
	}
}
