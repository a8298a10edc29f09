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

	"github.com/hashicorp/hcl/v2"

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

  -parallelism=N     Plan (and apply) at most N hosts at once (default 10).

` + loaderHelp + ``

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
	restart     bool
	adopt       stringList
	destroy     bool
	stop        bool
	lockTimeout time.Duration
	loaders     loaderFlag
	// opened are the hosts reached over SSH, which closeHosts closes.
	opened []*sshhost.Lazy
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
}

// hosts builds a transport for every host of the configuration: the
// -root tree (a host's address ignored), a host over SSH for one with an
// address (connected on first use: one that cannot be reached fails on
// its own), or this machine.
func (o *planOptions) hosts(cfg *hclspec.Config) (map[string]host.Reader, map[string]host.Target, hcl.Diagnostics, error) {
	hosts := map[string]host.Reader{}
	targets := map[string]host.Target{}
	for _, h := range cfg.Hosts {
		var t host.Target
		var err error
		if o.root != "" {
			t, err = host.Root(h.Name, o.root, h.Arch, h.Scope)
		} else {
			t, err = o.target(h)
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("host %q: %w", h.Name, err)
		}
		hosts[h.Name], targets[h.Name] = t, t
	}
	return hosts, targets, nil, nil
}

// openHosts is hosts for a command: on a mistake in the host blocks or a
// host it cannot open, it prints the diagnostics so far, diags among them,
// and the error, and is false. Otherwise it returns diags with the host
// blocks' warnings added.
func (o *planOptions) openHosts(c *cli, src *sources, cfg *hclspec.Config, diags hcl.Diagnostics) (map[string]host.Reader, map[string]host.Target, hcl.Diagnostics, bool) {
	hosts, targets, more, err := o.hosts(cfg)
	if diags = append(diags, more...); more.HasErrors() || err != nil {
		c.printDiags(src, diags)
		if err != nil {
			c.fail(err)
		}
		return nil, nil, diags, false
	}
	return hosts, targets, diags, true
}

// planTargets builds a transport for every host of a saved plan from what
// the plan recorded — scope, -root directory and architecture — not from
// the configuration, whose variables (the scope, say) may evaluate
// differently now. -root, when given, must be the plan's.
func (o *planOptions) planTargets(p *plan.Plan) (map[string]host.Target, error) {
	targets := map[string]host.Target{}
	for _, hp := range p.Hosts {
		var t host.Target
		var err error
		switch {
		case o.root != "" && hp.Root == "":
			return nil, usagef("-root=%s: the plan was made for host %q itself, not for a directory tree", o.root, hp.Name)
		case hp.Root != "":
			if o.root != "" && absDir(o.root) != hp.Root {
				return nil, usagef("-root=%s: the plan was made for -root=%s", o.root, hp.Root)
			}
			t, err = host.Root(hp.Name, hp.Root, hp.Arch, hp.Scope)
		case hp.Address != "" && hp.SSH != nil:
			var h *hclspec.Host
			if h, err = hp.SSH.Host(hp.Name, hp.Address, hp.Scope); err == nil {
				t, err = o.target(h)
			}
		case hp.Address != "":
			return nil, fmt.Errorf("host %q has an address (%s), and the plan does not say how to reach it: make the plan again", hp.Name, hp.Address)
		default:
			t, err = host.Local(hp.Name, hp.Scope)
		}
		if err != nil {
			return nil, fmt.Errorf("host %q: %w", hp.Name, err)
		}
		targets[hp.Name] = t
	}
	return targets, nil
}

// makePlan loads the configuration in dir and plans every host.
func (o *planOptions) makePlan(c *cli, dir string, lock bool) (*plan.Plan, map[string]host.Target, bool) {
	cfg, diags := c.load(dir, &o.config)
	src := newSources(cfg)
	if diags.HasErrors() {
		c.printDiags(src, diags)
		return nil, nil, false
	}
	hosts, targets, diags, ok := o.openHosts(c, src, cfg, diags)
	if !ok {
		return nil, nil, false
	}
	if lock {
		// Lock before reading the hosts, as Terraform locks its state
		// before it plans: what is planned is what is applied.
		o.connectHosts()
		release, err := apply.LockAll(context.Background(), targets, o.lockTimeout)
		if err != nil {
			c.printDiags(src, diags)
			c.fail(err)
			if errors.Is(err, context.DeadlineExceeded) {
				fmt.Fprintf(c.stderr, "  Run again when it is done, or wait for it with -lock-timeout=DURATION.\n")
			}
			return nil, nil, false
		}
		o.release = release
	}
	p, more := plan.Make(context.Background(), cfg, plan.Options{
		Hosts:         hosts,
		Loader:        o.loaders.loaders(),
		Destroy:       o.destroy,
		Parallelism:   o.parallelism,
		FencerVersion: currentVersion(),
		ConfigDir:     absDir(dir),
	})
	diags = append(diags, more...)
	c.printDiags(src, diags)
	if diags.HasErrors() {
		return nil, nil, false
	}
	if !o.destroy {
		// Like Terraform's refresh: what runs on the hosts, not only
		// their files.
		host.Each(len(p.Hosts), o.parallelism, func(i int) {
			if hp := p.Hosts[i]; targets[hp.Name] != nil {
				hp.Restarts = verify.Restarts(context.Background(), targets[hp.Name], hp)
			}
		})
	}
	return p, targets, true
}

func (o *planOptions) runPlan(c *cli, args []string) int {
	defer o.closeHosts()
	dir, err := oneDir(args)
	if err != nil {
		return c.fail(err)
	}
	p, _, ok := o.makePlan(c, dir, false)
	if !ok {
		return exitError
	}
	if o.json {
		if err := plan.WriteDisplayJSON(c.stdout, p); err != nil {
			return c.fail(err)
		}
	} else {
		views.Plan(c.stdout, p, c.color(c.stdout))
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
	defer o.closeHosts()
	if len(args) > 1 {
		return c.fail(usagef("too many arguments: %s", strings.Join(args, " ")))
	}
	var p *plan.Plan
	var targets map[string]host.Target
	saved := false
	if len(args) == 1 {
		if st, err := os.Stat(args[0]); err == nil && !st.IsDir() {
			saved = true
		}
	}
	if saved {
		if o.destroy {
			return c.fail(usagef("destroy takes a configuration directory, not a plan file"))
		}
		if len(o.config.vars) > 0 || len(o.config.varFiles) > 0 {
			return c.fail(usagef("a saved plan is applied as it was made: -var and -var-file cannot change it; make a new plan instead"))
		}
		var err error
		if p, err = readPlanFile(args[0]); err != nil {
			return c.fail(err)
		}
		targets, err = o.planTargets(p)
		if err != nil {
			return c.fail(err)
		}
		// Before anything is shown as the plan to apply: is it one?
		for _, hp := range p.Hosts {
			if t := targets[hp.Name]; t != nil && hp.Error == "" {
				facts, err := t.Facts(context.Background())
				if err != nil {
					return c.fail(fmt.Errorf("host %q: reading facts: %w", hp.Name, err))
				}
				if err := apply.CheckPlan(hp, facts, p.ConfigID, o.destroy, o.loaders.loaders()); err != nil {
					return c.fail(fmt.Errorf("%s: %w; nothing was applied", args[0], err))
				}
			}
		}
		views.Plan(c.stdout, p, c.color(c.stdout))
	} else {
		dir, err := oneDir(args)
		if err != nil {
			return c.fail(err)
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
		views.Plan(c.stdout, p, c.color(c.stdout))
	}
	if len(p.Failed()) > 0 {
		fmt.Fprintln(c.stderr, "Error: some hosts could not be planned; nothing was applied.")
		return exitError
	}
	if !p.HasFileChanges() && !o.restart {
		if n := p.Counts().Restart; n > 0 {
			fmt.Fprintf(c.stdout, "\nNo files to change; %d unit(s) need a restart to run as planned: run fencer apply -restart.\n", n)
		}
		return exitOK
	}
	if err := o.checkAdopt(c, p); err != nil {
		fmt.Fprintf(c.stderr, "Error: %v\n", err)
		fmt.Fprintln(c.stderr, "Nothing was applied.")
		return exitError
	}
	if !saved && !o.autoApprove {
		if !c.confirm() {
			return exitError
		}
	}
	return o.applyAll(c, p, targets)
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

// confirm asks for "yes" on a terminal; without one it refuses.
func (c *cli) confirm() bool {
	in, ok := c.stdin.(*os.File)
	if !ok || !isTerminal(in) {
		fmt.Fprintln(c.stderr, "Error: apply needs a \"yes\" typed on a terminal; there is none. Use -auto-approve to apply without asking.")
		return false
	}
	fmt.Fprint(c.stdout, "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
	line, _ := bufio.NewReader(in).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		fmt.Fprintln(c.stderr, "\nApply cancelled.")
		return false
	}
	return true
}

// applyAll applies each host's plan, hosts in parallel; a host's failure
// is reported without stopping the others.
func (o *planOptions) applyAll(c *cli, p *plan.Plan, targets map[string]host.Target) int {
	var mu sync.Mutex
	failed := 0
	logw := &lockedWriter{w: c.stdout, mu: &mu}
	var hosts []*plan.HostPlan
	for _, hp := range p.Hosts {
		if targets[hp.Name] == nil {
			fmt.Fprintf(c.stderr, "Error: host %q of the plan is not in the configuration\n", hp.Name)
			failed++
			continue
		}
		hosts = append(hosts, hp)
	}
	host.Each(len(hosts), o.parallelism, func(i int) {
		hp := hosts[i]
		err := apply.Host(context.Background(), targets[hp.Name], hp, apply.Options{Restart: o.restart, Destroy: o.destroy, Stop: o.stop, Log: logw,
			Locked: o.release != nil, LockTimeout: o.lockTimeout, Pause: c.testPause(),
			ConfigID: p.ConfigID, Adopt: o.adopt, Loader: o.loaders.loaders()})
		if err != nil {
			mu.Lock()
			fmt.Fprintf(c.stderr, "Error: %v\n", err)
			if errors.Is(err, context.DeadlineExceeded) {
				fmt.Fprintf(c.stderr, "  Run again when it is done, or wait for it with -lock-timeout=DURATION.\n")
			}
			failed++
			mu.Unlock()
		}
	})
	n := p.Counts()
	if failed > 0 {
		fmt.Fprintf(c.stderr, "\n%d of %d hosts failed.\n", failed, len(p.Hosts))
		return exitError
	}
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
