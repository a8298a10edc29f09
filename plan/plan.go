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
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/host"
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
//
// Version 5 added the targets a plan was limited to; version 6 records the
// loader by its path, size and hash (Change.Loader) instead of its bytes.
const FormatVersion = 6

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
	// Targets are the -target values the plan was limited to: it holds
	// only those hosts, and on them only those services' files.
	Targets []string `json:"targets,omitempty"`
}

// HostPlan is one host's part of a plan.
type HostPlan struct {
	Name    string `json:"name"`
	Address string `json:"address,omitempty"`
	// SSH is how the host is reached at Address, as its host block said
	// when the plan was made; nil without an address.
	SSH            *SSH           `json:"ssh,omitempty"`
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
	// Content is the new content (nil for Delete, and for the loader).
	Content []byte `json:"content,omitempty"`
	// Loader is, for the loader, the fencer binary installed: where it
	// was read and its size; its hash is NewSHA256. A plan does not carry
	// the binary (megabytes, the same for every host of an
	// architecture): apply installs its own loader for the host's
	// architecture, once it has checked that it has that hash.
	Loader *LoaderSource `json:"loader,omitempty"`
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

// LoaderSource is the fencer binary a plan installs as the loader.
type LoaderSource struct {
	// Path is where plan read it (loader.Binary.Path).
	Path string `json:"path"`
	Size int    `json:"size"`
}

// NewSize is the size of the file the change writes.
func (ch *Change) NewSize() int {
	if ch.Loader != nil {
		return ch.Loader.Size
	}
	return len(ch.Content)
}

// Counts are a plan's totals.
type Counts struct{ Add, Change, Destroy, Restart int }

// Counts sums the plan's changes.
func (p *Plan) Counts() Counts {
	var c Counts
	for _, h := range p.Hosts {
		hc := h.Counts()
		c.Add, c.Change, c.Destroy, c.Restart = c.Add+hc.Add, c.Change+hc.Change, c.Destroy+hc.Destroy, c.Restart+hc.Restart
	}
	return c
}

// Counts sums the host's changes.
func (h *HostPlan) Counts() Counts {
	c := Counts{Restart: len(h.Restarts)}
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

// SSH is how a host with an address is reached (the host block's
// attributes), kept in a plan so that apply PLANFILE reaches the host the
// plan was made for.
type SSH struct {
	Port           int    `json:"port"`
	User           string `json:"user,omitempty"`
	IdentityFile   string `json:"identity_file,omitempty"`
	KnownHostsFile string `json:"known_hosts_file,omitempty"`
	Bastion        string `json:"bastion,omitempty"`
	Become         string `json:"become,omitempty"`
	// ConnectTimeout is in Go's duration syntax ("10s").
	ConnectTimeout string `json:"connect_timeout,omitempty"`
}

// SSHOf returns the SSH settings of a host block with an address, nil for
// one without.
func SSHOf(h *hclspec.Host) *SSH {
	if h.Address == "" {
		return nil
	}
	return &SSH{Port: h.Port, User: h.User, IdentityFile: h.IdentityFile, KnownHostsFile: h.KnownHostsFile,
		Bastion: h.Bastion, Become: h.Become, ConnectTimeout: h.ConnectTimeout.String()}
}

// Host returns the host block the settings are of, for a host of the
// plan named name at address.
func (s *SSH) Host(name, address, scope string) (*hclspec.Host, error) {
	d, err := time.ParseDuration(s.ConnectTimeout)
	if s.ConnectTimeout == "" {
		d, err = hclspec.DefaultConnectTimeout, nil
	}
	if err != nil {
		return nil, fmt.Errorf("host %q: the plan's connect_timeout %q: %w", name, s.ConnectTimeout, err)
	}
	return &hclspec.Host{Name: name, Address: address, Scope: scope, Port: s.Port, User: s.User, IdentityFile: s.IdentityFile,
		KnownHostsFile: s.KnownHostsFile, Bastion: s.Bastion, Become: s.Become, ConnectTimeout: d}, nil
}

// Options is what Make needs besides the configuration.
type Options struct {
	// Hosts are the transports by host name; every host of the
	// configuration that a service is planned for must have one.
	Hosts map[string]host.Reader
	// Loader holds the fencer binaries to install where a host lacks the
	// loader, by architecture (-loader); nil for loader.NewSet: the
	// running fencer for its own architecture, and the loader
	// directories. Tests set a stand-in.
	Loader *loader.Set
	// Destroy plans the removal of everything fencer installed.
	Destroy bool
	// Verify plans for fencer verify: drop-ins that override fencer's are
	// recorded in ServicePlan.Overrides instead of failing the host.
	Verify bool
	// Parallelism bounds how many hosts are planned at once
	// (host.DefaultParallelism when 0).
	Parallelism int
	// Targets limit the hosts and services planned (-target); nil plans
	// every one. The plan records them (Plan.Targets).
	Targets *Targets
	// HostErrors are hosts that failed before planning (their transport
	// could not be opened, their lock could not be had): each is planned
	// as failed, with the error, and the others still are.
	HostErrors map[string]error
	// Observe, when set, is told where each host is (connecting,
	// planning, planned or failed); it is called from several goroutines
	// at once.
	Observe       func(Event)
	FencerVersion string
	ConfigDir     string

	// id is the configuration's id, which Make takes from it.
	id string
	// hostLoader returns the loader file the host being planned needs,
	// nil when it has one (loaderFile), asked once per host.
	hostLoader func() (*File, error)
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
	if opts.Loader == nil {
		// One set for every host: each binary is read and hashed once.
		opts.Loader = loader.NewSet()
	}
	if opts.Targets.Targeted() {
		p.Targets = opts.Targets.List
	}
	var hosts []*hclspec.Host
	for _, h := range cfg.Hosts {
		if opts.Targets.Host(cfg, h) {
			hosts = append(hosts, h)
			p.Hosts = append(p.Hosts, &HostPlan{Name: h.Name, Address: h.Address, SSH: SSHOf(h), Scope: h.Scope, Arch: h.Arch})
		}
	}
	var diags hcl.Diagnostics
	var mu sync.Mutex
	host.Each(len(hosts), opts.Parallelism, func(i int) {
		hp := p.Hosts[i]
		d := planHost(ctx, cfg, hosts[i], hp, opts)
		ev := Event{Host: hp.Name, Step: StepPlanned}
		switch {
		case hp.Error != "":
			ev.Step, ev.Err = StepFailed, hp.Error
		case d.HasErrors():
			ev.Step, ev.Err = StepFailed, "the configuration has errors for this host"
		}
		opts.observe(ev)
		mu.Lock()
		diags = append(diags, d...)
		mu.Unlock()
	})
	return p, resolve.MergeArches(diags)
}

func (o Options) observe(e Event) {
	if o.Observe != nil {
		o.Observe(e)
	}
}

// servicesOn returns the services planned for host h, in order: those of
// the targets only, when there are.
func servicesOn(cfg *hclspec.Config, h *hclspec.Host, targets *Targets) []*hclspec.Service {
	var out []*hclspec.Service
	for _, svc := range cfg.Services {
		if !targets.Service(svc) {
			continue
		}
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
	if err := opts.HostErrors[h.Name]; err != nil {
		hp.Error = err.Error()
		return nil
	}
	t, ok := opts.Hosts[h.Name]
	if !ok {
		hp.Error = "no transport for this host"
		return nil
	}
	opts.observe(Event{Host: h.Name, Step: StepConnecting})
	facts, err := t.Facts(ctx)
	if err != nil {
		hp.Error = fmt.Sprintf("reading facts: %v", err)
		return nil
	}
	opts.observe(Event{Host: h.Name, Step: StepPlanning})
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
	// The loader serves every service of the host: whether the host
	// needs it is asked once.
	opts.hostLoader = sync.OnceValues(func() (*File, error) { return loaderFile(ctx, t, h, a, opts) })
	var diags hcl.Diagnostics
	var want []*File
	shared := map[string]bool{}
	var inputs []*unitRead
	// The host's units as systemd will read them after apply, fencer's
	// unit files and socket units in place; destroy reads none.
	var lk *hostUnits
	if !opts.Destroy {
		var written []*File
		for _, svc := range servicesOn(cfg, h, opts.Targets) {
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
	for _, svc := range servicesOn(cfg, h, opts.Targets) {
		planned, d, err := planService(ctx, t, facts, lk, h, svc, a, opts)
		diags = append(diags, d...)
		if err != nil {
			hp.Error = err.Error()
			return diags
		}
		if planned == nil {
			continue // the policy's diagnostics say why
		}
		hp.Services = append(hp.Services, planned.sp)
		if planned.read != nil {
			inputs = append(inputs, planned.read)
		}
		want = addFiles(want, planned.files, shared)
	}
	if diags.HasErrors() {
		return diags
	}
	// With service targets, the other services' files stay as they are:
	// none is an orphan.
	var gone []*File
	var notes []Note
	if !opts.Targets.limitsServices() {
		if gone, notes, err = orphans(ctx, t, facts.Paths, want, servicesOn(cfg, h, opts.Targets), opts.id, cfg.IDRange.Filename != "", opts.Destroy); err != nil {
			hp.Error = err.Error()
			return diags
		}
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

// addFiles adds a service's files to those wanted on its host; a shared
// file, the loader, which serves every service of the host, once: shared
// holds the paths of those added so far.
func addFiles(want, files []*File, shared map[string]bool) []*File {
	for _, f := range files {
		if f.Role.Shared() {
			if shared[f.Path] {
				continue
			}
			shared[f.Path] = true
		}
		want = append(want, f)
	}
	return want
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
					PriorSHA256: Hash(cur), PriorSize: len(cur), PriorMode: uint32(mode.Perm())})
			}
			continue
		}
		ch := &Change{Path: f.Path, Role: f.Role, Binary: f.Binary, Mode: f.Mode, Units: f.Units}
		if exists {
			ch.PriorSHA256, ch.PriorSize, ch.PriorMode = Hash(cur), len(cur), uint32(mode.Perm())
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
				notes = append(notes, Note{Kind: NoteDestroyLeaves, Path: f.Path, Role: f.Role, Owner: unittext.Owner(cur)})
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
		case !sameContent(cur, f) || uint32(mode.Perm()) != f.Mode:
			ch.Action = Update
		default:
			ch.Action = NoOp
		}
		ch.Content, ch.NewSHA256 = f.Content, f.sha256()
		if f.Loader != nil {
			ch.Loader = &LoaderSource{Path: f.Loader.Path, Size: len(f.Loader.Data)}
		}
		out = append(out, ch)
	}
	sort.SliceStable(out, func(i, j int) bool { return applyOrder(out[i]) < applyOrder(out[j]) })
	return out, notes, nil
}

// sameContent reports whether cur is f's content.
func sameContent(cur []byte, f *File) bool {
	if f.Loader != nil {
		return len(cur) == len(f.Loader.Data) && Hash(cur) == f.Loader.SHA256()
	}
	return string(cur) == string(f.Content)
}

// Hash is the SHA-256 of b in hex: how a plan records a file's content.
func Hash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ShortHash is a hash as people are shown it: its first 16 hex digits.
func ShortHash(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
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
