package apply

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/views"
	"github.com/fencer-dev/fencer/plan"
	"github.com/fencer-dev/fencer/plan/loader"
)

// planConfig is a service with a socket and a unit file, on unit.
const planConfig = `fencer {
  id = "c"
}
service "m" {
  unit           = "UNIT"
  unit_file      = "[Service]\nExecStart=/usr/bin/m\n"
  default_action = kill_process
  fd "sock" {
    listen_stream = "127.0.0.1:80"
  }
  rule "run" {
    syscalls = ["execve", "exit_group", "read", "write"]
  }
}
`

// testLoader stands for this fencer's binary.
var testLoader = loader.SetOf(&loader.Binary{Data: []byte("the loader\n"), Arch: "x86_64"})

// makeTestPlan plans unit in the -root tree dir and returns the plan file;
// a unit "NAME enforce=systemd" is planned with enforce = "systemd".
func makeTestPlan(t testing.TB, dir, unit string, destroy bool) []byte {
	t.Helper()
	src := strings.Replace(planConfig, "UNIT", unit, 1)
	if u, ok := strings.CutSuffix(unit, " enforce=systemd"); ok {
		src = strings.Replace(planConfig, `"UNIT"`, `"`+u+`"`+"\n  enforce = \"systemd\"", 1)
	}
	cfg, diags := hclspec.Parse(map[string][]byte{"main.fencer.hcl": []byte(src)}, hclspec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	h, err := host.Root("local", dir, "x86_64", host.ScopeSystem)
	if err != nil {
		t.Fatal(err)
	}
	p, diags := plan.Make(context.Background(), cfg, plan.Options{Hosts: map[string]host.Reader{"local": h}, Loader: testLoader,
		Destroy: destroy})
	if diags.HasErrors() || len(p.Failed()) > 0 {
		t.Fatalf("%v %+v", diags, p.Hosts[0])
	}
	var buf bytes.Buffer
	if err := plan.WriteJSON(&buf, p); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readTestPlan reads a plan file of makeTestPlan, and opens its tree.
func readTestPlan(t testing.TB, b []byte) (*plan.Plan, *host.RootHost) {
	t.Helper()
	p, err := plan.ReadJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	h, err := host.Root("local", p.Hosts[0].Root, "x86_64", host.ScopeSystem)
	if err != nil {
		t.Fatal(err)
	}
	return p, h
}

// applyTestPlan applies a plan file to the tree.
func applyTestPlan(t testing.TB, b []byte, adopt ...string) {
	t.Helper()
	p, h := readTestPlan(t, b)
	if err := Host(context.Background(), h, p.Hosts[0], Options{ConfigID: p.ConfigID, Loader: testLoader, Adopt: adopt, Destroy: p.Destroy}); err != nil {
		t.Fatal(err)
	}
}

// planSeeds are plan files of every kind: a first install, an update, a
// take-over, the removal of a renamed unit's files, a destroy that puts
// an original back.
func planSeeds(t testing.TB) [][]byte {
	dir := t.TempDir()
	var seeds [][]byte
	add := func(b []byte) []byte { seeds = append(seeds, b); return b }
	unit := filepath.Join(dir, "etc/systemd/system/m.service")
	if err := os.MkdirAll(filepath.Dir(unit), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unit, []byte("[Service]\nExecStart=/usr/bin/admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	applyTestPlan(t, add(makeTestPlan(t, dir, "m.service", false)), "/etc/systemd/system/m.service")
	applyTestPlan(t, add(makeTestPlan(t, dir, "n.service", false)))
	add(makeTestPlan(t, dir, "m.service", false))
	add(makeTestPlan(t, dir, "n.service", true))
	// enforce = "systemd": no filter, and the one "exec" installed goes.
	add(makeTestPlan(t, dir, "n.service enforce=systemd", false))
	return seeds
}

// FuzzPlanFile feeds arbitrary bytes to the plan file reader and, when it
// accepts them, to apply's checks and to the renderers: none may panic,
// and memory stays bounded (ReadJSON reads at most plan.MaxFileBytes).
// The seeds are real plan files of every kind.
//
//	go test ./apply -run '^$' -fuzz FuzzPlanFile -fuzzminimizetime 200x
func FuzzPlanFile(f *testing.F) {
	for _, s := range planSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := plan.ReadJSON(bytes.NewReader(b))
		if err != nil {
			if p != nil {
				t.Fatal("a plan and an error")
			}
			return
		}
		for _, hp := range p.Hosts {
			paths := host.SystemPaths
			if hp.Scope == host.ScopeUser {
				paths = host.UserPaths("/home/u/.config")
			}
			facts := &host.Facts{Arch: hp.Arch, Scope: hp.Scope, Root: hp.Root, Paths: paths}
			_ = CheckPlan(hp, facts, p.ConfigID, p.Destroy, testLoader)
			_ = Refused(hp, []string{"/etc/systemd/system/m.service"})
		}
		views.Plan(io.Discard, p, true)
		if err := plan.WriteDisplayJSON(io.Discard, p); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPlanSeedsApply checks that the seeds are what they say: each plan
// reads back and passes CheckPlan on the host it was made for, and they
// hold take-overs, restores and deletions.
func TestPlanSeedsApply(t *testing.T) {
	seeds := planSeeds(t)
	for _, want := range []string{`"take_over": true`, `"restore": true`, `"action": "delete"`, `"destroy": true`, `"enforce": "systemd"`} {
		if !bytes.Contains(bytes.Join(seeds, nil), []byte(want)) {
			t.Errorf("no seed has %s", want)
		}
	}
	for i, s := range seeds {
		p, err := plan.ReadJSON(bytes.NewReader(s))
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		hp := p.Hosts[0]
		facts := &host.Facts{Arch: hp.Arch, Scope: hp.Scope, Root: hp.Root, Paths: host.SystemPaths}
		if err := CheckPlan(hp, facts, p.ConfigID, p.Destroy, testLoader); err != nil {
			t.Errorf("seed %d: %v", i, err)
		}
	}
}

// TestOriginalRemovedOnlyWhenPutBack checks that a destroy that stopped
// after putting a file back, before it removed the kept copy, is finished
// by the next destroy; and that apply refuses, under the lock, to remove
// a kept original when the file is not that original again.
func TestOriginalRemovedOnlyWhenPutBack(t *testing.T) {
	dir := t.TempDir()
	const admin = "[Service]\nExecStart=/usr/bin/admin\n"
	unit := filepath.Join(dir, "etc/systemd/system/m.service")
	orig := filepath.Join(dir, "etc/fencer/originals/m.service")
	if err := os.MkdirAll(filepath.Dir(unit), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unit, []byte(admin), 0o644); err != nil {
		t.Fatal(err)
	}
	applyTestPlan(t, makeTestPlan(t, dir, "m.service", false), "/etc/systemd/system/m.service")
	// The destroy stops once the file is back.
	if err := os.WriteFile(unit, []byte(admin), 0o644); err != nil {
		t.Fatal(err)
	}
	b := makeTestPlan(t, dir, "m.service", true)
	if !bytes.Contains(b, []byte(`"path": "/etc/fencer/originals/m.service",`)) {
		t.Fatalf("the destroy plan does not remove the kept copy:\n%s", b)
	}
	// Before it applies, the file changes: the copy stays.
	if err := os.WriteFile(unit, []byte(admin+"# edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, h := readTestPlan(t, b)
	err := Host(context.Background(), h, p.Hosts[0], Options{ConfigID: p.ConfigID, Loader: testLoader, Destroy: true})
	if err == nil || !strings.Contains(err.Error(), "/etc/fencer/originals/m.service: the plan removes this original of /etc/systemd/system/m.service, which is not that file as it is") {
		t.Errorf("a copy of another file removed: %v", err)
	}
	if _, err := os.Stat(orig); err != nil {
		t.Errorf("the copy: %v", err)
	}
	if err := os.WriteFile(unit, []byte(admin), 0o644); err != nil {
		t.Fatal(err)
	}
	applyTestPlan(t, b)
	if _, err := os.Stat(orig); !os.IsNotExist(err) {
		t.Errorf("the copy after the second destroy: %v", err)
	}
	if got, _ := os.ReadFile(unit); string(got) != admin {
		t.Errorf("the file after the second destroy: %q", got)
	}
}

// TestRestoreKeepsTheOriginalsMode: a destroy plan puts a file fencer took
// over back with the mode its kept original has. A plan file edited to say
// the original has mode 0777 (and to put the file back with it) passed
// every check, since the original's mode was never read again, and apply
// wrote the administrator's unit file back world-writable. Apply now
// compares, under the lock, the original's mode with the one the plan
// shows, and refuses.
func TestRestoreKeepsTheOriginalsMode(t *testing.T) {
	dir := t.TempDir()
	const admin = "[Service]\nExecStart=/usr/bin/admin\n"
	unit := filepath.Join(dir, "etc/systemd/system/m.service")
	if err := os.MkdirAll(filepath.Dir(unit), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unit, []byte(admin), 0o644); err != nil {
		t.Fatal(err)
	}
	applyTestPlan(t, makeTestPlan(t, dir, "m.service", false), "/etc/systemd/system/m.service")
	b := makeTestPlan(t, dir, "m.service", true)
	p, err := plan.ReadJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	edited := 0
	for _, ch := range p.Hosts[0].Changes {
		switch {
		case ch.Role == plan.RoleOriginal && ch.Action == plan.Delete:
			ch.PriorMode = 0o777
			edited++
		case ch.Restore:
			ch.Mode = 0o777
			edited++
		}
	}
	if edited != 2 {
		t.Fatalf("the destroy plan has no restore and original to edit:\n%s", b)
	}
	var buf bytes.Buffer
	if err := plan.WriteJSON(&buf, p); err != nil {
		t.Fatal(err)
	}
	if p, err = plan.ReadJSON(&buf); err != nil {
		t.Fatal(err)
	}
	h, err := host.Root("local", dir, "x86_64", host.ScopeSystem)
	if err != nil {
		t.Fatal(err)
	}
	err = Host(context.Background(), h, p.Hosts[0], Options{ConfigID: p.ConfigID, Loader: testLoader, Destroy: true})
	if err == nil || !strings.Contains(err.Error(), "/etc/fencer/originals/m.service changed since the plan was made") {
		t.Errorf("apply of the edited plan: %v", err)
	}
	if st, err := os.Stat(unit); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("the unit file: %v %v", st.Mode(), err)
	}
	applyTestPlan(t, b)
	if st, err := os.Stat(unit); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("the unit file after the destroy: %v %v", st.Mode(), err)
	}
}

// TestLoaderOnlyWithItsService: a plan installs the loader only for a
// service whose drop-in runs it. A plan file edited down to the loader
// alone, at a fencer_path of the editor's choosing (/usr/local/sbin/ls,
// ahead of /usr/bin in PATH), passed CheckPlan: the loader's path is the
// plan's, and nothing else asked for it.
func TestLoaderOnlyWithItsService(t *testing.T) {
	dir := t.TempDir()
	p, err := plan.ReadJSON(bytes.NewReader(makeTestPlan(t, dir, "m.service", false)))
	if err != nil {
		t.Fatal(err)
	}
	hp := p.Hosts[0]
	var loader *plan.Change
	for _, ch := range hp.Changes {
		if ch.Role == plan.RoleLoader {
			loader = ch
		}
	}
	if loader == nil {
		t.Fatal("the plan installs no loader")
	}
	loader.Path, hp.FencerPath = "/usr/local/sbin/ls", "/usr/local/sbin/ls"
	hp.Changes, hp.Services, hp.Inputs = []*plan.Change{loader}, nil, nil
	var buf bytes.Buffer
	if err := plan.WriteJSON(&buf, p); err != nil {
		t.Fatal(err)
	}
	if p, err = plan.ReadJSON(&buf); err != nil {
		t.Fatal(err)
	}
	facts := &host.Facts{Arch: hp.Arch, Scope: hp.Scope, Root: hp.Root, Paths: host.SystemPaths}
	err = CheckPlan(p.Hosts[0], facts, p.ConfigID, false, testLoader)
	if err == nil || !strings.Contains(err.Error(), "/usr/local/sbin/ls: the plan installs the loader, and no drop-in of its services runs it") {
		t.Errorf("a plan of the loader alone: %v", err)
	}
}

// TestTakeOverKeepsTheFirstOriginal: configuration "c" took over the
// administrator's m.service (fencer keeps it at originals/m.service), and
// then another configuration — or the same one after its directory was
// renamed, which changes its default id — takes over c's file. That
// take-over replaced the kept copy with c's file, so the administrator's
// file was lost: the second configuration's destroy put c's file back, and
// nothing had the administrator's any more. The copy of the file as it was
// before any fencer stays; destroy puts it back.
func TestTakeOverKeepsTheFirstOriginal(t *testing.T) {
	dir := t.TempDir()
	const admin = "[Service]\nExecStart=/usr/bin/admin\n"
	unit := filepath.Join(dir, "etc/systemd/system/m.service")
	orig := filepath.Join(dir, "etc/fencer/originals/m.service")
	if err := os.MkdirAll(filepath.Dir(unit), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unit, []byte(admin), 0o640); err != nil {
		t.Fatal(err)
	}
	applyTestPlan(t, makeTestPlan(t, dir, "m.service", false), "/etc/systemd/system/m.service")
	if b, _ := os.ReadFile(orig); string(b) != admin {
		t.Fatalf("the kept original: %q", b)
	}
	other := func(destroy bool) []byte {
		return makeIDPlan(t, dir, "d", destroy)
	}
	b := other(false)
	if !bytes.Contains(b, []byte(`"owner": "c"`)) {
		t.Fatalf("configuration d does not take over c's file:\n%s", b)
	}
	var shown bytes.Buffer
	p, err := plan.ReadJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	views.Plan(&shown, p, false)
	if want := "apply replaces it and keeps the file from before fencer, at /etc/fencer/originals/m.service, which destroy puts back"; !strings.Contains(shown.String(), want) {
		t.Errorf("the plan does not say %q:\n%s", want, shown.String())
	}
	err = Refused(p.Hosts[0], []string{"/etc/systemd/system/m.socket", "/etc/systemd/system/m.service.d/zz-fencer.conf"})
	if want := "(fencer keeps the file from before fencer at /etc/fencer/originals/m.service, and destroy puts that back)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("without -adopt: %v, want %q", err, want)
	}
	applyTestPlan(t, b, "/etc/systemd/system/m.service", "/etc/systemd/system/m.socket", "/etc/systemd/system/m.service.d/zz-fencer.conf")
	if got, _ := os.ReadFile(orig); string(got) != admin {
		t.Errorf("the kept original after d took over c's file: %q, want the administrator's", got)
	}
	applyTestPlan(t, other(true))
	if got, _ := os.ReadFile(unit); string(got) != admin {
		t.Errorf("m.service after d's destroy: %q, want the administrator's", got)
	}
	if st, err := os.Stat(unit); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("m.service's mode after d's destroy: %v %v", st.Mode(), err)
	}
	if _, err := os.Stat(orig); !os.IsNotExist(err) {
		t.Errorf("the kept original after d's destroy: %v", err)
	}
}

// makeIDPlan is makeTestPlan for m.service with configuration id.
func makeIDPlan(t testing.TB, dir, id string, destroy bool) []byte {
	t.Helper()
	src := strings.Replace(strings.Replace(planConfig, "UNIT", "m.service", 1), `id = "c"`, `id = "`+id+`"`, 1)
	cfg, diags := hclspec.Parse(map[string][]byte{"main.fencer.hcl": []byte(src)}, hclspec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	h, err := host.Root("local", dir, "x86_64", host.ScopeSystem)
	if err != nil {
		t.Fatal(err)
	}
	p, diags := plan.Make(context.Background(), cfg, plan.Options{Hosts: map[string]host.Reader{"local": h}, Loader: testLoader,
		Destroy: destroy})
	if diags.HasErrors() || len(p.Failed()) > 0 {
		t.Fatalf("%v %+v", diags, p.Hosts[0])
	}
	var buf bytes.Buffer
	if err := plan.WriteJSON(&buf, p); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestLoaderChangedSincePlan: a saved plan records the loader by its
// hash; apply installs its own loader for the host's architecture, the
// binary's bytes, and refuses, naming both binaries, when it is not the
// one the plan was made with (fencer, or its -loader, replaced between
// plan and apply), writing nothing.
func TestLoaderChangedSincePlan(t *testing.T) {
	dir := t.TempDir()
	b := makeTestPlan(t, dir, "m.service", false)
	if bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString([]byte("the loader\n")))) {
		t.Error("the plan file holds the loader's bytes")
	}
	p, h := readTestPlan(t, b)
	rebuilt := loader.SetOf(&loader.Binary{Data: []byte("the loader, rebuilt\n"), Arch: "x86_64", Path: "/usr/local/bin/fencer-new"})
	err := Host(context.Background(), h, p.Hosts[0], Options{ConfigID: p.ConfigID, Loader: rebuilt})
	var pe *PlanError
	if !errors.As(err, &pe) || pe.Path != "/usr/local/bin/fencer" ||
		!strings.Contains(err.Error(), "is not the fencer this fencer installs on x86_64 (/usr/local/bin/fencer-new, sha256 ") ||
		!strings.Contains(err.Error(), "the binary changed since the plan was made") {
		t.Fatalf("apply with another loader: %v", err)
	}
	for _, d := range []string{"etc", "usr"} {
		if _, err := os.Stat(filepath.Join(dir, d)); err == nil {
			t.Errorf("apply refused and wrote in /%s", d)
		}
	}
	applyTestPlan(t, b)
	got, err := os.ReadFile(filepath.Join(dir, "usr/local/bin/fencer"))
	if err != nil || string(got) != "the loader\n" {
		t.Errorf("the loader installed: %q, %v", got, err)
	}
}
