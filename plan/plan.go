// Package plan plans hosts: for each host of a configuration it reads what
// the host has through a host.Reader, compiles every service planned there
// (package resolve), renders the service's files (package unittext) and
// adds the loader that runs it (package loader), checks them against the
// host's units, and compares them with the host's files: the changes
// apply makes (Plan). It also writes and reads plan files (planfile.go).
// A plan carries facts (Enforcement, Note, Override); package views says
// them in words.
package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/internal/unitfile"
	"github.com/fencer-dev/fencer/plan/loader"
	"github.com/fencer-dev/fencer/plan/resolve"
	"github.com/fencer-dev/fencer/plan/unittext"
)

// FormatVersion is the version of saved plan files; a plan file of another
// version is refused. Version 2 added HostPlan.Inputs; version 3 the
// configuration's id, the host's fencer_path and notes, and take-overs
// and restores of files that are not fencer's; version 4 made a
// service's enforcement and a host's notes facts (Enforcement, Note)
// instead of sentences.
const FormatVersion = 4

// Plan is what apply will do: for each host, every file to create, change
// or delete, with the hash each file had when the plan was made.
type Plan struct {
	FormatVersion int       `json:"format_version"`
	FencerVersion string    `json:"fencer_version"`
	ConfigDir     string    `json:"config_dir"`
	Created       time.Time `json:"created"`
	// Destroy is set for a plan that removes what fencer installed.
	Destroy bool        `json:"destroy,omitempty"`
	Hosts   []*HostPlan `json:"hosts"`

	// ConfigID is the configuration's id (hclspec.Config.ID): the files
	// whose header names it are the configuration's own.
	ConfigID string `json:"config_id"`
}

// HostPlan is one host's part of a plan.
type HostPlan struct {
	Name           string         `json:"name"`
	Address        string         `json:"address,omitempty"`
	Scope          string         `json:"scope"`
	Root           string         `json:"root,omitempty"`
	Arch           string         `json:"arch"`
	SystemdVersion int            `json:"systemd_version"`
	Live           bool           `json:"live"`
	Services       []*ServicePlan `json:"services"`
	Changes        []*Change      `json:"changes"`
	// Inputs are, per service unit, the host files besides Changes the
	// plan was computed from; apply refuses the plan when any differs.
	Inputs []UnitInputs `json:"inputs,omitempty"`
	// Error is set when the host could not be planned; the other hosts
	// still are.
	Error string `json:"error,omitempty"`
	// FencerPath is where the host's loader is (the host's fencer_path).
	FencerPath string `json:"fencer_path,omitempty"`
	// Notes are what plan leaves alone on the host and why: files with
	// fencer's header that it does not plan and cannot or does not
	// delete, and files destroy leaves because they are not the
	// configuration's.
	Notes []Note `json:"notes,omitempty"`
	// Restarts are the running units whose files the plan leaves as they
	// are but whose process does not run as planned (applied without
	// -restart): apply -restart restarts them.
	Restarts []Restart `json:"restarts,omitempty"`
}

// Restart is a running unit that needs a restart to run as planned.
type Restart struct {
	Unit string `json:"unit"`
	// Reason says why, as verify found it.
	Reason string `json:"reason"`
}

// ServicePlan says, for people, what a service gets on a host.
type ServicePlan struct {
	Name    string   `json:"name"`
	Unit    string   `json:"unit"`
	Enforce string   `json:"enforce"`
	Fds     []FdPlan `json:"fds"`
	// Filter describes the compiled filter.
	FilterPath     string `json:"filter_path"`
	FilterSHA256   string `json:"filter_sha256"`
	FilterInsns    int    `json:"filter_instructions"`
	ExecStart      string `json:"exec_start,omitempty"`
	WrappedStart   string `json:"wrapped_exec_start,omitempty"`
	SystemdFilter  bool   `json:"systemd_filter"`
	ConditionRules int    `json:"condition_rules"`
	// Enforcement says what enforces the policy.
	Enforcement Enforcement `json:"enforcement"`
	// SystemCallFilter is the planned SystemCallFilter= list (empty when
	// systemd filters no names).
	SystemCallFilter []string `json:"system_call_filter,omitempty"`
	// SystemCallFilterDenied are the "~" entries that follow it
	// (enforce = "systemd"): names taken out of systemd's implicit
	// @default group, and "NAME:ERRNO" or "NAME:kill" for syscalls that
	// get another deny than the default.
	SystemCallFilterDenied []string `json:"system_call_filter_denied,omitempty"`
	// SystemCallErrorNumber is the planned SystemCallErrorNumber= ("" for
	// systemd's default, killing the process); SystemCallLog the names
	// of SystemCallLog= (enforce = "systemd").
	SystemCallErrorNumber string   `json:"system_call_error_number,omitempty"`
	SystemCallLog         []string `json:"system_call_log,omitempty"`
	// Overrides are host drop-ins that undo fencer's (verify plans only).
	Overrides []Override `json:"overrides,omitempty"`
	// Names are the names systemd knows the unit by (the unit's own and
	// its aliases), FragmentPath the unit file and DropIns the drop-ins
	// it reads for it once the plan is applied (fencer's among them), as
	// fencer found them; verify compares them with systemctl show.
	Names        []string `json:"names,omitempty"`
	FragmentPath string   `json:"fragment_path,omitempty"`
	DropIns      []string `json:"drop_ins,omitempty"`
}

// FdPlan is an fd binding with its number.
type FdPlan struct {
	Name    string `json:"name"`
	Number  int    `json:"number"`
	Binding string `json:"binding"`
}

// ChangeAction is what happens to a file.
type ChangeAction string

// File actions.
const (
	Create ChangeAction = "create"
	Update ChangeAction = "update"
	Delete ChangeAction = "delete"
	NoOp   ChangeAction = "no-op"
)

// Change is one file on a host.
type Change struct {
	Path   string       `json:"path"`
	Action ChangeAction `json:"action"`
	// Role says what the file is (Role).
	Role   Role   `json:"role"`
	Binary bool   `json:"binary"`
	Mode   uint32 `json:"mode"`
	// PriorSHA256 is the hash of the file when the plan was made, ""
	// when it did not exist; apply refuses a file that no longer has it.
	PriorSHA256 string `json:"prior_sha256"`
	PriorSize   int    `json:"prior_size"`
	// PriorMode is the file's permission bits when the plan was made.
	PriorMode uint32 `json:"prior_mode,omitempty"`
	// Prior is the old content of a text file, for the diff.
	Prior string `json:"prior,omitempty"`
	// Content is the new content (nil for Delete).
	Content []byte `json:"content,omitempty"`
	// Text is the new content of a text file in -json output, which
	// leaves Content out.
	Text      string   `json:"text,omitempty"`
	NewSHA256 string   `json:"new_sha256,omitempty"`
	Units     []string `json:"units,omitempty"`

	// TakeOver is set on an update that replaces a file that is not the
	// configuration's: one without fencer's header (an administrator's
	// own), or another configuration's (Owner). Apply refuses it unless
	// asked to adopt the path, and keeps the file at Original first, for
	// destroy to put back.
	TakeOver bool   `json:"take_over,omitempty"`
	Owner    string `json:"owner,omitempty"`
	// Original is, for a take-over, where the file is kept; for a
	// restore, where it was kept.
	Original string `json:"original,omitempty"`
	// Restore is set on an update that puts back (Content) the file
	// fencer took over, where a deletion of fencer's file would be.
	Restore bool `json:"restore,omitempty"`
}

// Counts are a plan's totals.
type Counts struct{ Add, Change, Destroy, Restart int }

// Counts sums the plan's changes.
func (p *Plan) Counts() Counts {
	var c Counts
	for _, h := range p.Hosts {
		c.Restart += len(h.Restarts)
		for _, ch := range h.Changes {
			switch ch.Action {
			case Create:
				c.Add++
			case Update:
				c.Change++
			case Delete:
				c.Destroy++
			}
		}
	}
	return c
}

// HasChanges reports whether applying the plan changes anything: a file,
// or a unit to restart.
func (p *Plan) HasChanges() bool { return p.Counts() != Counts{} }

// HasFileChanges reports whether applying the plan changes a file.
func (p *Plan) HasFileChanges() bool {
	c := p.Counts()
	return c.Add+c.Change+c.Destroy > 0
}

// Failed lists the hosts that could not be planned.
func (p *Plan) Failed() []*HostPlan {
	var out []*HostPlan
	for _, h := range p.Hosts {
		if h.Error != "" {
			out = append(out, h)
		}
	}
	return out
}

// Options is what Make needs besides the configuration.
type Options struct {
	// Hosts are the transports by host name; every host of the
	// configuration that a service is planned for must have one.
	Hosts map[string]host.Reader
	// Loader is the fencer binary to install where a host lacks the
	// loader; nil for the running fencer (loader.Self), which fencer
	// plan installs. Tests set a stand-in.
	Loader *loader.Binary
	// Destroy plans the removal of everything fencer installed.
	Destroy bool
	// Verify plans for fencer verify: drop-ins that override fencer's are
	// recorded in ServicePlan.Overrides instead of failing the host.
	Verify bool
	// Parallelism bounds how many hosts are planned at once
	// (host.DefaultParallelism when 0).
	Parallelism   int
	FencerVersion string
	ConfigDir     string

	// id is the configuration's id, which Make takes from it.
	id string
}

// Make plans every host of the configuration. Configuration errors are
// diagnostics; a host that cannot be reached or planned gets its Error set
// and the others are planned still.
func Make(ctx context.Context, cfg *hclspec.Config, opts Options) (*Plan, hcl.Diagnostics) {
	p := &Plan{FormatVersion: FormatVersion, FencerVersion: opts.FencerVersion, ConfigDir: opts.ConfigDir,
		ConfigID: cfg.ID, Created: time.Now().UTC(), Destroy: opts.Destroy}
	if d := cfg.IDDiagnostics(hcl.DiagError); d != nil {
		return p, d
	}
	opts.id = cfg.ID
	for _, h := range cfg.Hosts {
		p.Hosts = append(p.Hosts, &HostPlan{Name: h.Name, Address: h.Address, Scope: h.Scope})
	}
	var diags hcl.Diagnostics
	var mu sync.Mutex
	host.Each(len(cfg.Hosts), opts.Parallelism, func(i int) {
		d := planHost(ctx, cfg, cfg.Hosts[i], p.Hosts[i], opts)
		mu.Lock()
		diags = append(diags, d...)
		mu.Unlock()
	})
	return p, resolve.MergeArches(diags)
}

// servicesOn returns the services planned for host h, in order.
func servicesOn(cfg *hclspec.Config, h *hclspec.Host) []*hclspec.Service {
	var out []*hclspec.Service
	for _, svc := range cfg.Services {
		for _, x := range cfg.ServiceHosts(svc) {
			if x == h {
				out = append(out, svc)
				break
			}
		}
	}
	return out
}

func planHost(ctx context.Context, cfg *hclspec.Config, h *hclspec.Host, hp *HostPlan, opts Options) hcl.Diagnostics {
	t, ok := opts.Hosts[h.Name]
	if !ok {
		hp.Error = "no transport for this host"
		return nil
	}
	facts, err := t.Facts(ctx)
	if err != nil {
		hp.Error = fmt.Sprintf("reading facts: %v", err)
		return nil
	}
	hp.Arch, hp.SystemdVersion, hp.Root, hp.Live, hp.Scope = facts.Arch, facts.SystemdVersion, facts.Root, facts.Live, facts.Scope
	hp.FencerPath = h.FencerPath
	a, ok := arch.Lookup(facts.Arch)
	if !ok {
		hp.Error = fmt.Sprintf("the host's architecture %q is not one fencer supports (%s)", facts.Arch, strings.Join(arch.Names(), ", "))
		return nil
	}
	if h.Arch != "" && h.Arch != a.Name {
		hp.Error = fmt.Sprintf("the configuration says this host is %s, but it reports %s", h.Arch, a.Name)
		return nil
	}
	var diags hcl.Diagnostics
	var want []*File
	var inputs []*unitRead
	// The host's units as systemd will read them after apply, fencer's
	// unit files and socket units in place; destroy reads none.
	var lk *unitfile.Lookup
	if !opts.Destroy {
		var written []*File
		for _, svc := range servicesOn(cfg, h) {
			written = append(written, unitFiles(facts.Paths, svc, opts.id)...)
			// Its content is made from what the lookup finds; where it
			// stands is what matters here.
			written = append(written, &File{Path: RoleDropIn.Path(facts.Paths, svc.Unit), Role: RoleDropIn})
		}
		if lk, err = hostLookup(ctx, t, facts, unitsWritten(written)); err != nil {
			hp.Error = err.Error()
			return nil
		}
	}
	for _, svc := range servicesOn(cfg, h) {
		files, sp, in, d, err := planService(ctx, t, facts, lk, h, svc, a, opts)
		diags = append(diags, d...)
		if err != nil {
			hp.Error = err.Error()
			return diags
		}
		if sp != nil {
			hp.Services = append(hp.Services, sp)
		}
		if in != nil {
			inputs = append(inputs, in)
		}
		want = append(want, files...)
	}
	if diags.HasErrors() {
		return diags
	}
	gone, notes, err := orphans(ctx, t, facts.Paths, want, servicesOn(cfg, h), opts.id, cfg.IDRange.Filename != "", opts.Destroy)
	if err != nil {
		hp.Error = err.Error()
		return diags
	}
	changes, more, err := compare(ctx, t, facts.Paths, want, gone, opts.id, opts.Destroy)
	if err != nil {
		hp.Error = err.Error()
		return diags
	}
	hp.Changes, hp.Notes = changes, append(notes, more...)
	// A file the plan writes has its own prior hash, and it is what the
	// plan makes it: as an input it would only be compared with itself.
	written := map[string]bool{}
	for _, ch := range changes {
		written[ch.Path] = true
	}
	for _, in := range inputs {
		isWritten := func(p string) bool { return written[p] }
		hp.Inputs = append(hp.Inputs, UnitInputs{Unit: in.unit,
			Fragments: fragmentInputs(in.frags, RoleDropIn.Path(facts.Paths, in.unit), isWritten),
			Sockets:   socketInputs(in.scan, isWritten)})
	}
	return diags
}

// unitRead is what planning a service read of its unit: the fragments,
// none when the unit is found nowhere or masked.
type unitRead struct {
	unit  string
	frags []unitfile.Fragment
	// scan is what the socket units on the search path do to the unit.
	scan *socketScan
}

// planService compiles svc for the host and renders its files; lk is the
// host's unit search path (nil for destroy).
func planService(ctx context.Context, t host.Reader, facts *host.Facts, lk *unitfile.Lookup, h *hclspec.Host, svc *hclspec.Service, a *arch.Arch, opts Options) ([]*File, *ServicePlan, *unitRead, hcl.Diagnostics, error) {
	c, diags := resolve.Compile(svc, a)
	if diags.HasErrors() {
		return nil, nil, nil, diags, nil
	}
	p := facts.Paths
	prog := c.Program.Encode(a.Order)
	sum := sha256.Sum256(prog)
	hash := hex.EncodeToString(sum[:])
	sp := &ServicePlan{Name: svc.Name, Unit: svc.Unit, Enforce: svc.Enforce,
		FilterPath: RoleFilter.Path(p, svc.Unit), FilterSHA256: hash, FilterInsns: len(c.Program)}
	sp.Enforcement.Default = c.Filter.Default.String()
	if svc.Enforce == hclspec.EnforceSystemd {
		// No loader installs a BPF filter: systemd's names are all.
		sp.FilterPath, sp.FilterSHA256, sp.FilterInsns = "", "", 0
	}
	if strings.Contains(svc.Unit, ":") && facts.Systemd != nil && !facts.Systemd.ColonUnitsVerify {
		return nil, nil, nil, diags, fmt.Errorf("service %q: unit %s has a ':' in its name, and this host's systemd-analyze verify fails on such names (systemd 252 says \"Couldn't process aliases\"), so apply could not verify the unit before it reloads systemd: give the unit a name without ':'", svc.Name, svc.Unit)
	}
	for _, fd := range svc.Fds {
		sp.Fds = append(sp.Fds, FdPlan{Name: fd.Name, Number: fd.Number, Binding: bindingText(fd)})
		if v := fd.Kind.MinSystemd(); v != 0 && facts.SystemdVersion != 0 && facts.SystemdVersion < v {
			return nil, nil, nil, diags, fmt.Errorf("service %q: fd %q uses %s, which needs systemd %d or newer; this host has systemd %d",
				svc.Name, fd.Name, fd.Kind, v, facts.SystemdVersion)
		}
	}
	for _, r := range c.Filter.Rules {
		if r.When != policy.Const(true) {
			sp.ConditionRules++
		}
	}
	var files []*File
	units := []string{svc.Unit}
	if unittext.HasSockets(svc) {
		units = append(units, unittext.SocketUnit(svc.Unit))
	}
	if svc.Enforce == hclspec.EnforceExec {
		files = append(files, &File{Path: sp.FilterPath, Content: prog, Mode: 0o644, Binary: true, Units: []string{svc.Unit}, Role: RoleFilter})
	} else {
		// A filter an earlier enforce = "exec" installed goes.
		files = append(files, &File{Path: RoleFilter.Path(p, svc.Unit), Remove: true, Binary: true, Units: []string{svc.Unit}, Role: RoleFilter})
	}
	files = append(files, unitFiles(p, svc, opts.id)...)

	in := unittext.DropIn{Service: svc, ID: opts.id}
	if c.Systemd != nil {
		lines, err := unittext.SystemdSettings(c.Systemd, a, facts.SystemdDefault(), facts.SystemdKnows)
		if err != nil {
			return nil, nil, nil, diags, fmt.Errorf("service %q: %w", svc.Name, err)
		}
		in.Names, in.Deny, in.Log, in.Systemd = lines.Allow, lines.Deny, lines.Log, true
		in.Errno = unittext.ErrnoSetting(c.Filter.Default)
	} else {
		in.Names, in.Errno, sp.Enforcement.Unknown = unittext.SystemdNames(c.Filter, a, nil, facts.SystemdKnows)
	}
	sp.SystemdFilter = in.Names != nil
	// Destroy needs the files' paths only: a unit that is gone, or that
	// cannot be wrapped any more, must not keep fencer's files in place.
	var frags []unitfile.Fragment
	var unit *unitfile.Unit
	var read *unitRead
	if !opts.Destroy {
		var err error
		var shadow *Override
		if unit, shadow, err = serviceUnit(ctx, t, lk, p, svc); err != nil {
			return nil, nil, nil, diags, err
		}
		if shadow != nil {
			if !opts.Verify {
				return nil, nil, nil, diags, fmt.Errorf("service %q: %s: %s", svc.Name, shadow.Path, shadow.Problem())
			}
			sp.Overrides = append(sp.Overrides, *shadow)
		}
		// The plan depends on these files; apply reads them again.
		frags = unit.Fragments
		read = &unitRead{unit: svc.Unit, frags: frags}
		sp.Names, sp.FragmentPath, sp.DropIns = unit.Names, frags[0].Path, plannedDropIns(frags, RoleDropIn.Path(p, svc.Unit))
		if svc.UnitFile != nil {
			sp.FragmentPath = path.Join(p.UnitDir, svc.Unit)
		}
	}
	// theirs are the unit as it is without fencer's drop-in.
	var theirs []unitfile.Fragment
	for _, fr := range frags {
		if fr.Path != RoleDropIn.Path(p, svc.Unit) {
			theirs = append(theirs, fr)
		}
	}
	if svc.Enforce == hclspec.EnforceExec && !opts.Destroy {
		cmd, err := execStart(svc, frags)
		if err != nil {
			return nil, nil, nil, diags, err
		}
		sp.ExecStart = cmd.Raw
		loaderArgs := []string{"exec", "-filter=" + sp.FilterPath, "-sha256=" + hash}
		// systemd starts the service with SIGPIPE ignored unless the unit
		// says IgnoreSIGPIPE=no; the loader, which starts it now, must
		// do the same.
		ignore, err := unitfile.Bool(theirs, "Service", "IgnoreSIGPIPE", true)
		if err != nil {
			return nil, nil, nil, diags, fmt.Errorf("service %q: %w", svc.Name, err)
		}
		if !ignore {
			loaderArgs = append(loaderArgs, "-sigpipe=default")
		}
		wrapped, err := unitfile.Wrap(cmd, h.FencerPath, loaderArgs)
		if err != nil {
			return nil, nil, nil, diags, fmt.Errorf("service %q: %w", svc.Name, err)
		}
		in.ExecStart, sp.WrappedStart = wrapped, wrapped
		if in.Names != nil {
			// What the loader needs before it execs the service.
			in.Names, in.Errno, _ = unittext.SystemdNames(c.Filter, a, loader.Syscalls(a.Name), facts.SystemdKnows)
		}
		bin, err := loaderFile(ctx, t, h, a, opts)
		if err != nil {
			return nil, nil, nil, diags, err
		}
		if bin != nil {
			files = append(files, bin)
		}
		// The loader installs the BPF filter, which enforces the
		// argument conditions, and the exec-once gate when no rule
		// names execve.
		sp.Enforcement.Loader = h.FencerPath
		sp.Enforcement.ExecOnce = len(c.Filter.ExecOnce) > 0
	}
	switch {
	case c.Systemd != nil:
		sp.Enforcement.Names, sp.Enforcement.Allowed, sp.Enforcement.Denied = NamesSystemdAlone, len(in.Names), len(in.Deny)
		for _, n := range c.Systemd.Narrowed {
			sp.Enforcement.Narrowed = append(sp.Enforcement.Narrowed, Narrowed{Rule: n.Rule, Syscall: n.Syscall, Allows: n.Allows, Verdict: n.Verdict.String()})
		}
	case sp.SystemdFilter:
		sp.Enforcement.Names, sp.Enforcement.Allowed = NamesBoth, len(in.Names)
	default:
		sp.Enforcement.Names = NamesFilterOnly
	}
	if sp.SystemdFilter && !opts.Destroy {
		others, err := otherCommands(svc, theirs)
		if err != nil {
			return nil, nil, nil, diags, err
		}
		sp.Enforcement.OtherCommands = others
	}
	if c.Systemd != nil && !opts.Destroy {
		// Nothing wraps the command: its prefixes decide whether
		// SystemCallFilter= applies to it at all.
		cmds, _, err := unitfile.ExecStart(theirs)
		if err != nil {
			return nil, nil, nil, diags, fmt.Errorf("service %q: %w", svc.Name, err)
		}
		for _, cmd := range cmds {
			if cmd.Has("+") || cmd.Has("!!") {
				return nil, nil, nil, diags, fmt.Errorf("service %q: ExecStart=%s%s (%s:%d) runs without SystemCallFilter= (\"+\" skips the sandbox; \"!!\" widens it where the kernel lacks ambient capabilities), so enforce = \"systemd\" would not apply to the service: remove the prefix",
					svc.Name, cmd.Prefixes, cmd.Raw, cmd.Path, cmd.Line)
			}
		}
	}
	if svc.Enforce == hclspec.EnforceExec && !opts.Destroy {
		// The loader and the filter must be where the service sees them.
		hidden, err := sandboxProblems(theirs, svc.Unit, scopeSpecifiers(facts), [][2]string{{"loader", h.FencerPath}, {"filter", sp.FilterPath}},
			map[string]bool{h.FencerPath: true})
		if err != nil {
			return nil, nil, nil, diags, fmt.Errorf("service %q: %w", svc.Name, err)
		}
		if len(hidden) > 0 && !opts.Verify {
			return nil, nil, nil, diags, fmt.Errorf("service %q: %s", svc.Name, hidden[0].Problem())
		}
		sp.Overrides = append(sp.Overrides, hidden...)
	}
	drop := in.Text()
	if !opts.Destroy {
		overrides, err := checkDropIns(svc, frags, RoleDropIn.Path(p, svc.Unit), drop)
		if err != nil {
			return nil, nil, nil, diags, err
		}
		if len(overrides) > 0 && !opts.Verify {
			return nil, nil, nil, diags, fmt.Errorf("service %q: %s: %s", svc.Name, overrides[0].Path, overrides[0].Problem())
		}
		sp.Overrides = append(sp.Overrides, overrides...)
	}
	if read != nil {
		// Other fds than the plan numbers, or in another order.
		scan, err := scanSockets(lk, unit, ownSocket(p, svc))
		if err != nil {
			return nil, nil, nil, diags, fmt.Errorf("service %q: %w", svc.Name, err)
		}
		read.scan = scan
		problems, err := checkSockets(svc, theirs, scan)
		if err != nil {
			return nil, nil, nil, diags, err
		}
		if len(problems) > 0 && !opts.Verify {
			return nil, nil, nil, diags, fmt.Errorf("service %q: %s: %s", svc.Name, problems[0].Path, problems[0].Problem())
		}
		sp.Overrides = append(sp.Overrides, problems...)
	}
	sp.SystemCallFilter, sp.SystemCallFilterDenied = in.Names, in.Deny
	sp.SystemCallErrorNumber, sp.SystemCallLog = in.Errno, in.Log
	files = append(files, &File{Path: RoleDropIn.Path(p, svc.Unit), Content: drop, Mode: 0o644, Units: units, Role: RoleDropIn})
	return files, sp, read, diags, nil
}

// otherExecKeys are the settings of a service's commands besides
// ExecStart=, in the order systemd runs them.
var otherExecKeys = []string{"ExecCondition", "ExecStartPre", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost"}

// otherCommands finds the unit's commands other than ExecStart= (theirs
// are its fragments without fencer's drop-in) that run under
// SystemCallFilter=: systemd applies it to every command of the service
// but those with the "+" prefix, so they run with the policy's names (and
// the loader's) and nothing else, while the BPF filter, which only the
// loader installs, does not apply to them.
func otherCommands(svc *hclspec.Service, theirs []unitfile.Fragment) ([]OtherCommand, error) {
	var out []OtherCommand
	for _, key := range otherExecKeys {
		cmds, err := unitfile.Commands(theirs, key)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", svc.Name, err)
		}
		for _, cmd := range cmds {
			if !cmd.Has("+") {
				out = append(out, OtherCommand{Key: key, Command: cmd.String(), Path: cmd.Path, Line: cmd.Line})
			}
		}
	}
	return out, nil
}

// checkDropIns finds the host's drop-ins for the unit that would undo
// fencer's (own, its path; drop, its content): systemd applies drop-ins
// in the order of their file names, so one that sorts after unittext.DropInName
// and assigns a [Service] setting fencer's drop-in sets (SystemCallFilter=
// adds to the list, ExecStart= replaces the wrapped command) overrides
// it; and of the drop-ins of one name only the first along the unit
// search path is read, so a unittext.DropInName elsewhere replaces fencer's.
func checkDropIns(svc *hclspec.Service, frags []unitfile.Fragment, own string, drop []byte) ([]Override, error) {
	ours, err := unitfile.Parse(own, drop)
	if err != nil {
		return nil, fmt.Errorf("service %q: fencer's drop-in: %w", svc.Name, err)
	}
	keys := map[string]bool{}
	for _, e := range ours.Entries {
		if e.Section == "Service" {
			keys[e.Key] = true
		}
	}
	var out []Override
	for _, fr := range frags[1:] {
		base := path.Base(fr.Path)
		if base == unittext.DropInName && fr.Path != own {
			o := Override{Kind: OverrideDropInName, Path: fr.Path, Own: own}
			out = append(out, o)
			continue
		}
		if base <= unittext.DropInName {
			continue
		}
		f, err := unitfile.Parse(fr.Path, fr.Data)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", svc.Name, err)
		}
		var set []string
		for _, e := range f.Entries {
			if e.Section == "Service" && keys[e.Key] && !slices.Contains(set, e.Key+"=") {
				set = append(set, e.Key+"=")
			}
		}
		if len(set) > 0 {
			o := Override{Kind: OverrideDropInSettings, Path: fr.Path, Settings: set}
			out = append(out, o)
		}
	}
	return out, nil
}

// bindingText is the fd's binding as the configuration writes it.
func bindingText(fd *hclspec.Fd) string {
	if fd.Kind == hclspec.FdNumber {
		return fmt.Sprintf("number = %d", fd.Number)
	}
	return fmt.Sprintf("%s = %q", fd.Kind, fd.Value)
}

// unitFiles are the unit file (with unit_file) and the socket unit (with
// listen_* fds) fencer writes for the service.
func unitFiles(p host.Paths, svc *hclspec.Service, id string) []*File {
	var files []*File
	if svc.UnitFile != nil {
		files = append(files, &File{Path: path.Join(p.UnitDir, svc.Unit), Content: unittext.UnitFile(svc, id, *svc.UnitFile), Mode: 0o644,
			Units: []string{svc.Unit}, Role: RoleUnitFile})
	}
	if unittext.HasSockets(svc) {
		files = append(files, &File{Path: path.Join(p.UnitDir, unittext.SocketUnit(svc.Unit)), Content: unittext.Socket(svc, id), Mode: 0o644,
			Units: []string{unittext.SocketUnit(svc.Unit)}, Role: RoleSocket})
	}
	return files
}

// serviceUnit finds what systemd will load for the service's unit once
// the plan is applied (lk has fencer's unit files in place), and refuses
// what fencer cannot wrap: a unit the host does not have (apply would
// fail), a masked one, an alias of another unit (systemd loads that unit,
// and fencer's drop-in is read for the alias only as long as the alias
// exists: fencer writes its files for the unit's own name). A unit_file
// that is not the file systemd loads (an earlier copy on the search path
// wins, with its own Sockets= and ExecStart=), or that would replace a
// mask, is returned as an Override: verify reports it as drift.
func serviceUnit(ctx context.Context, t host.Reader, lk *unitfile.Lookup, p host.Paths, svc *hclspec.Service) (*unitfile.Unit, *Override, error) {
	own := path.Join(p.UnitDir, svc.Unit)
	u, err := lk.Unit(svc.Unit)
	var masked *unitfile.MaskedError
	switch {
	case errors.As(err, &masked):
		return nil, nil, fmt.Errorf("service %q: unit %s is masked on this host: %s %s, so systemd never starts it; unmask it (systemctl unmask %s), or do not plan the service for this host",
			svc.Name, svc.Unit, masked.Path, masked.How, svc.Unit)
	case errors.Is(err, unitfile.ErrNotFound):
		return nil, nil, fmt.Errorf("service %q: unit %s is not on this host (%v): install the unit there, or give the service a unit_file", svc.Name, svc.Unit, err)
	case err != nil:
		return nil, nil, fmt.Errorf("service %q: reading unit %s: %w", svc.Name, svc.Unit, err)
	}
	if u.ID != svc.Unit {
		return nil, nil, fmt.Errorf("service %q: unit %s is an alias of %s on this host (%s is a link to %s): systemd loads %s, and fencer writes its drop-in for the unit's own name, which does not depend on the alias; set unit = %q",
			svc.Name, svc.Unit, u.ID, u.Link, u.LinkTo, u.ID, u.ID)
	}
	if svc.UnitFile == nil {
		return u, nil, nil
	}
	if u.Fragments[0].Path != own {
		o := &Override{Kind: OverrideUnitFileShadowed, Path: u.Fragments[0].Path, Own: own}
		return u, o, nil
	}
	// fencer's unit file would replace a mask in its place.
	if b, _, err := t.ReadFile(ctx, own); err == nil && len(b) == 0 {
		o := &Override{Kind: OverrideUnitMasked, Path: own, Unit: svc.Unit}
		return u, o, nil
	}
	return u, nil, nil
}

// plannedDropIns lists the drop-ins systemd reads for the unit once
// fencer's own (own) is written: those of frags (the unit file and its
// drop-ins as the host has them) but any of fencer's name, and fencer's,
// in systemd's order.
func plannedDropIns(frags []unitfile.Fragment, own string) []string {
	out := []string{own}
	for _, fr := range frags[1:] {
		if path.Base(fr.Path) != unittext.DropInName {
			out = append(out, fr.Path)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return path.Base(out[i]) < path.Base(out[j]) })
	return out
}

// execStart finds the command to wrap: exec_start, else the unit's own
// (frags, the unit file fencer installs or the host's, with the drop-ins
// but fencer's own). hclspec refuses an exec_start that is not one
// command.
func execStart(svc *hclspec.Service, frags []unitfile.Fragment) (unitfile.Command, error) {
	if svc.ExecStart != nil {
		cmds, err := unitfile.Split(*svc.ExecStart)
		if err != nil {
			return unitfile.Command{}, fmt.Errorf("service %q: exec_start: %w", svc.Name, err)
		}
		if len(cmds) != 1 {
			return unitfile.Command{}, fmt.Errorf("service %q: exec_start must be one command; it has %d", svc.Name, len(cmds))
		}
		return cmds[0], nil
	}
	var theirs []unitfile.Fragment
	for i, fr := range frags {
		if i == 0 || path.Base(fr.Path) != unittext.DropInName {
			theirs = append(theirs, fr)
		}
	}
	cmds, _, err := unitfile.ExecStart(theirs)
	if err != nil {
		return unitfile.Command{}, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	switch len(cmds) {
	case 0:
		return unitfile.Command{}, fmt.Errorf("service %q: unit %s has no ExecStart= to wrap; set exec_start", svc.Name, svc.Unit)
	case 1:
		return cmds[0], nil
	}
	return unitfile.Command{}, fmt.Errorf("service %q: unit %s has %d ExecStart= commands; fencer wraps exactly one — set exec_start", svc.Name, svc.Unit, len(cmds))
}

// loaderFile returns the loader to install at the host's fencer_path, or
// nil when one is there already.
func loaderFile(ctx context.Context, t host.Reader, h *hclspec.Host, a *arch.Arch, opts Options) (*File, error) {
	_, _, err := t.ReadFile(ctx, h.FencerPath)
	if err == nil {
		return nil, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("checking the loader at %s: %w", h.FencerPath, err)
	}
	bin := opts.Loader
	if bin == nil {
		if bin, err = loader.Self(); err != nil {
			return nil, fmt.Errorf("the host has no loader at %s and this fencer cannot copy itself: %w", h.FencerPath, err)
		}
	}
	if bin.Arch != a.Name {
		return nil, fmt.Errorf("the host has no loader at %s, and this fencer is built for %s, not %s: install fencer for %s at %s",
			h.FencerPath, bin.Arch, a.Name, a.Name, h.FencerPath)
	}
	return &File{Path: h.FencerPath, Content: bin.Data, Mode: 0o755, Binary: true, Role: RoleLoader}, nil
}

// compare reads each wanted file on the host and returns the changes, and
// notes on what it leaves alone; gone are files of the configuration's
// to remove (orphans). For a destroy plan every wanted file is removed
// too. A text file that is not the configuration's (unittext.OwnedBy) is taken
// over when wanted, and left alone when it would be removed. Removing a
// file fencer took over puts its original back.
func compare(ctx context.Context, t host.Reader, p host.Paths, want, gone []*File, id string, destroy bool) ([]*Change, []Note, error) {
	var out []*Change
	var notes []Note
	for i, f := range append(append([]*File(nil), want...), gone...) {
		remove := destroy || i >= len(want)
		cur, mode, err := t.ReadFile(ctx, f.Path)
		exists := err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("reading %s: %w", f.Path, err)
		}
		if f.Remove {
			if exists {
				out = append(out, &Change{Path: f.Path, Role: f.Role, Binary: f.Binary, Mode: f.Role.Mode(), Units: f.Units, Action: Delete,
					PriorSHA256: hashOf(cur), PriorSize: len(cur), PriorMode: uint32(mode.Perm())})
			}
			continue
		}
		ch := &Change{Path: f.Path, Role: f.Role, Binary: f.Binary, Mode: f.Mode, Units: f.Units}
		if exists {
			ch.PriorSHA256, ch.PriorSize, ch.PriorMode = hashOf(cur), len(cur), uint32(mode.Perm())
			if !f.Binary {
				ch.Prior = string(cur)
			}
		}
		// A binary file at fencer's path (a filter) has no header and is
		// fencer's; a text file is the configuration's by its header.
		ours := f.Binary || unittext.OwnedBy(cur, id)
		switch {
		case remove:
			// The loader may serve other services and configurations.
			if !exists || f.Role.Shared() {
				continue
			}
			if !ours {
				notes = append(notes, Note{Kind: NoteDestroyLeaves, Path: f.Path, Role: f.Role, Owner: ownerOf(cur)})
				// Put back already (a destroy stopped before it removed
				// the copy): only the copy is left to remove.
				if keep, err := keptCopy(ctx, t, p, f.Path, cur); err != nil {
					return nil, nil, err
				} else if keep != nil {
					out = append(out, keep)
				}
				continue
			}
			if f.Role.RunByDropIn() {
				// A filter has no header: it is the configuration's when
				// the drop-in that runs it is.
				if d, owner, err := foreignDropIn(ctx, t, p, f.Units[0], id); err != nil {
					return nil, nil, err
				} else if d != "" {
					notes = append(notes, Note{Kind: NoteForeignDropIn, Path: f.Path, DropIn: d, Owner: owner})
					continue
				}
			}
			rm, err := removal(ctx, t, p, ch)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, rm...)
			continue
		case !exists:
			ch.Action = Create
		case !ours:
			ch.Action = Update
			keep, err := takeOver(ctx, t, p, ch, cur, mode)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, keep)
		case string(cur) != string(f.Content) || uint32(mode.Perm()) != f.Mode:
			ch.Action = Update
		default:
			ch.Action = NoOp
		}
		ch.Content, ch.NewSHA256 = f.Content, hashOf(f.Content)
		out = append(out, ch)
	}
	sort.SliceStable(out, func(i, j int) bool { return applyOrder(out[i]) < applyOrder(out[j]) })
	return out, notes, nil
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// DestroyOnly reports whether every change deletes a file.
func DestroyOnly(changes []*Change) bool {
	for _, ch := range changes {
		if ch.Action != Delete {
			return false
		}
	}
	return true
}
