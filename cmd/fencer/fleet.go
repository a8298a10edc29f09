package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/apply"
	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/spelling"
	"github.com/fencer-dev/fencer/internal/views"
	"github.com/fencer-dev/fencer/plan"
)

// This file holds what plan, apply, destroy and verify share about working
// on several hosts: which hosts (-target, -host), their transports, their
// locks, the progress while they are worked on and the summary at the end.

const fleetOptionsHelp = `  -target=ADDR       Limit the command to a host or a service, as
                     Terraform's -target; repeat it for more. host.NAME
                     names a host, an instance of a for_each host
                     (host.edge["edge-1"]) or a whole host block
                     (host.edge); service.NAME a service, whose files
                     alone are planned: the files of other services on
                     its hosts are left as they are, not removed. A plan
                     saved with -out records its targets.

  -host=NAME         Pull mode: work on host NAME of the configuration
                     only, and reach it as this machine, whatever its
                     address: run on the host itself (by a systemd timer,
                     say) it applies that host's part of the
                     configuration.
`

// fleet is the hosts a command works on.
type fleet struct {
	targets *plan.Targets
	readers map[string]host.Reader
	hosts   map[string]host.Target
	// failed are the hosts that failed before they were planned (their
	// transport could not be opened, their lock could not be had), with
	// the error: each fails alone.
	failed map[string]error
}

// selectHosts reads -target, and for -host=NAME (pull mode) keeps only
// that host in cfg, without its address: this machine.
func (o *planOptions) selectHosts(cfg *hclspec.Config) (*plan.Targets, hcl.Diagnostics) {
	// Decided on the configuration, not on what is selected, so that a
	// host's tree is the same whatever -target or -host says.
	o.perHostRoot = len(cfg.Hosts) > 1
	if o.pull != "" {
		var names []string
		var found *hclspec.Host
		for _, h := range cfg.Hosts {
			names = append(names, h.Name)
			if h.Name == o.pull {
				found = h
			}
		}
		if found == nil {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unknown host",
				Detail: fmt.Sprintf("-host=%s: the configuration has no host of that name; its hosts are %s.%s",
					o.pull, strings.Join(names, ", "), spelling.DidYouMean(o.pull, names))}}
		}
		h := *found
		h.Address = ""
		cfg.Hosts = []*hclspec.Host{&h}
	}
	return plan.ParseTargets(cfg, o.targets)
}

// hosts builds a transport for every host of the configuration the
// targets select: a host with an address is reached over SSH (without
// -root). A host whose transport cannot be opened (or reached) is in
// fleet.failed.
func (o *planOptions) hosts(cfg *hclspec.Config, targets *plan.Targets) (*fleet, hcl.Diagnostics) {
	f := &fleet{targets: targets, readers: map[string]host.Reader{}, hosts: map[string]host.Target{}, failed: map[string]error{}}
	var selected []*hclspec.Host
	for _, h := range cfg.Hosts {
		if targets.Host(cfg, h) {
			selected = append(selected, h)
		}
	}
	// Opening a host may mean reaching it: in parallel, shown as
	// connecting.
	observe := o.observer()
	var mu sync.Mutex
	host.Each(len(selected), o.parallelism, func(i int) {
		h := selected[i]
		if observe != nil {
			observe(plan.Event{Host: h.Name, Step: plan.StepConnecting})
			o.connecting.Store(h.Name, true)
		}
		t, err := o.openHost(h, "")
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			f.failed[h.Name] = err
			return
		}
		f.readers[h.Name], f.hosts[h.Name] = t, t
	})
	return f, nil
}

// openHosts is selectHosts and hosts for a command, which then shows
// progress when there are several hosts: on a mistake in the host blocks
// or the flags it prints the diagnostics so far, diags among them, and is
// false. Otherwise it returns diags with the host blocks' warnings added.
func (o *planOptions) openHosts(c *cli, src *sources, cfg *hclspec.Config, diags hcl.Diagnostics) (*fleet, hcl.Diagnostics, bool) {
	targets, more := o.selectHosts(cfg)
	if diags = append(diags, more...); more.HasErrors() {
		c.printDiags(src, diags)
		return nil, diags, false
	}
	// The progress starts before the hosts are opened: opening one may
	// mean connecting to it.
	selected := 0
	for _, h := range cfg.Hosts {
		if targets.Host(cfg, h) {
			selected++
		}
	}
	if selected > 1 && !o.noProgress {
		o.progress = c.newProgress()
	}
	f, more := o.hosts(cfg, targets)
	if diags = append(diags, more...); more.HasErrors() {
		c.printDiags(src, diags)
		return nil, diags, false
	}
	return f, diags, true
}

// openHost opens host h: with -root its tree (rootDir), else over SSH
// when it has an address (connected now), else this machine. tree, when
// set, is the tree a saved plan recorded. It is the one place a command
// makes a host's transport.
func (o *planOptions) openHost(h *hclspec.Host, tree string) (host.Target, error) {
	if tree != "" {
		return host.Root(h.Name, tree, h.Arch, h.Scope)
	}
	if o.root == "" && h.Address != "" {
		return o.sshHost(h)
	}
	if o.root == "" {
		return host.Local(h.Name, h.Scope)
	}
	dir, err := o.rootDir(h.Name)
	if err != nil {
		return nil, err
	}
	return host.Root(h.Name, dir, h.Arch, h.Scope)
}

// rootDir is host name's tree under -root=DIR: DIR itself when the
// configuration has one host, and DIR/NAME (made when missing) when it
// has several, so that each host has a tree of its own.
func (o *planOptions) rootDir(name string) (string, error) {
	if !o.perHostRoot {
		return o.root, nil
	}
	if st, err := os.Stat(o.root); err != nil || !st.IsDir() {
		return "", fmt.Errorf("host %q: -root=%s is not a directory", name, o.root)
	}
	dir := filepath.Join(o.root, hostDir(name))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("host %q: -root: %w", name, err)
	}
	return dir, nil
}

// hostDir is the name of host name's tree under -root: the name, an
// instance's key without its quotes (edge[edge-1]), a slash escaped.
func hostDir(name string) string {
	return strings.NewReplacer(`["`, "[", `"]`, "]", "/", "%2F", "\x00", "%00").Replace(name)
}

// lockEach takes the lock of every host of f before it is planned; a
// host whose lock cannot be had fails alone (fleet.failed).
func (o *planOptions) lockEach(ctx context.Context, f *fleet) {
	release, failed := apply.LockEach(ctx, f.hosts, o.lockTimeout, o.observer())
	o.release = release
	for n, err := range failed {
		f.failed[n] = err
		delete(f.hosts, n)
		delete(f.readers, n)
		o.noteLockError(err)
	}
}

// noteLockError remembers to say how to wait for a lock held.
func (o *planOptions) noteLockError(err error) {
	if errors.Is(err, context.DeadlineExceeded) {
		o.lockHint = true
	}
}

// observer is what tells the progress, nil when none is shown. A host
// shown connecting while it was opened is not shown connecting again.
func (o *planOptions) observer() func(plan.Event) {
	if o.progress == nil {
		return nil
	}
	return func(e plan.Event) {
		if _, shown := o.connecting.Load(e.Host); shown && e.Step == plan.StepConnecting {
			return
		}
		o.progress.Observe(e)
	}
}

// makeOptions are plan.Make's options for f.
func (o *planOptions) makeOptions(f *fleet, dir string) plan.Options {
	return plan.Options{
		Hosts:         f.readers,
		Loader:        o.loaders.loaders(),
		HostErrors:    f.failed,
		Targets:       f.targets,
		Destroy:       o.destroy,
		Parallelism:   o.parallelism,
		FencerVersion: currentVersion(),
		ConfigDir:     absDir(dir),
		Observe:       o.observer(),
	}
}

// hostResult is hp's line of the summary, with its time and files.
func (o *planOptions) hostResult(hp *plan.HostPlan) views.HostResult {
	r := views.NewHostResult(hp.Name, hp.Arch, o.progress.Elapsed(hp.Name))
	n := hp.Counts()
	r.Added, r.Changed, r.Destroyed = n.Add, n.Change, n.Destroy
	return r
}

// planResults are plan's summary: each host failed, with changes or
// without.
func (o *planOptions) planResults(p *plan.Plan) []views.HostResult {
	var out []views.HostResult
	for _, hp := range p.Hosts {
		r := o.hostResult(hp)
		switch {
		case hp.Error != "":
			r.Result, r.Reason = views.ResultFailed, hp.Error
			r.Added, r.Changed, r.Destroyed = 0, 0, 0
		case hp.Counts() != plan.Counts{}:
			r.Result = views.ResultChanges
		default:
			r.Result = views.ResultNoChanges
		}
		out = append(out, r)
	}
	return out
}

// summary prints the summary of a run on several hosts; nothing for one.
func (o *planOptions) summary(c *cli, results []views.HostResult) {
	if len(results) > 1 {
		views.Summary(c.stdout, results, c.color(c.stdout))
	}
}

// lockHelp says, after a lock could not be had, how to wait for it.
func (o *planOptions) lockHelp(c *cli) {
	if o.lockHint {
		fmt.Fprintf(c.stderr, "  Run again when it is done, or wait for it with -lock-timeout=DURATION.\n")
	}
}

// writePlanJSON is plan -json: the plan as plan.WriteDisplayJSON writes it,
// and with several hosts the summary's facts.
func writePlanJSON(w io.Writer, p *plan.Plan, results []views.HostResult) error {
	if len(results) < 2 {
		return plan.WriteDisplayJSON(w, p)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*plan.Plan
		Summary []views.HostResult `json:"summary"`
	}{plan.Display(p), results})
}

// newProgress is the progress of a run on several hosts, on stderr.
func (c *cli) newProgress() *views.Progress {
	return views.NewProgress(c.stderr, isTerminal(c.stderr), int(terminalWidth(c.stderr)))
}
