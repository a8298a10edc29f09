package plan

import (
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/configtest"
	"github.com/fencer-dev/fencer/internal/host"
)

// execConfig wraps the host's unit with a command of its own, so that it
// needs nothing of the unit but its existence.
const execConfig = `service "m" {
  unit       = "m.service"
  exec_start = "/usr/bin/m --own"
  fd "sock" {
    listen_stream = "127.0.0.1:80"
  }
  rule "start" {
    syscalls = ["execve", "exit_group"]
  }
}
`

// planErr makes a plan of config for h and returns the host's error, ""
// when it was planned.
func planErr(t *testing.T, config string, h *memHost) string {
	t.Helper()
	_, err := makePlan(t, config, h)
	if err != nil {
		return err.Error()
	}
	return ""
}

// TestAliasDropIns (issue 7, item 4): the drop-ins of every name systemd
// gives the unit count — names made by links between unit names in any
// unit directory, relative or absolute as enabling a unit with Alias=
// makes them — so a drop-in of an alias that undoes fencer's settings is
// refused like one of the unit's own name, and the plan's inputs hold the
// aliases' drop-ins.
func TestAliasDropIns(t *testing.T) {
	const vendor = "/lib/systemd/system/m.service"
	const late = "[Service]\nExecStart=\nExecStart=/usr/bin/m\nSystemCallFilter=\n"
	for _, tc := range []struct {
		name  string
		links map[string]string
		files map[string]string
		bad   string // the file the error names, "" when the plan goes through
		want  string
	}{
		{"relative alias link", map[string]string{"/etc/systemd/system/malias.service": "m.service"},
			map[string]string{"/etc/systemd/system/malias.service.d/zzz-local.conf": late},
			"/etc/systemd/system/malias.service.d/zzz-local.conf", "sets ExecStart=, SystemCallFilter= and sorts after fencer's zz-fencer.conf"},
		{"Alias= of an enabled unit", map[string]string{"/etc/systemd/system/mald.service": vendor},
			map[string]string{"/run/systemd/system/mald.service.d/zzz-local.conf": late},
			"/run/systemd/system/mald.service.d/zzz-local.conf", "sets ExecStart="},
		{"an alias in a vendor directory", map[string]string{"/lib/systemd/system/mv.service": "m.service"},
			map[string]string{"/etc/systemd/system/mv.service.d/zzz.conf": late},
			"/etc/systemd/system/mv.service.d/zzz.conf", "sets ExecStart="},
		{"an alias of an alias", map[string]string{"/etc/systemd/system/a1.service": "a2.service", "/run/systemd/system/a2.service": "m.service"},
			map[string]string{"/etc/systemd/system/a1.service.d/zzz.conf": late},
			"/etc/systemd/system/a1.service.d/zzz.conf", "sets ExecStart="},
		{"the dash prefix of an alias", map[string]string{"/etc/systemd/system/web-m.service": "m.service"},
			map[string]string{"/etc/systemd/system/web-.service.d/zzz.conf": late},
			"/etc/systemd/system/web-.service.d/zzz.conf", "sets ExecStart="},
		{"an alias's zz-fencer.conf is masked by fencer's", map[string]string{"/etc/systemd/system/malias.service": "m.service"},
			map[string]string{"/etc/systemd/system.control/malias.service.d/zz-fencer.conf": "[Service]\nNoNewPrivileges=no\n"}, "", ""},
		{"Sockets= in an alias's drop-in", map[string]string{"/etc/systemd/system/malias.service": "m.service"},
			map[string]string{"/etc/systemd/system/malias.service.d/10-s.conf": "[Service]\nSockets=other.socket\n"},
			"/etc/systemd/system/malias.service.d/10-s.conf", "sets Sockets=other.socket"},
		{"a socket of the alias's name", map[string]string{"/etc/systemd/system/malias.service": "m.service"},
			map[string]string{"/lib/systemd/system/malias.socket": "[Socket]\nListenStream=81\n"},
			"/lib/systemd/system/malias.socket", "it has the name of malias.service and no Service=, so it starts that service, an alias of m.service"},
		{"a socket of the alias's name whose Service= systemd ignores", map[string]string{"/etc/systemd/system/malias.service": "m.service"},
			map[string]string{"/lib/systemd/system/malias.socket": "[Socket]\nListenStream=81\nService=not a name.service\n"},
			"/lib/systemd/system/malias.socket", "it has the name of malias.service and no Service= that systemd accepts (it ignores Service=not a name.service at /lib/systemd/system/malias.socket:3), so it starts that service, an alias of m.service"},
		{"a socket whose Service= names an alias", map[string]string{"/etc/systemd/system/malias.service": "m.service"},
			map[string]string{"/lib/systemd/system/other.socket": "[Socket]\nListenStream=81\nService=malias.service\n"},
			"/lib/systemd/system/other.socket", "names malias.service, an alias of m.service"},
		{"a drop-in of an alias of fencer's socket", map[string]string{"/etc/systemd/system/msock.socket": "m.socket"},
			map[string]string{"/etc/systemd/system/msock.socket.d/10-more.conf": "[Socket]\nListenStream=82\n"},
			"/etc/systemd/system/msock.socket.d/10-more.conf", "line 2 sets ListenStream= for fencer's socket unit m.socket"},
		{"a link that is no alias (another type)", map[string]string{"/etc/systemd/system/mt.service": "/lib/systemd/system/m.socket"},
			map[string]string{"/etc/systemd/system/mt.service.d/zzz.conf": late}, "", ""},
		{"a drop-in of an instance of the template's alias", map[string]string{"/etc/systemd/system/mt@.service": "m@.service"},
			map[string]string{"/lib/systemd/system/m@.service": "[Service]\nExecStart=/usr/bin/m %i\n", "/run/systemd/system/mt@x.service.d/zzz.conf": late},
			"/run/systemd/system/mt@x.service.d/zzz.conf", "sets ExecStart="},
		{"a harmless alias drop-in", map[string]string{"/etc/systemd/system/malias.service": "m.service"},
			map[string]string{"/etc/systemd/system/malias.service.d/10-env.conf": "[Service]\nEnvironment=A=1\n"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &memHost{files: map[string][]byte{vendor: []byte("[Service]\nExecStart=/usr/bin/m\n")}, links: tc.links}
			for p, c := range tc.files {
				h.files[p] = []byte(c)
			}
			config := vendorConfig
			if h.files["/lib/systemd/system/m@.service"] != nil {
				config = strings.Replace(config, `"m.service"`, `"m@x.service"`, 1)
			}
			err := planErr(t, config, h)
			switch {
			case tc.bad == "" && err != "":
				t.Errorf("plan: %s", err)
			case tc.bad != "" && (!strings.Contains(err, `service "m": `+tc.bad+": ") || !strings.Contains(err, tc.want)):
				t.Errorf("plan: %s\nwant an error naming %s: %s", err, tc.bad, tc.want)
			case err != "":
				t.Logf("%s", err)
			}
		})
	}

	// The aliases' drop-ins are inputs: one appearing after the plan
	// makes it stale.
	h := &memHost{files: map[string][]byte{
		vendor: []byte("[Service]\nExecStart=/usr/bin/m\n"),
		"/etc/systemd/system/malias.service.d/10-env.conf": []byte("[Service]\nEnvironment=A=1\n"),
	}, links: map[string]string{"/etc/systemd/system/malias.service": "m.service"}}
	p, err := makePlan(t, vendorConfig, h)
	if err != nil {
		t.Fatal(err)
	}
	hp := p.Hosts[0]
	if f := hp.Inputs[0].Fragments; len(f) != 2 || f[1].Path != "/etc/systemd/system/malias.service.d/10-env.conf" {
		t.Errorf("inputs %+v", f)
	}
	if sp := hp.Services[0]; strings.Join(sp.Names, " ") != "m.service malias.service" || sp.FragmentPath != vendor ||
		strings.Join(sp.DropIns, " ") != "/etc/systemd/system/malias.service.d/10-env.conf /etc/systemd/system/m.service.d/zz-fencer.conf" {
		t.Errorf("names %q, fragment %s, drop-ins %q", sp.Names, sp.FragmentPath, sp.DropIns)
	}
	h.files["/run/systemd/system/malias.service.d/zzz-late.conf"] = []byte(late)
	if d := inputsNow(t, h, hp); d == nil || d.Path != "/run/systemd/system/malias.service.d/zzz-late.conf" || d.What != "appeared" {
		t.Errorf("an alias's drop-in after the plan: %+v", d)
	}
	delete(h.files, "/run/systemd/system/malias.service.d/zzz-late.conf")
	// So does a new alias with drop-ins of its own.
	h.links["/run/systemd/system/mnew.service"] = "/lib/systemd/system/m.service"
	h.files["/etc/systemd/system/mnew.service.d/zzz.conf"] = []byte(late)
	if d := inputsNow(t, h, hp); d == nil || d.Path != "/etc/systemd/system/mnew.service.d/zzz.conf" || d.What != "appeared" {
		t.Errorf("a new alias after the plan: %+v", d)
	}
	// And a link that makes the unit an alias of another.
	delete(h.links, "/run/systemd/system/mnew.service")
	h.links["/etc/systemd/system/m.service"] = "other.service"
	h.files["/lib/systemd/system/other.service"] = []byte("[Service]\nExecStart=/usr/bin/other\n")
	if d := inputsNow(t, h, hp); d == nil || d.What != "appeared" {
		t.Errorf("the unit now an alias: %+v", d)
	}
}

// TestUnitIsAlias: the configured unit is itself an alias; plan refuses
// it with the unit's own name.
func TestUnitIsAlias(t *testing.T) {
	h := &memHost{files: map[string][]byte{"/lib/systemd/system/ssh.service": []byte("[Service]\nExecStart=/usr/sbin/sshd -D\n")},
		links: map[string]string{"/etc/systemd/system/m.service": "/lib/systemd/system/ssh.service"}}
	err := planErr(t, vendorConfig, h)
	if want := `service "m": unit m.service is an alias of ssh.service on this host (/etc/systemd/system/m.service is a link to ssh.service): systemd loads ssh.service, and fencer writes its drop-in for the unit's own name, which does not depend on the alias; set unit = "ssh.service"`; err != want {
		t.Errorf("plan: %s\nwant %s", err, want)
	}
	// With unit_file, fencer's file replaces the link: no alias then.
	if err := planErr(t, strings.Replace(unitConfig, "LOG", "/var/log/m.log", 1), h); err != "" {
		t.Errorf("unit_file: %s", err)
	}
}

// TestUnitFileShadowed (issue 7, item 5): a copy of the unit fencer
// installs with unit_file earlier on the unit search path (or an alias
// link of its name there, or a mask) is what systemd loads: plan refuses
// it, naming the file; the same for fencer's socket unit. A copy later on
// the search path is no matter.
func TestUnitFileShadowed(t *testing.T) {
	config := strings.Replace(unitConfig, "LOG", "/var/log/m.log", 1)
	other := "[Unit]\nDescription=someone else's\n[Service]\nExecStart=/usr/bin/m\nSockets=other.socket\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		links map[string]string
		bad   string
		want  string
	}{
		{name: "system.control", files: map[string]string{"/etc/systemd/system.control/m.service": other},
			bad: "/etc/systemd/system.control/m.service", want: "this unit file comes earlier on the unit search path than the unit_file fencer installs at /etc/systemd/system/m.service, so systemd reads it instead"},
		{name: "runtime control", files: map[string]string{"/run/systemd/system.control/m.service": other}, bad: "/run/systemd/system.control/m.service", want: "comes earlier"},
		{name: "transient", files: map[string]string{"/run/systemd/transient/m.service": other}, bad: "/run/systemd/transient/m.service", want: "comes earlier"},
		{name: "generator.early", files: map[string]string{"/run/systemd/generator.early/m.service": other}, bad: "/run/systemd/generator.early/m.service", want: "comes earlier"},
		{name: "a linked unit file", files: map[string]string{"/opt/m/m.service": other}, links: map[string]string{"/run/systemd/transient/m.service": "/opt/m/m.service"},
			bad: "/run/systemd/transient/m.service", want: "comes earlier"},
		{name: "an alias link", files: map[string]string{"/lib/systemd/system/other.service": other}, links: map[string]string{"/etc/systemd/system.control/m.service": "other.service"},
			want: "unit m.service is an alias of other.service on this host (/etc/systemd/system.control/m.service is a link to other.service)"},
		{name: "a mask before fencer's", links: map[string]string{"/run/systemd/system.control/m.service": "/dev/null"},
			want: "unit m.service is masked on this host: /run/systemd/system.control/m.service is a link to /dev/null"},
		{name: "a mask in fencer's place", links: map[string]string{"/etc/systemd/system/m.service": "/dev/null"},
			bad: "/etc/systemd/system/m.service", want: "unit m.service is masked: this file is empty or a link to /dev/null, and fencer would replace it with the unit_file"},
		{name: "a copy of fencer's socket unit", files: map[string]string{"/run/systemd/transient/m.socket": "[Socket]\nListenStream=81\nListenStream=82\n"},
			bad: "/run/systemd/transient/m.socket", want: "it has the name of fencer's socket unit and comes earlier on the unit search path: systemd reads it instead of fencer's /etc/systemd/system/m.socket"},
		{name: "a mask of fencer's socket unit", links: map[string]string{"/etc/systemd/system.control/m.socket": "/dev/null"},
			bad: "/etc/systemd/system.control/m.socket", want: "it is a link to /dev/null and comes earlier on the unit search path: it masks fencer's socket unit"},
		{name: "an alias link for fencer's socket unit", files: map[string]string{"/lib/systemd/system/other.socket": "[Socket]\nListenStream=81\n"},
			links: map[string]string{"/run/systemd/system.control/m.socket": "other.socket"},
			bad:   "/run/systemd/system.control/m.socket", want: "this link makes m.socket an alias of other.socket, so systemd reads /lib/systemd/system/other.socket instead of fencer's /etc/systemd/system/m.socket"},
		{name: "copies later on the search path", files: map[string]string{"/lib/systemd/system/m.service": other, "/run/systemd/system/m.socket": "[Socket]\nListenStream=81\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &memHost{files: map[string][]byte{}, links: tc.links}
			for p, c := range tc.files {
				h.files[p] = []byte(c)
			}
			err := planErr(t, config, h)
			switch {
			case tc.want == "" && err != "":
				t.Errorf("plan: %s", err)
			case tc.want != "" && (!strings.Contains(err, `service "m": `+tc.bad) || !strings.Contains(err, tc.want)):
				t.Errorf("plan: %s\nwant an error naming %s: %s", err, tc.bad, tc.want)
			case err != "":
				t.Logf("%s", err)
			}
		})
	}
}

// TestUnitNotOnHost (issue 7, item 8): a service with no unit_file whose
// unit the host does not have, or has masked, is refused for that host,
// saying which unit, where fencer looked and what to do.
func TestUnitNotOnHost(t *testing.T) {
	for _, config := range []string{execConfig, strings.Replace(execConfig, `exec_start = "/usr/bin/m --own"`, `enforce = "systemd"`, 1)} {
		err := planErr(t, config, &memHost{files: map[string][]byte{}})
		want := `service "m": unit m.service is not on this host (m.service: unit not found: no file m.service in the unit search path ` +
			strings.Join(host.SystemUnitSearchPath, ":") + `): install the unit there, or give the service a unit_file`
		if err != want {
			t.Errorf("plan: %s\nwant %s", err, want)
		}
		h := &memHost{files: map[string][]byte{"/lib/systemd/system/m.service": []byte("[Service]\nExecStart=/usr/bin/m\n")},
			links: map[string]string{"/etc/systemd/system/m.service": "/dev/null"}}
		err = planErr(t, config, h)
		want = `service "m": unit m.service is masked on this host: /etc/systemd/system/m.service is a link to /dev/null, so systemd never starts it; unmask it (systemctl unmask m.service), or do not plan the service for this host`
		if err != want {
			t.Errorf("plan: %s\nwant %s", err, want)
		}
	}
	// An instance is found by its template.
	h := &memHost{files: map[string][]byte{"/lib/systemd/system/m@.service": []byte("[Service]\nExecStart=/usr/bin/m %i\n")}}
	if err := planErr(t, strings.Replace(execConfig, `"m.service"`, `"m@x.service"`, 1), h); err != "" {
		t.Errorf("instance: %s", err)
	}
	// Destroy reads no unit.
	cfg := configtest.Parse(t, execConfig)
	p, diags := Make(t.Context(), cfg, Options{Hosts: map[string]host.Reader{"local": &memHost{files: map[string][]byte{}}}, Destroy: true})
	if diags.HasErrors() || len(p.Failed()) > 0 {
		t.Errorf("destroy: %v %+v", diags, p.Failed())
	}
}

// TestShadowInputs: what hides fencer's unit file or socket unit
// appearing after the plan was made makes the plan stale.
func TestShadowInputs(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		link       bool
	}{
		{"a copy of the unit file", "/run/systemd/transient/m.service", false},
		{"a copy of the socket unit", "/run/systemd/transient/m.socket", false},
		{"a mask of the socket unit", "/etc/systemd/system.control/m.socket", true},
	} {
		h := &memHost{files: map[string][]byte{}, links: map[string]string{}}
		p, err := makePlan(t, strings.Replace(unitConfig, "LOG", "/var/log/m.log", 1), h)
		if err != nil {
			t.Fatal(err)
		}
		if tc.link {
			h.links[tc.path] = "/dev/null"
		} else {
			h.files[tc.path] = []byte("[Socket]\nListenStream=81\n[Service]\nExecStart=/bin/x\n")
		}
		if d := inputsNow(t, h, p.Hosts[0]); d == nil || d.Path != tc.path || d.What != "appeared" {
			t.Errorf("%s: %+v", tc.name, d)
		}
	}
}
