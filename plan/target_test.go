package plan

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fencer-dev/fencer/internal/configtest"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/plan/loader"
)

// twoServices are two services under the loader, each with its unit file,
// on the hosts a, edge["e1"] and edge["e2"]; "n" only on the edge hosts.
const twoServices = `fencer {
  id = "c"
}
host "a" {
}
host "edge" {
  for_each = toset(["e1", "e2"])
}
service "m" {
  unit      = "m.service"
  unit_file = "[Service]\nExecStart=/usr/bin/m\n"
  rule "start" {
    syscalls = ["execve", "exit_group"]
  }
}
service "n" {
  unit      = "n.service"
  unit_file = "[Service]\nExecStart=/usr/bin/n\n"
  hosts     = ["edge"]
  rule "start" {
    syscalls = ["execve", "exit_group"]
  }
}
`

// makeFleet plans twoServices on in-memory hosts with the targets given.
func makeFleet(t *testing.T, hosts map[string]*memHost, opts Options, targets ...string) (*Plan, error) {
	t.Helper()
	cfg := configtest.Parse(t, twoServices)
	tg, diags := ParseTargets(cfg, targets)
	if diags.HasErrors() {
		var all []string
		for _, d := range diags {
			all = append(all, d.Detail)
		}
		return nil, errors.New(strings.Join(all, "\n"))
	}
	opts.Hosts = map[string]host.Reader{}
	for n, h := range hosts {
		opts.Hosts[n] = h
	}
	opts.Targets = tg
	opts.Loader = loader.SetOf(&loader.Binary{Data: []byte("loader"), Arch: "x86_64"})
	p, diags := Make(context.Background(), cfg, opts)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return p, nil
}

func fleetHosts() map[string]*memHost {
	return map[string]*memHost{"a": {files: map[string][]byte{}}, `edge["e1"]`: {files: map[string][]byte{}}, `edge["e2"]`: {files: map[string][]byte{}}}
}

// changed lists a host plan's changes as "action path".
func changed(hp *HostPlan) []string {
	var out []string
	for _, ch := range hp.Changes {
		if ch.Action != NoOp {
			out = append(out, string(ch.Action)+" "+ch.Path)
		}
	}
	return out
}

// TestLoaderOnce checks that a host with two services under the loader
// gets it once: a plan that wrote it twice would be refused.
func TestLoaderOnce(t *testing.T) {
	p, err := makeFleet(t, fleetHosts(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, hp := range p.Hosts {
		if hp.Error != "" {
			t.Fatalf("host %s: %s", hp.Name, hp.Error)
		}
	}
	e1 := changed(p.Hosts[1])
	if n := len(slices.DeleteFunc(slices.Clone(e1), func(s string) bool { return !strings.HasSuffix(s, "/usr/local/bin/fencer") })); n != 1 {
		t.Errorf("edge[\"e1\"] installs the loader %d times: %v", n, e1)
	}
	if err := p.Check(); err != nil {
		t.Error(err)
	}
}

// TestTargets checks -target: hosts by name, instance and block; services,
// whose hosts keep the other services' files, also in a destroy; and the
// diagnostics for a target that names nothing.
func TestTargets(t *testing.T) {
	names := func(p *Plan) string {
		var out []string
		for _, hp := range p.Hosts {
			out = append(out, hp.Name)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		targets []string
		want    string
	}{
		{nil, `a,edge["e1"],edge["e2"]`},
		{[]string{"host.a"}, "a"},
		{[]string{`host.edge["e2"]`}, `edge["e2"]`},
		{[]string{"host.edge"}, `edge["e1"],edge["e2"]`},
		{[]string{"service.n"}, `edge["e1"],edge["e2"]`},
		{[]string{"service.n", "host.a"}, ""},
		{[]string{"service.m", `host.edge["e1"]`}, `edge["e1"]`},
	} {
		p, err := makeFleet(t, fleetHosts(), Options{}, tc.targets...)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(p); got != tc.want {
			t.Errorf("targets %q plan hosts %s, want %s", tc.targets, got, tc.want)
		}
		if !slices.Equal(p.Targets, tc.targets) {
			t.Errorf("targets %q recorded as %q", tc.targets, p.Targets)
		}
	}

	// Both services applied to edge["e1"]; then m alone is planned, and
	// destroyed: n's files stay.
	hosts := fleetHosts()
	full, _ := makeFleet(t, hosts, Options{})
	applyTo(hosts[`edge["e1"]`], full.Hosts[1])
	p, _ := makeFleet(t, hosts, Options{}, "service.m", `host.edge["e1"]`)
	if got := changed(p.Hosts[0]); len(got) != 0 {
		t.Errorf("service.m on a host that has it: %v", got)
	}
	for _, ch := range p.Hosts[0].Changes {
		if strings.Contains(ch.Path, "n.service") {
			t.Errorf("service.m plans n's file %s", ch.Path)
		}
	}
	d, _ := makeFleet(t, hosts, Options{Destroy: true}, "service.m", `host.edge["e1"]`)
	for _, c := range changed(d.Hosts[0]) {
		if strings.Contains(c, "n.service") || !strings.HasPrefix(c, "delete ") {
			t.Errorf("destroy of service.m: %s", c)
		}
	}
	if len(changed(d.Hosts[0])) != 3 {
		t.Errorf("destroy of service.m: %v", changed(d.Hosts[0]))
	}

	_, err := makeFleet(t, fleetHosts(), Options{}, "host.edge-1", "service.mm", "hosts.a")
	if err == nil {
		t.Fatal("unknown targets accepted")
	}
	for _, want := range []string{`-target=host.edge-1 names no host or service`, `Did you mean "service.m"?`, `-target=hosts.a names no host`, `Did you mean "host.a"?`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("diagnostics do not say %q: %v", want, err)
		}
	}
}

// TestHostErrorsAndEvents checks that a host that failed before planning
// is planned as failed with its error while the others are planned, and
// the events each host goes through.
func TestHostErrorsAndEvents(t *testing.T) {
	var mu sync.Mutex
	events := map[string][]string{}
	hosts := fleetHosts()
	delete(hosts, "a")
	p, err := makeFleet(t, hosts, Options{HostErrors: map[string]error{"a": errors.New("host a: lock held")},
		Observe: func(e Event) {
			mu.Lock()
			defer mu.Unlock()
			s := e.Step.String()
			if e.Err != "" {
				s += ": " + e.Err
			}
			events[e.Host] = append(events[e.Host], s)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Hosts[0].Error != "host a: lock held" || p.Hosts[1].Error != "" || len(p.Hosts[2].Changes) == 0 {
		t.Errorf("hosts %+v %+v", p.Hosts[0], p.Hosts[1])
	}
	if got := strings.Join(events["a"], ","); got != "failed: host a: lock held" {
		t.Errorf("events of a: %s", got)
	}
	if got := strings.Join(events[`edge["e1"]`], ","); got != "connecting,planning,planned" {
		t.Errorf("events of edge[\"e1\"]: %s", got)
	}
}
