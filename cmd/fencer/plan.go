package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fencer-dev/fencer/apply"
	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/readlimit"
	"github.com/fencer-dev/fencer/internal/sshhost"
	"github.com/fencer-dev/fencer/internal/views"
	"github.com/fencer-dev/fencer/plan"
	"github.com/fencer-dev/fencer/verify"
)

// Exit code of plan -detailed-exitcode when there are changes.
const exitChanges = 2

const lockTimeoutHelp = `  -lock-timeout=D    How long to wait for a host's lock when another fencer
                     holds it, such as 30s (default 0s: fail at once,
                     naming the holder).
`

const hostOptionsHelp = `  -root=DIR          Plan against the directory tree DIR instead of this
                     machine's / (or a host's over SSH: addresses are
                     ignored), as systemctl --root does: nothing is
                     reloaded or restarted, no privileges are needed.
                     When the configuration has several hosts, each has
                     a tree of its own: host NAME's is DIR/NAME (an
                     instance's without quotes, DIR/edge[edge-1]), made
                     when missing.

  -parallelism=N     Work on at most N hosts at once (default 10). A host
                     that fails does not stop the others; with several
                     hosts, progress goes to stderr (one line per host on
                     a terminal, one per event elsewhere) and a summary
                     ends the output.

  -compact-warnings  Show each warning as its summary and place only, as
                     Terraform's flag does; errors are shown in full.

  -input=false       Ask nothing, as in Terraform's CI habit: apply and
                     destroy then need -auto-approve (or a saved plan)
                     and refuse at once, before planning, without it.
                     fencer never asks for variables: one without a
                     value is an error either way.

` + fleetOptionsHelp + `
` + loaderHelp

var planCommand = &command{
	name:     "plan",
	synopsis: "Show what apply would change on each host",
	main:     true,
	help: `Usage: fencer [global options] plan [options] [DIR]

  Read each host's facts and the files fencer manages there, compile every
  service's filter for the host's architecture, render the files of each
  service (drop-in, socket unit, filter, unit file, loader) and print every
  file to add (+), change (~) or delete (-), with a diff for text files and
  size and hash for binaries, then a summary line. Nothing is written.

  Where a manager runs, plan also checks each running unit whose files are
  as planned, as verify does, and lists (↻) those whose process does not
  run as planned — applied without -restart —: "apply -restart" restarts
  them. They count as changes for -detailed-exitcode.

  Every text file fencer writes names the configuration it belongs to (the
  fencer block's id, by default the directory's name). A file at one of
  those paths that is not the configuration's — written by hand, or by
  another configuration — is shown as "taken over", which apply refuses
  unless asked with -adopt. The configuration's files of a unit it no
  longer plans on the host (the service's unit renamed, or the service
  removed) are deleted; another configuration's files are never touched.

Options:

  -out=FILE          Save the plan to FILE, for "fencer apply FILE". The
                     plan records the hash of every host file it read;
                     apply refuses it when any of them has changed since.

  -json              Print the plan as JSON (the plan file's format).

  -detailed-exitcode Exit 0 when nothing would change, 2 when something
                     would, 1 on errors.

` + hostOptionsHelp + `
` + noColorHelp + `
` + configOptionsHelp,
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		o := &planOptions{}
		o.register(fs)
		fs.StringVar(&o.out, "out", "", "")
		fs.BoolVar(&o.json, "json", false, "")
		fs.BoolVar(&o.detailed, "detailed-exitcode", false, "")
		return o.runPlan
	},
}

var applyCommand = &command{
	name:     "apply",
	synopsis: "Install the policies on their hosts",
	main:     true,
	help: `Usage: fencer [global options] apply [options] [DIR | PLANFILE]

  Without PLANFILE, make a fresh plan, show it, and apply it after you type
  "yes" (on a terminal; elsewhere -auto-approve is required). With
  PLANFILE, apply that saved plan, refused when any host file changed
  since it was made.

  Per host: take the host's lock, check every file is as planned, write
  each file atomically, reload systemd, verify the units; when a step
  fails, every file is put back as it was. Applying twice changes nothing.

  Hosts are applied in parallel (-parallelism). A host that fails — it
  cannot be opened, another fencer holds its lock, it could not be
  planned, a step of its apply failed — is reported with its name, and
  the other hosts are applied: the exit code is then 1. A saved plan
  covers every host it was made for: when a host of it is refused (a file
  changed since the plan, the host not reached or its lock held), nothing
  is applied unless -partial says to apply the others.

  A plan file is checked before anything is written: apply writes only
  fencer's files for the plan's services — at their paths on the host,
  with their modes, the content whose hash the plan shows, text files with
  the configuration's header, the loader only if it is this fencer — and
  refuses any other plan file, and any over 256 MiB.

Options:

  -auto-approve      Apply without asking.

  -restart           Restart the running units whose files changed, and
                     the running units the plan found needing a restart
                     (their files are as planned, their process is not:
                     applied without -restart). A stopped unit stays
                     stopped.

  -partial          Apply a saved plan to the hosts that can be applied as
                     planned when others cannot (a file changed since the
                     plan, a host not reached, its lock held). Without it,
                     nothing is applied when any host of the plan is
                     refused.

  -adopt=PATH        Take over the file at PATH, which the plan shows as
                     "taken over": a unit file or drop-in that is not
                     fencer's, or another configuration's. Apply keeps it
                     as it is under the originals directory
                     (/etc/fencer/originals, or ~/.config/fencer/originals
                     in user scope) before replacing it, and destroy puts
                     it back. Without -adopt, apply refuses a plan that
                     takes over a file. Use it once per file.

` + lockTimeoutHelp + `
` + hostOptionsHelp + `
` + noColorHelp + `
` + configOptionsHelp,
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		o := &planOptions{}
		o.register(fs)
		fs.BoolVar(&o.autoApprove, "auto-approve", false, "")
		fs.BoolVar(&o.restart, "restart", false, "")
		fs.Var(&o.adopt, "adopt", "")
		fs.DurationVar(&o.lockTimeout, "lock-timeout", 0, "")
		fs.BoolVar(&o.partial, "partial", false, "")
		return o.runApply
	},
}

var destroyCommand = &command{
	name:     "destroy",
	synopsis: "Remove what fencer installed for the configuration",
	help: `Usage: fencer [global options] destroy [options] [DIR]

  Plan the removal of every file fencer installed for the configuration —
  only text files whose header names the configuration (or the header of
  a fencer from before configuration ids), and the compiled filters —
  show it, and apply it after you type "yes". A file fencer took over
  (apply -adopt) is put back as it was instead. A file that is not the
  configuration's is never deleted. The loader binary stays: other
  services may use it.

  A unit that runs when its files are removed is restarted, so that it
  runs as its own unit says, without fencer's drop-in and filter; one
  whose unit file fencer had installed (and removes) is stopped, with its
  socket unit.

Options:

  -auto-approve      Remove without asking.

  -stop              Stop every running unit of the configuration instead
                     of restarting it.

` + lockTimeoutHelp + `
` + hostOptionsHelp + `
` + noColorHelp + `
` + configOptionsHelp,
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		o := &planOptions{destroy: true}
		o.register(fs)
		fs.BoolVar(&o.autoApprove, "auto-approve", false, "")
		fs.BoolVar(&o.stop, "stop", false, "")
		fs.DurationVar(&o.lockTimeout, "lock-timeout", 0, "")
		return o.runApply
	},
}

// planOptions are the flags of plan, apply and destroy.
type planOptions struct {
	config      configFlags
	root        string
	parallelism int
	out         string
	json        bool
	detailed    bool
	autoApprove bool
	// input false (-input=false) forbids asking: apply and destroy need
	// -auto-approve or a saved plan.
	input bool
	// compactWarnings is -compact-warnings.
	compactWarnings bool
	restart         bool
	adopt           stringList
	destroy         bool
	stop            bool
	lockTimeout     time.Duration
	// targets are -target, pull -host (pull mode), partial -partial.
	targets stringList
	pull    string
	partial bool
	// perHostRoot says that -root=DIR holds a tree per host, DIR/NAME: the
	// configuration has several hosts (rootDir).
	perHostRoot bool
	// progress shows the hosts' progress when there are several, unless
	// noProgress (why, which plans as verify does).
	progress   *views.Progress
	noProgress bool
	// connecting are the hosts whose opening the progress showed as
	// connecting (hosts); observer does not show it again when planning
	// reads their facts.
	connecting sync.Map
	// lockHint: a host's lock was held; say how to wait for it.
	lockHint bool
	loaders  loaderFlag
	// opened are the hosts reached over SSH, which closeHosts closes.
	opened   []*sshhost.Lazy
	openedMu sync.Mutex
	// release frees the hosts' locks a fresh apply took before planning.
	release func()
}

// releaseLocks frees the locks makePlan took, if any.
func (o *planOptions) releaseLocks() {
	if o.release != nil {
		o.release()
		o.release = nil
	}
}

func (o *planOptions) register(fs *flag.FlagSet) {
	o.config.register(fs)
	fs.StringVar(&o.root, "root", "", "")
	fs.IntVar(&o.parallelism, "parallelism", host.DefaultParallelism, "")
	fs.Var(&o.loaders, "loader", "")
	fs.Var(&o.targets, "target", "")
	fs.StringVar(&o.pull, "host", "", "")
	fs.BoolVar(&o.input, "input", true, "")
	fs.BoolVar(&o.compactWarnings, "compact-warnings", false, "")
}

// planTargets builds a transport for every host of a saved plan from what
// the plan recorded — scope, -root directory and architecture — not from
// the configuration, whose variables (the scope, say) may evaluate
// differently now; a host with an address is reached with the SSH
// settings the plan recorded. -root, when given, must be the plan's. A
// host that cannot be opened is in failed, with the error. Hosts are
// opened in parallel: opening one may mean reaching it.
func (o *planOptions) planTargets(p *plan.Plan) (map[string]host.Target, map[string]error, error) {
	targets := map[string]host.Target{}
	failed := map[string]error{}
	var open []*plan.HostPlan
	for _, hp := range p.Hosts {
		switch {
		case o.root != "" && hp.Root == "":
			return nil, nil, usagef("-root=%s: the plan was made for host %q itself, not for a directory tree", o.root, hp.Name)
		case hp.Root != "" && o.root != "" && absDir(o.root) != hp.Root && filepath.Join(absDir(o.root), hostDir(hp.Name)) != hp.Root:
			return nil, nil, usagef("-root=%s: the plan was made for host %q in the tree %s", o.root, hp.Name, hp.Root)
		case hp.Root == "" && hp.Address != "" && hp.SSH == nil:
			failed[hp.Name] = fmt.Errorf("host %q has an address (%s), and the plan does not say how to reach it: make the plan again", hp.Name, hp.Address)
			continue
		}
		open = append(open, hp)
	}
	var mu sync.Mutex
	host.Each(len(open), o.parallelism, func(i int) {
		hp := open[i]
		h := &hclspec.Host{Name: hp.Name, Arch: hp.Arch, Scope: hp.Scope}
		var err error
		if hp.Root == "" && hp.Address != "" {
			h, err = hp.SSH.Host(hp.Name, hp.Address, hp.Scope)
		}
		var t host.Target
		if err == nil {
			t, err = o.openHost(h, hp.Root)
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed[hp.Name] = err
			return
		}
		targets[hp.Name] = t
	})
	return targets, failed, nil
}

// makePlan loads the configuration in dir and plans every host the flags
// select; with lock, it takes each host's lock first. A host that cannot
// be opened, locked or planned is in the plan with its error.
func (o *planOptions) makePlan(c *cli, dir string, lock bool) (*plan.Plan, map[string]host.Target, bool) {
	cfg, diags := c.load(dir, &o.config)
	src := newSources(cfg)
	if diags.HasErrors() {
		c.printDiags(src, diags)
		return nil, nil, false
	}
	f, diags, ok := o.openHosts(c, src, cfg, diags)
	if !ok {
		return nil, nil, false
	}
	ctx := context.Background()
	if lock {
		// Lock before reading the hosts, as Terraform locks its state
		// before it plans: what is planned is what is applied.
		o.lockEach(ctx, f)
	}
	p, more := plan.Make(ctx, cfg, o.makeOptions(f, dir))
	diags = append(diags, more...)
	c.printDiags(src, diags)
	if diags.HasErrors() {
		return nil, nil, false
	}
	if !o.destroy {
		// Like Terraform's refresh: what runs on the hosts, not only
		// their files.
		host.Each(len(p.Hosts), o.parallelism, func(i int) {
			if hp := p.Hosts[i]; f.hosts[hp.Name] != nil && hp.Error == "" {
				hp.Restarts = verify.Restarts(ctx, f.hosts[hp.Name], hp)
			}
		})
	}
	o.progress.Break()
	return p, f.hosts, true
}

func (o *planOptions) runPlan(c *cli, args []string) int {
	c.compactWarnings = o.compactWarnings
	defer o.closeHosts()
	dir, err := oneDir(args)
	if err != nil {
		return c.fail(err)
	}
	p, _, ok := o.makePlan(c, dir, false)
	if !ok {
		return exitError
	}
	results := o.planResults(p)
	if o.json {
		if err := writePlanJSON(c.stdout, p, results); err != nil {
			return c.fail(err)
		}
	} else {
		views.Plan(c.stdout, p, c.color(c.stdout))
		o.summary(c, results)
	}
	if o.out != "" {
		var buf bytes.Buffer
		if err := plan.WriteJSON(&buf, p); err != nil {
			return c.fail(err)
		}
		if err := writeFileAtomic(o.out, buf.Bytes(), 0o600); err != nil {
			return c.fail(fmt.Errorf("save the plan: %w", err))
		}
		if !o.json {
			fmt.Fprintf(c.stdout, "\nSaved the plan to %s. To apply exactly this plan, run:\n  fencer apply %s\n", o.out, o.out)
		}
	} else if !o.json && p.HasChanges() {
		fmt.Fprint(c.stdout, "\nNote: You didn't use the -out option to save this plan, so fencer can't guarantee to\n"+
			"take exactly these actions if you run \"fencer apply\" now.\n")
	}
	if len(p.Failed()) > 0 {
		return exitError
	}
	if o.detailed && p.HasChanges() {
		return exitChanges
	}
	return exitOK
}

func (o *planOptions) runApply(c *cli, args []string) int {
	c.compactWarnings = o.compactWarnings
	defer o.closeHosts()
	if len(args) > 1 {
		return c.fail(usagef("too many arguments: %s", strings.Join(args, " ")))
	}
	saved := false
	if len(args) == 1 {
		if st, err := os.Stat(args[0]); err == nil && !st.IsDir() {
			saved = true
		}
	}
	var p *plan.Plan
	var targets map[string]host.Target
	// skip are the hosts that are not applied, and why.
	skip := map[string]error{}
	if saved {
		var code int
		if p, targets, skip, code = o.loadSaved(c, args[0]); p == nil {
			return code
		}
	} else {
		dir, err := oneDir(args)
		if err != nil {
			return c.fail(err)
		}
		if !o.input && !o.autoApprove {
			return c.fail(usagef("-input=false: %s asks nothing then, so it needs -auto-approve, or a saved plan to apply", c.cmd.name))
		}
		var ok bool
		p, targets, ok = o.makePlan(c, dir, true)
		defer o.releaseLocks()
		if !ok {
			return exitError
		}
		// What apply would refuse in a plan file it refuses fresh.
		if err := p.Check(); err != nil {
			return c.fail(err)
		}
	}
	views.Plan(c.stdout, p, c.color(c.stdout))
	for _, hp := range p.Hosts {
		if hp.Error != "" {
			skip[hp.Name] = fmt.Errorf("host %q was not planned: %s", hp.Name, hp.Error)
		}
	}
	if !o.anythingToApply(p, skip) {
		if len(skip) > 0 {
			return o.reportApply(c, p, skip, false)
		}
		if n := p.Counts().Restart; n > 0 {
			fmt.Fprintf(c.stdout, "\nNo files to change; %d unit(s) need a restart to run as planned: run fencer apply -restart.\n", n)
		}
		return exitOK
	}
	if n := len(skip); n > 0 && !saved {
		fmt.Fprintf(c.stdout, "\n%d of %d hosts could not be planned: apply leaves them as they are and applies the others.\n", n, len(p.Hosts))
	}
	if err := o.checkAdopt(c, p); err != nil {
		fmt.Fprintf(c.stderr, "Error: %v\n", err)
		fmt.Fprintln(c.stderr, "Nothing was applied.")
		return exitError
	}
	if !saved && !o.autoApprove {
		if !c.confirm(o.destroy) {
			return exitError
		}
	}
	if saved {
		defer o.releaseLocks()
		if !o.checkSaved(p, targets, skip) {
			return o.reportApply(c, p, skip, true)
		}
	}
	return o.applyAll(c, p, targets, skip)
}

// anythingToApply reports whether a host not in skip has a file to
// change, or with -restart a unit to restart.
func (o *planOptions) anythingToApply(p *plan.Plan, skip map[string]error) bool {
	for _, hp := range p.Hosts {
		if n := hp.Counts(); skip[hp.Name] == nil && (n.Add+n.Change+n.Destroy > 0 || o.restart) {
			return true
		}
	}
	return false
}

// loadSaved reads a saved plan for apply, opens its hosts and checks that
// it is a plan fencer makes for them, before it is shown. It returns the
// hosts that cannot be applied (not opened, facts not read), with the
// error; a nil plan with the exit code when the plan is refused whole.
func (o *planOptions) loadSaved(c *cli, file string) (*plan.Plan, map[string]host.Target, map[string]error, int) {
	if o.destroy {
		return nil, nil, nil, c.fail(usagef("destroy takes a configuration directory, not a plan file"))
	}
	if len(o.config.vars) > 0 || len(o.config.varFiles) > 0 {
		return nil, nil, nil, c.fail(usagef("a saved plan is applied as it was made: -var and -var-file cannot change it; make a new plan instead"))
	}
	if len(o.targets) > 0 || o.pull != "" {
		return nil, nil, nil, c.fail(usagef("a saved plan is applied as it was made: -target and -host cannot change it; make a new plan with them instead"))
	}
	p, err := readPlanFile(file)
	if err != nil {
		return nil, nil, nil, c.fail(err)
	}
	targets, failed, err := o.planTargets(p)
	if err != nil {
		return nil, nil, nil, c.fail(err)
	}
	if len(p.Hosts) > 1 {
		o.progress = c.newProgress()
	}
	// Before anything is shown as the plan to apply: is it one?
	var mu sync.Mutex
	refused := make([]error, len(p.Hosts))
	host.Each(len(p.Hosts), o.parallelism, func(i int) {
		hp := p.Hosts[i]
		t := targets[hp.Name]
		if t == nil || hp.Error != "" {
			return
		}
		o.progress.Observe(plan.Event{Host: hp.Name, Step: plan.StepConnecting})
		facts, err := t.Facts(context.Background())
		if err != nil {
			mu.Lock()
			failed[hp.Name] = fmt.Errorf("host %q: reading facts: %w", hp.Name, err)
			mu.Unlock()
			return
		}
		refused[i] = apply.CheckPlan(hp, facts, p.ConfigID, o.destroy, o.loaders.loaders())
	})
	o.progress.Break()
	for _, err := range refused {
		if err != nil {
			return nil, nil, nil, c.fail(fmt.Errorf("%s: %w; nothing was applied", file, err))
		}
	}
	return p, targets, failed, exitOK
}

// checkSaved takes the lock of every host of a saved plan that skip does
// not hold and checks, under it, that its files are as planned
// (apply.Check). A host refused is added to skip. Without -partial it is
// false when any host of the plan cannot be applied: then none is.
func (o *planOptions) checkSaved(p *plan.Plan, targets map[string]host.Target, skip map[string]error) bool {
	ctx := context.Background()
	locking := map[string]host.Target{}
	for name, t := range targets {
		if skip[name] == nil {
			locking[name] = t
		}
	}
	release, failed := apply.LockEach(ctx, locking, o.lockTimeout, o.observer())
	o.release = release
	var mu sync.Mutex
	host.Each(len(p.Hosts), o.parallelism, func(i int) {
		hp := p.Hosts[i]
		if skip[hp.Name] != nil || locking[hp.Name] == nil {
			return
		}
		err := failed[hp.Name]
		if err == nil {
			err = apply.Check(ctx, targets[hp.Name], hp, o.applyOptions(nil, p))
		}
		if err != nil {
			o.progress.Observe(plan.Event{Host: hp.Name, Step: plan.StepFailed, Err: err.Error()})
			mu.Lock()
			skip[hp.Name] = err
			o.noteLockError(err)
			mu.Unlock()
		}
	})
	return len(skip) == 0 || o.partial
}

// applyOptions are apply.Host's options for plan p.
func (o *planOptions) applyOptions(c *cli, p *plan.Plan) apply.Options {
	opts := apply.Options{Restart: o.restart, Destroy: o.destroy, Stop: o.stop,
		Locked: o.release != nil, LockTimeout: o.lockTimeout,
		ConfigID: p.ConfigID, Adopt: o.adopt, Observe: o.observer(), Loader: o.loaders.loaders()}
	if c != nil {
		opts.Pause = c.testPause()
	}
	return opts
}

// showPlan is show with PLANFILE: it prints a saved plan as plan printed
// it, or as JSON.
func (o *showOptions) showPlan(c *cli, file string) int {
	p, err := readPlanFile(file)
	if err != nil {
		return c.fail(err)
	}
	if o.json {
		if err := plan.WriteDisplayJSON(c.stdout, p); err != nil {
			return c.fail(err)
		}
		return exitOK
	}
	views.Plan(c.stdout, p, c.color(c.stdout))
	return exitOK
}

// readPlanFile reads a saved plan: a regular file of at most
// plan.MaxFileBytes that plan.ReadJSON accepts.
func readPlanFile(name string) (*plan.Plan, error) {
	b, err := readlimit.File(name, plan.MaxFileBytes, "a plan file")
	if err != nil {
		return nil, fmt.Errorf("read plan file: %w", err)
	}
	p, err := plan.ReadJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// checkAdopt refuses, before anything is asked or written, a plan that
// takes over a file -adopt does not name; it notes the -adopt paths the
// plan does not take over.
func (o *planOptions) checkAdopt(c *cli, p *plan.Plan) error {
	var errs []string
	taken := map[string]bool{}
	for _, hp := range p.Hosts {
		for _, ch := range hp.Changes {
			if ch.TakeOver {
				taken[ch.Path] = true
			}
		}
		if err := apply.Refused(hp, o.adopt); err != nil {
			errs = append(errs, err.Error())
		}
	}
	for _, a := range o.adopt {
		if !taken[a] {
			fmt.Fprintf(c.stderr, "Note: -adopt=%s: the plan takes over no file at that path.\n", a)
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\nError: "))
	}
	return nil
}

// confirm asks for "yes" on a terminal, in apply's words or destroy's;
// without a terminal it refuses.
func (c *cli) confirm(destroy bool) bool {
	words := confirmWords(destroy)
	in, ok := c.stdin.(*os.File)
	if !ok || !isTerminal(in) {
		fmt.Fprintln(c.stderr, words.noTerminal)
		return false
	}
	fmt.Fprint(c.stdout, words.prompt)
	line, _ := bufio.NewReader(in).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		fmt.Fprintln(c.stderr, words.cancelled)
		return false
	}
	return true
}

// prompt is what confirm says.
type prompt struct{ prompt, cancelled, noTerminal string }

// confirmWords are apply's question, or destroy's as Terraform asks it.
func confirmWords(destroy bool) prompt {
	if destroy {
		return prompt{
			prompt: "\nDo you really want to destroy all of fencer's files for this configuration?\n" +
				"  fencer will remove every file shown above and put back the files it took over.\n" +
				"  There is no undo. Only 'yes' will be accepted to confirm.\n\n  Enter a value: ",
			cancelled:  "\nDestroy cancelled.",
			noTerminal: "Error: destroy needs a \"yes\" typed on a terminal; there is none. Use -auto-approve to destroy without asking.",
		}
	}
	return prompt{
		prompt:     "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ",
		cancelled:  "\nApply cancelled.",
		noTerminal: "Error: apply needs a \"yes\" typed on a terminal; there is none. Use -auto-approve to apply without asking.",
	}
}

// applyAll applies each host's plan but those in skip, hosts in
// parallel; a host's failure is reported without stopping the others.
func (o *planOptions) applyAll(c *cli, p *plan.Plan, targets map[string]host.Target, skip map[string]error) int {
	var mu sync.Mutex
	logw := &lockedWriter{w: c.stdout, mu: &mu}
	var hosts []*plan.HostPlan
	for _, hp := range p.Hosts {
		switch {
		case skip[hp.Name] != nil:
		case targets[hp.Name] == nil:
			skip[hp.Name] = fmt.Errorf("host %q of the plan is not in the configuration", hp.Name)
		default:
			hosts = append(hosts, hp)
		}
	}
	// With progress shown, each host's lines are kept and printed whole,
	// in the plan's order, once every host is done.
	logs := make([]bytes.Buffer, len(hosts))
	base := o.applyOptions(c, p)
	host.Each(len(hosts), o.parallelism, func(i int) {
		hp := hosts[i]
		opts := base
		opts.Log = logw
		if o.progress != nil {
			opts.Log = &logs[i]
		}
		err := apply.Host(context.Background(), targets[hp.Name], hp, opts)
		ev := plan.Event{Host: hp.Name, Step: plan.StepDone}
		if err != nil {
			ev.Step, ev.Err = plan.StepFailed, err.Error()
		}
		o.progress.Observe(ev)
		if err != nil {
			mu.Lock()
			skip[hp.Name] = err
			o.noteLockError(err)
			mu.Unlock()
		}
	})
	o.progress.Break()
	for i := range logs {
		c.stdout.Write(logs[i].Bytes())
	}
	return o.reportApply(c, p, skip, false)
}

// reportApply ends apply and destroy: the errors of the hosts that
// failed, in the plan's order, the summary, and the totals. notApplied
// says that no host was applied because some were refused (checkSaved).
func (o *planOptions) reportApply(c *cli, p *plan.Plan, failed map[string]error, notApplied bool) int {
	var results []views.HostResult
	for _, hp := range p.Hosts {
		r := o.hostResult(hp)
		n := hp.Counts()
		switch {
		case failed[hp.Name] != nil:
			fmt.Fprintf(c.stderr, "Error: %v\n", failed[hp.Name])
			r.Result, r.Reason = views.ResultFailed, failed[hp.Name].Error()
			if hp.Error != "" {
				r.Reason = "not planned: " + hp.Error
			}
			r.Added, r.Changed, r.Destroyed = 0, 0, 0
		case notApplied:
			r.Result, r.Reason = views.ResultNotApplied, "another host of the plan was refused"
			r.Added, r.Changed, r.Destroyed = 0, 0, 0
		case n.Add+n.Change+n.Destroy > 0 || (o.restart && n.Restart > 0):
			r.Result = views.ResultOK
		default:
			r.Result = views.ResultNoChanges
		}
		results = append(results, r)
	}
	o.lockHelp(c)
	o.summary(c, results)
	if notApplied {
		fmt.Fprintf(c.stderr, "\n%d of %d hosts of the plan cannot be applied as planned; nothing was applied. Run apply with -partial to apply the other hosts, or make a new plan.\n", len(failed), len(p.Hosts))
		return exitError
	}
	if len(failed) > 0 {
		fmt.Fprintf(c.stderr, "\n%d of %d hosts failed.\n", len(failed), len(p.Hosts))
		return exitError
	}
	n := p.Counts()
	if o.destroy {
		// A destroy changes a file only to put back one fencer took over.
		back := ""
		if n.Change > 0 {
			back = fmt.Sprintf(", %d put back as they were", n.Change)
		}
		fmt.Fprintf(c.stdout, "\nDestroy complete! Files: %d destroyed%s.\n", n.Destroy, back)
		return exitOK
	}
	fmt.Fprintf(c.stdout, "\nApply complete! Files: %d added, %d changed, %d destroyed.\n", n.Add, n.Change, n.Destroy)
	return exitOK
}

// testPauseEnv names the environment variable with which tests stop apply
// and destroy at exact points, to kill them there or to hold a host's
// lock: a comma-separated list of the steps of apply.Options.Pause to stop
// at ("locked", "write", "remove", "reload", "verify", "done"), or "all".
// At each, fencer prints "fencer: FENCER_TEST_PAUSE: pid PID stopped at
// STEP" on stderr and stops itself with SIGSTOP until it gets SIGCONT. It
// is for tests only (e2e) and does nothing unless set.
const testPauseEnv = "FENCER_TEST_PAUSE"

// testPause returns the apply.Options.Pause that $FENCER_TEST_PAUSE asks
// for, nil when it is not set.
func (c *cli) testPause() func(string) {
	var want string
	for _, kv := range c.environ {
		if v, ok := strings.CutPrefix(kv, testPauseEnv+"="); ok {
			want = v
		}
	}
	if want == "" {
		return nil
	}
	steps := map[string]bool{}
	for _, s := range strings.Split(want, ",") {
		steps[strings.TrimSpace(s)] = true
	}
	var mu sync.Mutex
	return func(step string) {
		kind, _, _ := strings.Cut(step, " ")
		if !steps["all"] && !steps[kind] {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(c.stderr, "fencer: %s: pid %d stopped at %s\n", testPauseEnv, os.Getpid(), step)
		// To this thread: it takes the signal itself on the way out of
		// tgkill and stops there, while kill(2) could have the signal
		// handled by another thread and this one run on for a while.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		_ = syscall.Tgkill(os.Getpid(), syscall.Gettid(), syscall.SIGSTOP)
	}
}

// lockedWriter serializes writes from several goroutines.
type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// color reports whether output to w gets color.
func (c *cli) color(w any) bool {
	if c.noColor {
		return false
	}
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

// absDir makes dir absolute, so a saved plan finds its configuration from
// anywhere.
func absDir(dir string) string {
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return dir
}
