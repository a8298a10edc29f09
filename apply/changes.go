// Package apply applies a host's part of a plan through the host's
// transport (package host): under the host's lock it checks the plan
// against the host (CheckPlan) and against the files as they are, writes
// each file in the plan's order, verifies the units and reloads systemd,
// restarts what asked for it, and puts every file back when a step fails
// (Host).
package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/plan"
	"github.com/fencer-dev/fencer/plan/loader"
	"github.com/fencer-dev/fencer/plan/unittext"
)

// Options tune how a host plan is applied.
type Options struct {
	// Restart restarts the units whose files changed (socket units, then
	// services that were running).
	Restart bool
	// Destroy says the plan removes what fencer installed: once the files
	// are gone and systemd reloaded, each of their units that runs is
	// stopped when it is gone with them (its unit file was fencer's), or
	// when Stop is set, and restarted otherwise, so that it runs as its
	// own unit says, without fencer's drop-in.
	Destroy, Stop bool
	// Log receives one line per step; nil discards them.
	Log io.Writer
	// Locked says the caller already holds the host's lock (LockEach), as a
	// fresh apply does from before it reads the host to plan.
	Locked bool
	// LockTimeout is how long to wait for a host's lock that another
	// fencer holds; 0 tries once. The error then names the holder.
	LockTimeout time.Duration
	// ConfigID is the id of the configuration the plan is of (plan.Plan's
	// ConfigID): text files whose header names it are the
	// configuration's, and others are replaced only when adopted.
	ConfigID string
	// Adopt lists the host paths the plan may take over (apply
	// -adopt=PATH): files that are not the configuration's, which apply
	// keeps as they are (plan.Change.Original) before it replaces them.
	Adopt []string
	// Loader holds the fencer binaries by architecture: a loader the plan
	// installs must be the one for the host's (plan.Options.Loader). nil
	// for loader.NewSet; tests set a stand-in.
	Loader *loader.Set
	// Pause, when set, is called at each step of Host, for tests that
	// stop or kill apply at exact points (cmd/fencer sets it from
	// $FENCER_TEST_PAUSE): "locked" once the lock is held and the files
	// checked, "write PATH" and "remove PATH" before each file, "reload"
	// before systemctl daemon-reload, "verify" before systemd-analyze
	// verify, "done" before the lock is released.
	Pause func(step string)
	// Observe, when set, is told each step of Host: writing file N of M
	// (plan.StepApplying), verifying and reloading the units
	// (plan.StepReloading). Hosts are applied in parallel: it is called
	// from several goroutines at once.
	Observe func(plan.Event)
}

func (o Options) observe(e plan.Event) {
	if o.Observe != nil {
		o.Observe(e)
	}
}

func (o Options) pause(step string) {
	if o.Pause != nil {
		o.Pause(step)
	}
}

// StaleError reports a host file that changed since the plan was made:
// one the plan writes, or one it was computed from (plan.HostPlan.Inputs).
type StaleError struct {
	Host, Path string
	// What is "changed" (also when empty), "appeared" or "disappeared".
	What string
	// Role says, for a file the plan read, which files those are ("unit
	// file and drop-ins of metrics.service"); empty for a file it writes.
	Role string
}

func (e *StaleError) Error() string {
	what := e.What
	if what == "" {
		what = "changed"
	}
	if e.Role != "" {
		return fmt.Sprintf("host %q: %s %s since the plan was made, which was computed from the %s: make a new plan", e.Host, e.Path, what, e.Role)
	}
	return fmt.Sprintf("host %q: %s %s since the plan was made: make a new plan", e.Host, e.Path, what)
}

// prior is a file as it was before apply touched it.
type prior struct {
	path    string
	existed bool
	content []byte
	mode    fs.FileMode
}

// TakeOverError is the error for a plan that replaces a file that is not
// the configuration's without -adopt for its path.
type TakeOverError struct {
	Host string
	// Change is the take-over (plan.Change.TakeOver).
	Change *plan.Change
	// Earlier is set when fencer keeps, instead of this file, the one it
	// kept before (plan.KeepsEarlier).
	Earlier bool
}

func (e *TakeOverError) Error() string {
	w := unittext.Whose(e.Change.Owner)
	keeps := fmt.Sprintf("fencer keeps it at %s, and destroy puts it back", e.Change.Original)
	if e.Earlier {
		keeps = fmt.Sprintf("fencer keeps the file from before fencer at %s, and destroy puts that back", e.Change.Original)
	}
	return fmt.Sprintf("host %q: %s %s, and the plan replaces it with its %s: run apply with -adopt=%s to take it over (%s)",
		e.Host, e.Change.Path, w, e.Change.Role, e.Change.Path, keeps)
}

// Refused returns the error for the first take-over of hp that adopt (the
// -adopt paths) does not allow, nil when there is none: apply says it
// before it asks to go ahead, and Host again under the lock, from the
// files as they are then.
func Refused(hp *plan.HostPlan, adopt []string) error {
	for _, ch := range hp.Changes {
		if ch.TakeOver && !contains(adopt, ch.Path) {
			return &TakeOverError{Host: hp.Name, Change: ch, Earlier: plan.KeepsEarlier(hp, ch)}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Host applies one host's part of a plan under the host's lock: it checks
// the plan against the host (CheckPlan), that every file still has the
// hash the plan recorded and that every file it replaces or removes is
// the configuration's or adopted, writes each file atomically in the
// plan's order, reloads systemd and verifies the units; when any step
// fails, every file is put back as it was and systemd reloaded again.
func Host(ctx context.Context, t host.Target, hp *plan.HostPlan, opts Options) (err error) {
	if hp.Error != "" {
		return fmt.Errorf("host %q was not planned: %s", hp.Name, hp.Error)
	}
	a := newApplier(ctx, t, hp, opts)
	if len(a.changes) == 0 && !opts.Restart {
		return nil
	}
	unlock, err := a.lock()
	if err != nil {
		return err // it names the host
	}
	defer func() {
		opts.pause("done")
		if uerr := unlock(); uerr != nil && err == nil {
			err = fmt.Errorf("host %q: release lock: %w", hp.Name, uerr)
		}
	}()
	if err := a.check(); err != nil {
		return err
	}
	opts.pause("locked")
	if err := a.write(); err != nil {
		return err
	}
	if err := a.reload(); err != nil {
		return err
	}
	return a.settleUnits()
}

// Check checks, as Host does before it writes anything, one host's plan
// against the host as it is now: the plan fits the host (CheckPlan), every
// file still has the hash the plan recorded, every file it reads is as it
// was, and every file it replaces is the configuration's or adopted. The
// caller holds the host's lock (LockEach), so that what it checked is what
// Host, with Options.Locked, then applies: apply of a saved plan checks
// every host so before it writes to any.
func Check(ctx context.Context, t host.Target, hp *plan.HostPlan, opts Options) error {
	if hp.Error != "" {
		return fmt.Errorf("host %q was not planned: %s", hp.Name, hp.Error)
	}
	a := newApplier(ctx, t, hp, opts)
	if len(a.changes) == 0 {
		return nil
	}
	return a.check()
}

func newApplier(ctx context.Context, t host.Target, hp *plan.HostPlan, opts Options) *applier {
	if opts.Loader == nil {
		// One set for the check and the write: the loader is read once.
		opts.Loader = loader.NewSet()
	}
	a := &applier{ctx: ctx, t: t, hp: hp, opts: opts, priors: map[string]prior{}, units: map[string]bool{}, verifyUnits: map[string]bool{}}
	for _, ch := range hp.Changes {
		if ch.Action != plan.NoOp {
			a.changes = append(a.changes, ch)
		}
	}
	return a
}

// check reads the host's facts and checks the plan against it (Check).
func (a *applier) check() error {
	var err error
	if a.facts, err = a.t.Facts(a.ctx); err != nil {
		return fmt.Errorf("host %q: reading facts: %w", a.hp.Name, err)
	}
	if err := CheckPlan(a.hp, a.facts, a.opts.ConfigID, a.opts.Destroy, a.opts.Loader); err != nil {
		return err
	}
	// Under the lock, the files must still be as planned, and the
	// configuration's to change.
	for _, check := range []func() error{a.readPriors, a.checkOwners, a.checkKeptOriginals, a.checkFilterOwners, a.checkInputs} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// applier applies one host's plan (Host): its steps, each a method, share
// what the earlier ones read and did.
type applier struct {
	ctx  context.Context
	t    host.Target
	hp   *plan.HostPlan
	opts Options
	// changes are the plan's changes but its no-ops.
	changes []*plan.Change
	facts   *host.Facts
	// priors are the files the plan changes as they were before, by path;
	// done the ones written or removed so far, in order.
	priors map[string]prior
	done   []prior
	// units are the units of the files written or removed; verifyUnits
	// those of the files fencer writes: a unit put back as it was before
	// fencer took it over is the administrator's again, and
	// systemd-analyze verify's opinion of it no reason to undo the rest.
	units, verifyUnits map[string]bool
}

// logf writes one line of what apply did to Options.Log.
func (a *applier) logf(format string, args ...any) {
	if a.opts.Log != nil {
		fmt.Fprintf(a.opts.Log, format+"\n", args...)
	}
}

// lock takes the host's lock, unless the caller holds it (Options.Locked),
// and returns what releases it.
func (a *applier) lock() (func() error, error) {
	if a.opts.Locked {
		return func() error { return nil }, nil
	}
	lockCtx, cancel := context.WithTimeout(a.ctx, a.opts.LockTimeout)
	defer cancel()
	return a.t.Lock(lockCtx)
}

// readPriors reads every file of the plan as it is, and refuses one that
// is not as the plan found it.
func (a *applier) readPriors() error {
	hp := a.hp
	for _, ch := range hp.Changes {
		b, mode, rerr := a.t.ReadFile(a.ctx, ch.Path)
		p := prior{path: ch.Path}
		switch {
		case rerr == nil:
			p.existed, p.content, p.mode = true, b, mode
		case !errors.Is(rerr, fs.ErrNotExist):
			return fmt.Errorf("host %q: reading %s: %w", hp.Name, ch.Path, rerr)
		}
		if hashOrEmpty(p) != ch.PriorSHA256 {
			return &StaleError{Host: hp.Name, Path: ch.Path}
		}
		// A kept original is put back with the mode the plan shows it
		// has (CheckPlan pairs them): the mode it has, not one an
		// edited plan file claims (0777).
		if ch.Role == plan.RoleOriginal && p.existed && plan.KeepMode(p.mode) != ch.PriorMode {
			return &StaleError{Host: hp.Name, Path: ch.Path}
		}
		a.priors[ch.Path] = p
	}
	return nil
}

// checkOwners refuses a plan that replaces or removes a file that is not
// the configuration's, unless it takes it over and was asked to adopt
// it: whatever the plan says of them, the files decide.
func (a *applier) checkOwners() error {
	hp := a.hp
	for _, ch := range a.changes {
		p := a.priors[ch.Path]
		if ch.Binary || !p.existed || unittext.OwnedBy(p.content, a.opts.ConfigID) {
			continue
		}
		if !ch.TakeOver {
			verb := "replaces"
			if ch.Action == plan.Delete || ch.Restore {
				verb = "removes"
			}
			return &PlanError{Host: hp.Name, Path: ch.Path, Err: fmt.Errorf("it %s, and the plan %s it without taking it over", unittext.Whose(unittext.Owner(p.content)), verb)}
		}
		if !contains(a.opts.Adopt, ch.Path) {
			return &TakeOverError{Host: hp.Name, Change: ch, Earlier: plan.KeepsEarlier(hp, ch)}
		}
		// CheckPlan paired the take-over with the change that keeps the
		// file's content; it must keep its mode too.
		for _, keep := range a.changes {
			if keep.Path == ch.Original && keep.Mode != plan.KeepMode(p.mode) {
				return &PlanError{Host: hp.Name, Path: ch.Path, Err: fmt.Errorf("the plan keeps it at %s with mode %04o, and it has mode %04o", ch.Original, keep.Mode, plan.KeepMode(p.mode))}
			}
		}
	}
	return nil
}

// checkKeptOriginals refuses the removal of the original of a file the
// plan does not change unless the file is that original again (put back
// by a destroy that stopped before it removed the copy).
func (a *applier) checkKeptOriginals() error {
	for _, ch := range a.changes {
		if ch.Role != plan.RoleOriginal || ch.Action != plan.Delete {
			continue
		}
		of := plan.OriginalOf(a.facts.Paths, ch.Path)
		if _, ok := a.priors[of]; ok {
			continue // paired with a restore, which CheckPlan checked
		}
		b, _, rerr := a.t.ReadFile(a.ctx, of)
		if rerr != nil || hashOrEmpty(prior{existed: true, content: b}) != ch.PriorSHA256 {
			return &PlanError{Host: a.hp.Name, Path: ch.Path, Err: fmt.Errorf("the plan removes this original of %s, which is not that file as it is", of)}
		}
	}
	return nil
}

// checkFilterOwners refuses the removal of a file without a header (a
// filter) unless it is the configuration's: the drop-in that runs it is,
// or there is none.
func (a *applier) checkFilterOwners() error {
	for _, ch := range a.changes {
		if !ch.Role.RunByDropIn() || ch.Action != plan.Delete {
			continue
		}
		place, _ := plan.FileAt(a.facts.Paths, a.hp.FencerPath, ch.Path) // CheckPlan placed it
		d := plan.RoleDropIn.Path(a.facts.Paths, place.Unit)
		p, ok := a.priors[d]
		if !ok {
			b, mode, rerr := a.t.ReadFile(a.ctx, d)
			switch {
			case rerr == nil:
				p = prior{path: d, existed: true, content: b, mode: mode}
			case !errors.Is(rerr, fs.ErrNotExist):
				return fmt.Errorf("host %q: reading %s: %w", a.hp.Name, d, rerr)
			}
		}
		if p.existed && !unittext.OwnedBy(p.content, a.opts.ConfigID) {
			return &PlanError{Host: a.hp.Name, Path: ch.Path, Err: fmt.Errorf("the plan removes it, and the drop-in that runs it, %s, %s", d, unittext.Whose(unittext.Owner(p.content)))}
		}
	}
	return nil
}

// checkInputs refuses the plan when a file it was computed from changed:
// the unit files and drop-ins whose ExecStart= it wrapped and whose
// settings it checked.
func (a *applier) checkInputs() error {
	hp := a.hp
	if len(hp.Inputs) == 0 {
		return nil
	}
	now, rerr := plan.ReadInputs(a.ctx, a.t, a.facts, hp)
	if rerr != nil {
		return fmt.Errorf("host %q: reading the files the plan was made from: %w", hp.Name, rerr)
	}
	if d := plan.DiffInputs(hp.Inputs, now); d != nil {
		return &StaleError{Host: hp.Name, Path: d.Path, What: d.What, Role: d.Role}
	}
	return nil
}

// writeFile writes the file a change creates or updates: its content, or
// for the loader, which the plan records by its hash, this fencer's
// loader for the host's architecture, which must still have that hash.
func (a *applier) writeFile(ch *plan.Change) error {
	data := ch.Content
	if ch.Role == plan.RoleLoader {
		bin, err := sameLoader(ch, a.opts.Loader, a.hp.Arch)
		if err != nil {
			return &PlanError{Host: a.hp.Name, Path: ch.Path, Err: err}
		}
		data = bin.Data
	}
	return a.t.WriteFile(a.ctx, ch.Path, data, fs.FileMode(ch.Mode))
}

// write writes and removes the files in the plan's order, and puts them
// back when one fails.
func (a *applier) write() error {
	for i, ch := range a.changes {
		a.opts.observe(plan.Event{Host: a.hp.Name, Step: plan.StepApplying, Done: i + 1, Total: len(a.changes)})
		p := a.priors[ch.Path]
		var werr error
		if ch.Action == plan.Delete {
			a.opts.pause("remove " + ch.Path)
			werr = a.t.Remove(a.ctx, ch.Path)
		} else {
			a.opts.pause("write " + ch.Path)
			werr = a.writeFile(ch)
		}
		if werr != nil {
			return a.rollback(werr)
		}
		a.done = append(a.done, p)
		a.logf("host %q: %s %s", a.hp.Name, verb(ch.Action), ch.Path)
		for _, u := range ch.Units {
			a.units[u] = true
			if ch.Action != plan.Delete && !ch.Restore {
				a.verifyUnits[u] = true
			}
		}
	}
	return nil
}

// rollback puts every file written back as it was, newest first, and
// reloads systemd; it returns the error apply fails with, cause.
func (a *applier) rollback(cause error) error {
	var problems []string
	for i := len(a.done) - 1; i >= 0; i-- {
		p := a.done[i]
		var rerr error
		if p.existed {
			rerr = a.t.WriteFile(a.ctx, p.path, p.content, p.mode)
		} else {
			rerr = a.t.Remove(a.ctx, p.path)
		}
		if rerr != nil {
			problems = append(problems, rerr.Error())
		}
	}
	facts, ferr := a.t.Facts(a.ctx)
	if ferr == nil && facts.Live {
		if _, rerr := a.t.Systemctl(a.ctx, "daemon-reload"); rerr != nil {
			problems = append(problems, rerr.Error())
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("host %q: %w; putting the files back failed too: %s", a.hp.Name, cause, strings.Join(problems, "; "))
	}
	a.logf("host %q: every file put back as it was", a.hp.Name)
	return fmt.Errorf("host %q: %w; every file was put back as it was", a.hp.Name, cause)
}

// reload verifies the units of the files written and reloads systemd,
// and puts the files back when either fails.
func (a *applier) reload() error {
	facts, err := a.t.Facts(a.ctx)
	if err != nil {
		return a.rollback(fmt.Errorf("reading facts: %w", err))
	}
	a.facts = facts
	if len(a.changes) == 0 {
		return nil
	}
	a.opts.observe(plan.Event{Host: a.hp.Name, Step: plan.StepReloading})
	// Verify reads the units from disk: before the reload, so that a
	// unit it rejects never reaches the manager (socket activation
	// could start it in the meantime). A -root tree or a host without
	// a manager is verified too: the target does what it can there.
	if v := slices.Sorted(maps.Keys(a.verifyUnits)); len(v) > 0 {
		a.opts.pause("verify")
		if err := a.t.Verify(a.ctx, v...); err != nil {
			return a.rollback(fmt.Errorf("systemd-analyze verify: %w", err))
		}
	}
	if !facts.Live {
		a.logf("host %q: no systemd manager runs for this host; units not reloaded", a.hp.Name)
		return nil
	}
	a.opts.pause("reload")
	if _, err := a.t.Systemctl(a.ctx, "daemon-reload"); err != nil {
		return a.rollback(fmt.Errorf("systemctl daemon-reload: %w", err))
	}
	a.logf("host %q: systemd reloaded", a.hp.Name)
	return nil
}

// settleUnits, after a destroy, stops or restarts the units whose files
// it removed (settle); with -restart it restarts the running units whose
// files changed and those the plan found running as they were before an
// apply without -restart (restart).
func (a *applier) settleUnits() error {
	hp, opts, live := a.hp, a.opts, a.facts.Live
	names := slices.Sorted(maps.Keys(a.units))
	if opts.Destroy && live && len(a.changes) > 0 {
		if err := settle(a.ctx, a.t, names, opts.Stop, a.logf); err != nil {
			return fmt.Errorf("host %q: %w", hp.Name, err)
		}
		return nil
	}
	if !opts.Restart {
		return nil
	}
	if !live {
		return fmt.Errorf("host %q: -restart needs a running systemd manager", hp.Name)
	}
	for _, r := range hp.Restarts {
		if !a.units[r.Unit] {
			a.units[r.Unit] = true
			names = append(names, r.Unit)
		}
	}
	sort.Strings(names)
	if err := restart(a.ctx, a.t, names, a.logf); err != nil {
		return fmt.Errorf("host %q: %w", hp.Name, err)
	}
	return nil
}

// restart restarts the socket units, then the services, that are running
// (try-restart): a unit someone stopped stays stopped — "systemctl
// restart" would start it — and a socket-activated service that is not
// running starts on its next connection anyway.
func restart(ctx context.Context, t host.Target, units []string, logf func(string, ...any)) error {
	for _, suffix := range []string{".socket", ".service"} {
		for _, u := range units {
			if !strings.HasSuffix(u, suffix) {
				continue
			}
			out, err := t.Systemctl(ctx, "show", "-p", "ActiveState", "--", u)
			if err != nil {
				return fmt.Errorf("systemctl show %s: %w", u, err)
			}
			switch strings.TrimSpace(strings.TrimPrefix(string(out), "ActiveState=")) {
			case "active", "activating", "reloading":
			default:
				continue
			}
			if _, err := t.Systemctl(ctx, "try-restart", u); err != nil {
				return fmt.Errorf("systemctl try-restart %s: %w", u, err)
			}
			logf("restarted %s", u)
		}
	}
	return nil
}

// settle deals, after a destroy, with the units whose files it removed
// and that still run: sockets first, so that none starts its service
// again, then services. A unit whose unit file is gone (LoadState
// not-found: fencer had installed it) is stopped, as is every unit when
// stop is set; the others are restarted, to run without fencer's drop-in.
func settle(ctx context.Context, t host.Target, units []string, stop bool, logf func(string, ...any)) error {
	for _, suffix := range []string{".socket", ".service"} {
		for _, u := range units {
			if !strings.HasSuffix(u, suffix) {
				continue
			}
			out, err := t.Systemctl(ctx, "show", "-p", "LoadState", "-p", "ActiveState", "--", u)
			if err != nil {
				return fmt.Errorf("systemctl show %s: %w", u, err)
			}
			state := map[string]string{}
			for _, l := range strings.Split(string(out), "\n") {
				if k, v, ok := strings.Cut(l, "="); ok {
					state[k] = v
				}
			}
			switch state["ActiveState"] {
			case "active", "activating", "reloading", "deactivating":
			default:
				continue
			}
			verbArg, done := "restart", "restarted %s: it runs as its own unit says, without fencer's filter"
			if stop || state["LoadState"] != "loaded" {
				verbArg, done = "stop", "stopped %s"
			}
			if _, err := t.Systemctl(ctx, verbArg, "--", u); err != nil {
				return fmt.Errorf("systemctl %s %s: %w", verbArg, u, err)
			}
			logf(done, u)
		}
	}
	return nil
}

func verb(a plan.ChangeAction) string {
	return map[plan.ChangeAction]string{plan.Create: "created", plan.Update: "updated", plan.Delete: "deleted"}[a]
}

func hashOrEmpty(p prior) string {
	if !p.existed {
		return ""
	}
	return plan.Hash(p.content)
}

// LockEach takes the lock of every target, in the order of their names
// (so that two fencers locking the same hosts cannot deadlock), waiting up
// to timeout for each. A host whose lock it cannot have is in failed, with
// the error (which names the host and, for a lock held, its holder); the
// others' locks are held until release, which frees them all. observe,
// when set, is told each host it locks (plan.StepLocking).
func LockEach(ctx context.Context, targets map[string]host.Target, timeout time.Duration, observe func(plan.Event)) (release func(), failed map[string]error) {
	names := slices.Sorted(maps.Keys(targets))
	var unlocks []func() error
	failed = map[string]error{}
	for _, n := range names {
		if observe != nil {
			observe(plan.Event{Host: n, Step: plan.StepLocking})
		}
		lockCtx, cancel := context.WithTimeout(ctx, timeout)
		unlock, err := targets[n].Lock(lockCtx)
		cancel()
		if err != nil {
			failed[n] = err
			continue
		}
		unlocks = append(unlocks, unlock)
	}
	return func() {
		for i := len(unlocks) - 1; i >= 0; i-- {
			unlocks[i]()
		}
		unlocks = nil
	}, failed
}
