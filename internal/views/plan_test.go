package views

import (
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/plan"
	"github.com/fencer-dev/fencer/plan/unittext"
)

// TestEnforcementLines pins the words of each enforcement fact, in the
// order plan shows them. plan's tests check that planning finds the facts
// (TestSystemdModeDenies, TestSystemdUnknownNames, TestErrnoZeroDefaultExec,
// TestOtherCommandsWarned).
func TestEnforcementLines(t *testing.T) {
	const unit = "/lib/systemd/system/m.service"
	others := []plan.OtherCommand{
		{Key: "ExecCondition", Command: "/usr/bin/test -d /etc/m", Path: "/etc/systemd/system/m.service.d/50-admin.conf", Line: 3},
		{Key: "ExecStartPre", Command: "/bin/mkdir -p /run/m", Path: unit, Line: 2},
	}
	const tail = ": fencer does not wrap it, so the BPF filter does not apply to it, only systemd's names; add the syscalls it needs to the policy, or prefix it with + to run it unsandboxed "
	for _, tc := range []struct {
		name string
		s    plan.ServicePlan
		want []string
	}{
		{"exec, with systemd's names", plan.ServicePlan{Enforce: "exec", ConditionRules: 2, Enforcement: plan.Enforcement{
			Names: plan.NamesBoth, Allowed: 52, Default: "kill_process", Loader: "/usr/local/bin/fencer", ExecOnce: true,
			Unknown: []unittext.UnknownName{{Name: "listns"}}, OtherCommands: others}}, []string{
			"note: listns is left out of SystemCallFilter=: the host's systemd does not know the name (its filter gives it kill_process, as the policy does; the BPF filter decides it too)",
			"argument conditions (2 rules): the BPF filter, installed by /usr/local/bin/fencer exec before the service starts",
			"exec once: no rule names execve, so the loader's exec of the service is the only one; every later execve fails with ENOSYS (Linux 5.5 or newer)",
			"syscall names (52): systemd SystemCallFilter=, as well",
			"warning: ExecCondition=/usr/bin/test -d /etc/m runs under SystemCallFilter= too, with the policy's syscall names only (plus the loader's)" + tail + "(/etc/systemd/system/m.service.d/50-admin.conf:3)",
			"warning: ExecStartPre=/bin/mkdir -p /run/m runs under SystemCallFilter= too, with the policy's syscall names only (plus the loader's)" + tail + "(" + unit + ":2)",
		}},
		{"exec, a name systemd would decide otherwise", plan.ServicePlan{Enforce: "exec", Enforcement: plan.Enforcement{
			Names: plan.NamesFilterOnly, Default: "errno(1)", Loader: "/usr/local/bin/fencer",
			Unknown: []unittext.UnknownName{{Name: "listns", Policy: "allow"}}}}, []string{
			"syscall names: the BPF filter only: the host's systemd does not know listns, which the policy gives allow, and SystemCallFilter= would give it errno(1) instead",
			"argument conditions (0 rules): the BPF filter, installed by /usr/local/bin/fencer exec before the service starts",
			"syscall names: the BPF filter only (systemd cannot express default_action errno(1))",
		}},
		{"a name the loader needs", plan.ServicePlan{Enforce: "exec", Enforcement: plan.Enforcement{
			Names: plan.NamesFilterOnly, Default: "kill_process", Unknown: []unittext.UnknownName{{Name: "rseq", LoaderNeeds: true}}}}, []string{
			"syscall names: the BPF filter only: the loader needs rseq, which the host's systemd does not know, so SystemCallFilter= could not allow it",
			"syscall names: the BPF filter only (systemd cannot express default_action kill_process)",
		}},
		{"errno(0)", plan.ServicePlan{Enforce: "exec", Enforcement: plan.Enforcement{Names: plan.NamesFilterOnly, Default: "errno(0)"}}, []string{
			"syscall names: the BPF filter only (systemd cannot express default_action errno(0))",
		}},
		{"systemd alone", plan.ServicePlan{Enforce: "systemd", Enforcement: plan.Enforcement{
			Names: plan.NamesSystemdAlone, Allowed: 40, Denied: 3, Default: "kill_process",
			Narrowed: []plan.Narrowed{
				{Rule: "log_write", Syscall: "write", Allows: true, Verdict: "kill_process"},
				{Rule: "no_stdin", Syscall: "read", Verdict: "errno(9)"},
			}, OtherCommands: others[1:]}}, []string{
			`syscall names: systemd SystemCallFilter= alone (enforce = "systemd": no BPF filter, no argument conditions): 40 allowed, 3 denied by name, the rest kill_process`,
			`narrowed: rule "log_write" never applies: write gets kill_process whatever its arguments (a deny wins over a condition systemd cannot check)`,
			`narrowed: rule "no_stdin"'s condition is dropped: read gets errno(9) whatever its arguments (a deny wins over a condition systemd cannot check)`,
			"warning: ExecStartPre=/bin/mkdir -p /run/m runs under SystemCallFilter= too, with the policy's syscall names only" + tail + "(" + unit + ":2)",
		}},
	} {
		if got := enforcementLines(&tc.s); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// TestPlanNotes pins the words of each kind of note, as plan shows them.
// plan's tests check that planning makes them (TestTakeOver, TestOrphans).
func TestPlanNotes(t *testing.T) {
	for _, tc := range []struct {
		n    plan.Note
		want string
	}{
		{plan.Note{Kind: plan.NoteForeignDropIn, Path: "/etc/fencer/filters/m.service.bpf", DropIn: "/etc/systemd/system/m.service.d/zz-fencer.conf", Owner: "other"},
			`/etc/fencer/filters/m.service.bpf (filter) is run by /etc/systemd/system/m.service.d/zz-fencer.conf, which belongs to configuration "other": left as it is`},
		{plan.Note{Kind: plan.NoteForeignDropIn, Path: "/etc/fencer/filters/m.service.bpf", DropIn: "/etc/systemd/system/m.service.d/zz-fencer.conf"},
			`/etc/fencer/filters/m.service.bpf (filter) is run by /etc/systemd/system/m.service.d/zz-fencer.conf, which is not fencer's (it has no fencer header): left as it is`},
		{plan.Note{Kind: plan.NoteDestroyLeaves, Path: "/etc/systemd/system/m.service", Role: "unit file", Owner: "other"},
			`/etc/systemd/system/m.service (unit file) belongs to configuration "other": destroy leaves it`},
		{plan.Note{Kind: plan.NoteDestroyLeaves, Path: "/etc/systemd/system/web.socket", Role: "socket unit"},
			`/etc/systemd/system/web.socket (socket unit) is not fencer's (it has no fencer header): destroy leaves it`},
		{plan.Note{Kind: plan.NoteLegacyHeader, Path: "/etc/systemd/system/legacy.service.d/zz-fencer.conf"},
			"/etc/systemd/system/legacy.service.d/zz-fencer.conf has the header of a fencer from before configurations had ids, so which configuration installed it is unknown; this configuration does not plan it, and leaves it alone: remove it by hand if none uses it"},
		{plan.Note{Kind: plan.NoteNoLongerPlanned, Path: "/etc/systemd/system/m.socket", Role: "socket unit", Unit: "m.service"},
			"/etc/systemd/system/m.socket is this configuration's socket unit for m.service, which no longer gets one; plan read it as part of m.service and leaves it: remove it by hand, or destroy and apply again"},
		{plan.Note{Kind: plan.NoteDefaultID, Path: "/etc/systemd/system/a.service", Role: "unit file", Unit: "a.service", ID: "metrics"},
			`/etc/systemd/system/a.service is a unit file for a.service of configuration "metrics", which this configuration no longer plans; "metrics" is only this configuration's default id (its directory's name), which a configuration in another directory of that name has too, so plan leaves the file: declare fencer { id = "metrics" } to have plan remove it as this configuration's, or remove it by hand`},
	} {
		if got := noteText(tc.n); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.n.Kind, got, tc.want)
		}
	}
}

// TestPlanTakeOver checks how plan shows a take-over, the original it
// keeps, a deletion and a note (plan's TestTakeOver and TestOrphans check
// that planning makes them).
func TestPlanTakeOver(t *testing.T) {
	const unit, orig = "/etc/systemd/system/m.service", "/etc/fencer/originals/m.service"
	admin := "[Service]\nExecStart=/usr/bin/admin\n"
	legacy := "/etc/systemd/system/legacy.service.d/zz-fencer.conf"
	hp := &plan.HostPlan{Name: "local", Scope: "system", Arch: "x86_64", SystemdVersion: 252, Changes: []*plan.Change{
		{Path: orig, Action: plan.Create, Role: plan.RoleOriginal, Binary: true, Mode: 0o644, Content: []byte(admin)},
		{Path: unit, Action: plan.Update, Role: plan.RoleUnitFile, Mode: 0o644, Prior: admin, Content: []byte("[Service]\nExecStart=/usr/bin/m\n"),
			TakeOver: true, Original: orig},
		{Path: "/etc/systemd/system/old.service.d/zz-fencer.conf", Action: plan.Delete, Role: plan.RoleDropIn, Mode: 0o644, Prior: "[Service]\n"},
	}, Notes: []plan.Note{{Kind: plan.NoteLegacyHeader, Path: legacy}}}
	var out strings.Builder
	Plan(&out, &plan.Plan{ConfigID: "c", Hosts: []*plan.HostPlan{hp}}, false)
	for _, want := range []string{
		"configuration \"c\"\n",
		"~ " + unit + "  (unit file, taken over: it is not fencer's (no fencer header))\n",
		"apply keeps it at " + orig + " and destroy puts it back; apply refuses this unless run with -adopt=" + unit + "\n",
		"+ " + orig + "  (original, kept for destroy to put back)\n",
		"- /etc/systemd/system/old.service.d/zz-fencer.conf  (drop-in)",
		"  note: " + legacy,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestPlanModeChange checks that a file whose content is right but whose
// mode is not is shown as a change that says so (plan's
// TestModeChangeShows checks that planning finds it).
func TestPlanModeChange(t *testing.T) {
	const drop = "/etc/systemd/system/m.service.d/zz-fencer.conf"
	text := "[Service]\nNoNewPrivileges=yes\n"
	p := &plan.Plan{Hosts: []*plan.HostPlan{{Name: "local", Scope: "system", Arch: "x86_64", Changes: []*plan.Change{
		{Path: drop, Action: plan.Update, Role: plan.RoleDropIn, Mode: 0o644, PriorMode: 0o600, Prior: text, Content: []byte(text)},
	}}}}
	var b strings.Builder
	Plan(&b, p, false)
	if !strings.Contains(b.String(), "~ "+drop) || !strings.Contains(b.String(), "mode 0600 -> 0644") || !strings.Contains(b.String(), "Plan: 0 to add, 1 to change, 0 to destroy.") {
		t.Errorf("plan:\n%s", b.String())
	}
}

// TestPlanService checks how plan shows a service: its fds, its filter,
// what it runs and each enforcement line (plan's TestOtherCommandsWarned
// checks that planning finds the commands).
func TestPlanService(t *testing.T) {
	s := &plan.ServicePlan{Name: "m", Unit: "m.service", Enforce: "exec", FilterPath: "/etc/fencer/filters/m.service.bpf",
		FilterSHA256: "0123456789abcdef0123", FilterInsns: 42, ExecStart: "/usr/bin/m",
		Fds: []plan.FdPlan{{Name: "log", Number: 3, Binding: `open_file = "/var/log/m.log"`}},
		Enforcement: plan.Enforcement{Names: plan.NamesBoth, Allowed: 9, Default: "kill_process", Loader: "/usr/local/bin/fencer",
			OtherCommands: []plan.OtherCommand{{Key: "ExecStartPre", Command: "/bin/mkdir -p /run/m", Path: "/lib/systemd/system/m.service", Line: 2}}}}
	var out strings.Builder
	Plan(&out, &plan.Plan{Hosts: []*plan.HostPlan{{Name: "local", Scope: "system", Arch: "x86_64", Services: []*plan.ServicePlan{s}}}}, false)
	want := `host "local" (x86_64, systemd version unknown, system scope)
  service "m" (m.service), enforce = "exec"
    fd 3  log              open_file = "/var/log/m.log"
    filter /etc/fencer/filters/m.service.bpf: 42 instructions, sha256 0123456789abcdef
    runs   /usr/bin/m
    - argument conditions (0 rules): the BPF filter, installed by /usr/local/bin/fencer exec before the service starts
    - syscall names (9): systemd SystemCallFilter=, as well
    - warning: ExecStartPre=/bin/mkdir -p /run/m runs under SystemCallFilter= too, with the policy's syscall names only (plus the loader's): fencer does not wrap it, so the BPF filter does not apply to it, only systemd's names; add the syscalls it needs to the policy, or prefix it with + to run it unsandboxed (/lib/systemd/system/m.service:2)

  No changes: the host matches the configuration.

No changes. Your hosts match the configuration.
`
	if out.String() != want {
		t.Errorf("plan output:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestPlanSSH: a plan shows how it reaches a host over SSH (a saved plan
// reconnects with those settings, so whoever reviews it sees them), and
// nothing for a -root tree.
func TestPlanSSH(t *testing.T) {
	ssh := &plan.SSH{Port: 2222, User: "deploy", Bastion: "admin@jump", Become: "sudo", KnownHostsFile: "/etc/fencer/known_hosts"}
	p := &plan.Plan{Hosts: []*plan.HostPlan{
		{Name: "web", Address: "10.0.0.1", SSH: ssh, Scope: "system", Arch: "x86_64"},
		{Name: "db", Address: "10.0.0.2", SSH: &plan.SSH{Port: 22}, Scope: "system", Arch: "x86_64"},
		{Name: "tree", Address: "10.0.0.3", SSH: ssh, Root: "/srv/tree", Scope: "system", Arch: "x86_64"},
	}}
	var b strings.Builder
	Plan(&b, p, false)
	for _, want := range []string{
		"  reached over SSH: deploy@10.0.0.1 port 2222 via admin@jump, become sudo, host keys from /etc/fencer/known_hosts\n",
		"  reached over SSH: (the user running fencer)@10.0.0.2 port 22, host keys from ~/.ssh/known_hosts\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan:\n%s\nwant %q", b.String(), want)
		}
	}
	if strings.Count(b.String(), "reached over SSH") != 2 {
		t.Errorf("a -root tree shown as reached over SSH:\n%s", b.String())
	}
}
