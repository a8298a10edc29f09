package plan

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/configtest"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/plan/loader"
	"github.com/fencer-dev/fencer/plan/unittext"
)

// ownConfig is a service with a unit file and a socket, on unit.
func ownConfig(unit string) string {
	return strings.NewReplacer("m.service", unit, "LOG", "/var/log/m.log").Replace(unitConfig)
}

// planAs plans src as configuration id on h.
func planAs(t *testing.T, id, src string, h *memHost, destroy bool) *HostPlan {
	t.Helper()
	cfg := configtest.Parse(t, src)
	// As a fencer block declares it; planDefault plans with a default id.
	cfg.ID, cfg.IDRange = id, hcl.Range{Filename: "main.fencer.hcl"}
	return planCfg(t, cfg, id, h, destroy)
}

// planDefault plans src with the default id id, as a configuration
// without a fencer block in a directory named id.
func planDefault(t *testing.T, id, src string, h *memHost, destroy bool) *HostPlan {
	t.Helper()
	cfg := configtest.Parse(t, src)
	cfg.ID = id
	return planCfg(t, cfg, id, h, destroy)
}

func planCfg(t *testing.T, cfg *hclspec.Config, id string, h *memHost, destroy bool) *HostPlan {
	t.Helper()
	p, diags := Make(context.Background(), cfg, Options{Hosts: map[string]host.Reader{"local": h}, Destroy: destroy,
		Loader: loader.SetOf(&loader.Binary{Data: []byte("loader"), Arch: "x86_64"})})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if p.ConfigID != id {
		t.Errorf("plan's configuration %q, want %q", p.ConfigID, id)
	}
	if hp := p.Hosts[0]; hp.Error != "" {
		t.Fatalf("plan: %s", hp.Error)
	}
	return p.Hosts[0]
}

// summary lists a host plan's changes but no-ops as "ACTION PATH (ROLE)".
func summary(hp *HostPlan) []string {
	var out []string
	for _, ch := range hp.Changes {
		if ch.Action == NoOp {
			continue
		}
		s := string(ch.Action) + " " + ch.Path + " (" + ch.Role.String() + ")"
		if ch.TakeOver {
			s += " take-over of " + ch.Owner + " to " + ch.Original
		}
		if ch.Restore {
			s += " restore from " + ch.Original
		}
		out = append(out, s)
	}
	return out
}

func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestHeaderNamesTheConfiguration checks that every text file fencer
// writes says which service, unit and configuration it belongs to, as
// unittext.ParseHeader reads it (see also unittext's TestParseHeader).
func TestHeaderNamesTheConfiguration(t *testing.T) {
	hp := planAs(t, "web-fleet", ownConfig("m.service"), &memHost{files: map[string][]byte{}}, false)
	for _, ch := range hp.Changes {
		if ch.Binary {
			continue
		}
		h, ok := unittext.ParseHeader(ch.Content)
		if !ok || h.Service != "m" || h.Unit != "m.service" || h.Config != "web-fleet" || !unittext.BodyIntact(ch.Content) || !unittext.OwnedBy(ch.Content, "web-fleet") || unittext.OwnedBy(ch.Content, "other") {
			t.Errorf("%s: header %+v %v:\n%s", ch.Path, h, ok, ch.Content)
		}
	}
}

// TestTakeOver checks that a unit file at fencer's path that is not the
// configuration's — hand-written, or another configuration's — is
// planned as taken over, with its original kept first, and that destroy
// then puts it back instead of deleting it; and that a file with the
// header from before configuration ids is the configuration's own.
func TestTakeOver(t *testing.T) {
	const unit, orig = "/etc/systemd/system/m.service", "/etc/fencer/originals/m.service"
	admin := []byte("[Service]\nExecStart=/usr/bin/admin\n")
	h := &memHost{files: map[string][]byte{unit: admin}}
	hp := planAs(t, "c", ownConfig("m.service"), h, false)
	sameList(t, "plan", summary(hp), []string{
		"create " + orig + " (original)",
		"create /etc/fencer/filters/m.service.bpf (filter)",
		"create /usr/local/bin/fencer (loader)",
		"create /etc/systemd/system/m.service.d/zz-fencer.conf (drop-in)",
		"create /etc/systemd/system/m.socket (socket unit)",
		"update " + unit + " (unit file) take-over of  to " + orig,
	})
	// What the plan's view says of it: internal/views TestPlanTakeOver.
	for _, ch := range hp.Changes {
		if (ch.Path == unit) != (ch.TakeOver && ch.Owner == "" && ch.Original == orig && ch.Action == Update && !KeepsEarlier(hp, ch)) ||
			(ch.Path == orig) != (ch.Role == RoleOriginal && ch.Action == Create) {
			t.Errorf("take-over change %+v", ch)
		}
	}
	js, _ := json.Marshal(hp.Changes)
	if !strings.Contains(string(js), `"take_over":true`) || !strings.Contains(string(js), `"original":"`+orig+`"`) {
		t.Errorf("JSON: %s", js)
	}
	for _, ch := range hp.Changes {
		if ch.Path == orig && string(ch.Content) != string(admin) {
			t.Errorf("the original kept is %q", ch.Content)
		}
	}

	// Applied, the file is the configuration's; destroy puts the
	// original back and removes the kept copy.
	applyTo(h, hp)
	if hp := planAs(t, "c", ownConfig("m.service"), h, false); len(summary(hp)) != 0 {
		t.Errorf("after the take-over: %q", summary(hp))
	}
	hp = planAs(t, "c", ownConfig("m.service"), h, true)
	sameList(t, "destroy", summary(hp), []string{
		"update " + unit + " (unit file) restore from " + orig,
		"delete /etc/systemd/system/m.socket (socket unit)",
		"delete /etc/systemd/system/m.service.d/zz-fencer.conf (drop-in)",
		"delete /etc/fencer/filters/m.service.bpf (filter)",
		"delete " + orig + " (original)",
	})
	// A destroy stopped after it put the original back, before it
	// removed the copy: the next one removes the copy.
	stopped := &memHost{files: map[string][]byte{}}
	for p, b := range h.files {
		stopped.files[p] = b
	}
	applyTo(stopped, &HostPlan{Changes: hp.Changes[:len(hp.Changes)-1]})
	again := planAs(t, "c", ownConfig("m.service"), stopped, true)
	sameList(t, "destroy again", summary(again), []string{"delete " + orig + " (original)"})
	applyTo(stopped, again)

	applyTo(h, hp)
	if string(h.files[unit]) != string(admin) || len(h.files) != 2 {
		t.Errorf("after destroy: %q", h.files)
	}
	if len(stopped.files) != len(h.files) {
		t.Errorf("after the stopped destroy and another: %q", stopped.files)
	}

	// Another configuration's unit file is taken over from it, and
	// destroy never deletes a file that is not the configuration's.
	h = &memHost{files: map[string][]byte{}}
	applyTo(h, planAs(t, "other", ownConfig("m.service"), h, false))
	theirs := string(h.files[unit])
	hp = planAs(t, "c", strings.Replace(ownConfig("m.service"), "ExecStart=/usr/bin/m", "ExecStart=/usr/bin/mine", 1), h, false)
	if got := summary(hp); len(got) != 6 || got[0] != "create "+orig+" (original)" || got[5] != "update "+unit+" (unit file) take-over of other to "+orig {
		t.Errorf("another configuration's unit file: %q", got)
	}
	hp = planAs(t, "c", ownConfig("m.service"), h, true)
	sameList(t, "destroy of another configuration's files", summary(hp), nil)
	// Their words: internal/views TestPlanNotes.
	if len(hp.Notes) != 4 || hp.Notes[0] != (Note{Kind: NoteForeignDropIn, Path: "/etc/fencer/filters/m.service.bpf", DropIn: "/etc/systemd/system/m.service.d/zz-fencer.conf", Owner: "other"}) ||
		hp.Notes[1] != (Note{Kind: NoteDestroyLeaves, Path: unit, Role: "unit file", Owner: "other"}) {
		t.Errorf("notes: %+v", hp.Notes)
	}
	if string(h.files[unit]) != theirs {
		t.Error("changed")
	}

	// A header without an id is fencer's from before ids: the
	// configuration's, rewritten with its id.
	h = &memHost{files: map[string][]byte{}}
	applyTo(h, planAs(t, "c", ownConfig("m.service"), h, false))
	h.files[unit] = []byte("# Managed by fencer for service \"m\"; content sha256:" + strings.Repeat("0", 64) + ".\n# Do not edit\n[Service]\nExecStart=/usr/bin/m\n")
	sameList(t, "an old header", summary(planAs(t, "c", ownConfig("m.service"), h, false)), []string{"update " + unit + " (unit file)"})
}

// TestOrphans checks that when a service's unit is renamed, or the service
// leaves the configuration, plan deletes the configuration's files of
// the old unit — drop-in, socket unit, unit file and filter — and leaves
// another configuration's files, files from before configuration ids (with
// a note), hand-written files and links to fencer's files under other
// names alone.
func TestOrphans(t *testing.T) {
	h := &memHost{files: map[string][]byte{}}
	applyTo(h, planAs(t, "c", ownConfig("old.service"), h, false))
	applyTo(h, planAs(t, "other", ownConfig("theirs.service"), h, false))
	legacy := "/etc/systemd/system/legacy.service.d/zz-fencer.conf"
	h.files[legacy] = []byte("# Managed by fencer for service \"l\"; content sha256:" + strings.Repeat("0", 64) + ".\n# Do not edit\n[Service]\n")
	h.files["/etc/systemd/system/admin.service"] = []byte("[Service]\nExecStart=/bin/true\n")
	// Aliases of old.service: a link, and a copy under another name.
	h.links = map[string]string{"/etc/systemd/system/alias.service": "/etc/systemd/system/old.service"}
	h.files["/etc/systemd/system/copy.service"] = h.files["/etc/systemd/system/old.service"]
	before := map[string]string{}
	for p, b := range h.files {
		before[p] = string(b)
	}

	hp := planAs(t, "c", ownConfig("new.service"), h, false)
	var gone []string
	for _, s := range summary(hp) {
		if strings.HasPrefix(s, "delete ") {
			gone = append(gone, s)
		}
	}
	sort.Strings(gone)
	sameList(t, "deletions", gone, []string{
		"delete /etc/fencer/filters/old.service.bpf (filter)",
		"delete /etc/systemd/system/old.service (unit file)",
		"delete /etc/systemd/system/old.service.d/zz-fencer.conf (drop-in)",
		"delete /etc/systemd/system/old.socket (socket unit)",
	})
	// Their words: internal/views TestPlanNotes and TestPlanTakeOver.
	if len(hp.Notes) != 1 || hp.Notes[0] != (Note{Kind: NoteLegacyHeader, Path: legacy}) {
		t.Errorf("notes: %+v", hp.Notes)
	}
	applyTo(h, hp)
	for p, b := range before {
		if strings.Contains(p, "/old.") {
			continue
		}
		if string(h.files[p]) != b {
			t.Errorf("%s changed", p)
		}
	}
	if hp := planAs(t, "c", ownConfig("new.service"), h, false); len(summary(hp)) != 0 {
		t.Errorf("planned again: %q", summary(hp))
	}

	// A configuration in another directory of the same name has the
	// same default id: plan must not take the first one's files of a
	// unit it does not plan for its own, and notes them with the fix.
	h2 := &memHost{files: map[string][]byte{}}
	applyTo(h2, planDefault(t, "metrics", ownConfig("a.service"), h2, false))
	hp2 := planDefault(t, "metrics", ownConfig("b.service"), h2, false)
	for _, s := range summary(hp2) {
		if strings.HasPrefix(s, "delete ") {
			t.Errorf("with a default id, plan deletes another unit's file: %s", s)
		}
	}
	// Their words: internal/views TestPlanNotes.
	if len(hp2.Notes) != 3 || hp2.Notes[0].Kind != NoteDefaultID || hp2.Notes[0].ID != "metrics" {
		t.Errorf("notes with a default id: %+v", hp2.Notes)
	}
	if _, ok := h2.files["/etc/systemd/system/a.service"]; !ok {
		t.Fatal("the first configuration's unit file is gone")
	}

	// The service leaves the configuration: destroy of what is left
	// removes the configuration's files of every unit.
	hp = planAs(t, "c", `service "x" {
  unit = "x.service"
  unit_file = "[Service]\nExecStart=/usr/bin/x\n"
  rule "start" {
    syscalls = ["execve", "exit_group"]
  }
}
`, h, true)
	gone = summary(hp)
	sort.Strings(gone)
	sameList(t, "destroy", gone, []string{
		"delete /etc/fencer/filters/new.service.bpf (filter)",
		"delete /etc/systemd/system/new.service (unit file)",
		"delete /etc/systemd/system/new.service.d/zz-fencer.conf (drop-in)",
		"delete /etc/systemd/system/new.socket (socket unit)",
	})
}
