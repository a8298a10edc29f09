package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/spelling"
	"github.com/fencer-dev/fencer/internal/unitfile"
	"github.com/fencer-dev/fencer/plan"
	"github.com/fencer-dev/fencer/plan/resolve"
	"github.com/fencer-dev/fencer/why"
)

// Exit code of why when it found nothing to explain.
const exitNothingFound = 2

var whyCommand = &command{
	name:     "why",
	synopsis: "Explain why a unit's filter killed (or logged) one of its calls",
	main:     true,
	help: `Usage: fencer [global options] why [options] [DIR] UNIT

  Find the kernel's seccomp audit records of UNIT's processes on this
  machine and explain each with the planned filter: when, which process,
  the syscall by name and number, its architecture, the action the kernel
  took, and the rule or default action that decided, with its file:line
  in the configuration. UNIT is the unit of one of the configuration's
  services (metrics.service, or metrics), or service.NAME.

  Records are read from auditd's log (/var/log/audit/audit.log and its
  rotations), the journal (journalctl: kernel messages and journald's own
  audit records) and the kernel log (/dev/kmsg, what dmesg prints), each
  record once. Without an audit daemon the kernel logs at most 10 records
  every 5 seconds (printk_ratelimit) and drops the rest, saying
  "kauditd_printk_skb: N callbacks suppressed"; why reports such losses.
  Reading these needs root (or the adm / systemd-journal groups).

  A record belongs to the unit when its pid is the unit's main process
  (systemd's ExecMainPID, within its run), a process in the unit's control
  group, or one the journal recorded for the unit running the same
  program; or when its program is the unit's (the report then says it may
  be another process running the same program). A child of the service
  that runs another program and left nothing in the journal is not found.

  The audit record has no syscall arguments. A core dump has them: when
  the unit has LimitCORE=infinity and core_pattern keeps cores, why finds
  the core of a killed process (through coredumpctl, or where
  core_pattern puts it, in the unit's working directory for a relative
  pattern) and shows the arguments and exactly which rule decided. Without
  arguments it says which conditions cannot have held.

  Exit 0 when at least one event was found and explained, 2 when none was
  (or only deaths by SIGSYS whose record is lost), 1 on errors.

Options:

  -since=TIME        Only records from TIME on: a duration back from now
                     (30m, 2h), a date and time (2026-12-07 15:04:05,
                     local time, or RFC 3339), @UNIXSECONDS, or "boot"
                     (the default: since this machine booted).

  -core=FILE         Read the syscall's arguments from the core file FILE
                     (an ELF core dump of the killed process). May be
                     repeated.

  -log=FILE          Also read records from FILE: kernel log (dmesg or
                     /dev/kmsg) text, an auditd log, or journalctl -o json
                     output. May be repeated.

  -host=NAME         Only the host NAME of the configuration (by default
                     every host that runs the unit's service).

  -json              Print the reports as JSON: {"hosts": [REPORT...]},
                     each REPORT with host, unit, service, arch, since,
                     events, sources and notes (see docs/why.md).

` + noColorHelp + `
` + configOptionsHelp,
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		o := &whyOptions{}
		o.config.register(fs)
		fs.StringVar(&o.since, "since", "boot", "")
		fs.Var(&o.cores, "core", "")
		fs.Var(&o.logs, "log", "")
		fs.StringVar(&o.host, "host", "", "")
		fs.BoolVar(&o.json, "json", false, "")
		return o.run
	},
}

// whyOptions are the flags of why.
type whyOptions struct {
	config      configFlags
	since, host string
	cores, logs stringList
	json        bool
}

func (o *whyOptions) run(c *cli, args []string) int {
	var dir, unit string
	switch len(args) {
	case 1:
		dir, unit = ".", args[0]
	case 2:
		dir, unit = args[0], args[1]
	case 0:
		return c.fail(usagef("missing the unit: fencer why UNIT"))
	default:
		return c.fail(usagef("too many arguments: expected [DIR] UNIT, got %s", quoteAll(args)))
	}
	since, err := parseSince(o.since, time.Now())
	if err != nil {
		return c.fail(usagef("-since: %v", err))
	}
	for _, f := range append(append([]string(nil), o.cores...), o.logs...) {
		if st, err := os.Stat(f); err != nil {
			return c.fail(err)
		} else if !st.Mode().IsRegular() {
			return c.fail(fmt.Errorf("%s is not a regular file", f))
		}
	}
	cfg, diags := c.load(dir, &o.config)
	src := newSources(cfg)
	if diags.HasErrors() {
		c.printDiags(src, diags)
		return exitError
	}
	svc, err := whichService(cfg, unit)
	if err != nil {
		c.printDiags(src, diags)
		return c.fail(err)
	}
	ctx := context.Background()
	po := &planOptions{noProgress: true}
	defer po.closeHosts()
	p, targets, ok := po.planToVerify(ctx, c, cfg, src, diags, dir)
	if !ok {
		return exitError
	}
	onHost := map[string]bool{}
	for _, h := range cfg.ServiceHosts(svc) {
		onHost[h.Name] = true
	}
	if o.host != "" && !onHost[o.host] {
		return c.fail(usagef("-host=%s: service.%s does not run on a host of that name", o.host, svc.Name))
	}
	var reports []*why.Report
	for _, hp := range p.Hosts {
		if !onHost[hp.Name] || (o.host != "" && hp.Name != o.host) {
			continue
		}
		reports = append(reports, o.report(ctx, c, cfg, svc, hp, targets[hp.Name], since))
	}
	if o.json {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(map[string]any{"hosts": reports}); err != nil {
			return c.fail(err)
		}
	} else {
		why.Render(c.stdout, reports)
	}
	code := exitNothingFound
	for _, r := range reports {
		if r.Error != "" {
			return exitError
		}
		if r.Explained() {
			code = exitOK
		}
	}
	return code
}

// report looks for the unit's events on one host.
func (o *whyOptions) report(ctx context.Context, c *cli, cfg *hclspec.Config, svc *hclspec.Service, hp *plan.HostPlan, t host.Target, since time.Time) *why.Report {
	fail := func(format string, args ...any) *why.Report {
		return &why.Report{Host: hp.Name, Unit: svc.Unit, Service: svc.Name, Since: since, Error: fmt.Sprintf(format, args...),
			Events: []*why.Event{}, Sources: []why.Source{}, Notes: []string{}}
	}
	var notes []string
	archName := hp.Arch
	if hp.Error != "" {
		notes = append(notes, fmt.Sprintf("the host could not be planned (%s): the explanations follow the configuration compiled for the machine's architecture", hp.Error))
		if archName == "" {
			facts, err := t.Facts(ctx)
			if err != nil {
				return fail("%v", err)
			}
			archName = facts.Arch
		}
	}
	a, ok := arch.Lookup(archName)
	if !ok {
		return fail("unknown architecture %q", archName)
	}
	compiled, diags := resolve.Compile(svc, a)
	if diags.HasErrors() || compiled == nil {
		return fail("service.%s does not compile for %s", svc.Name, a.Name)
	}
	pol := &why.Policy{Compiled: compiled, Files: cfg.Files}
	program := ""
	for _, sp := range hp.Services {
		if sp.Name != svc.Name {
			continue
		}
		if cmds, err := unitfile.Split(sp.ExecStart); err == nil && len(cmds) == 1 {
			program = cmds[0].Argv[0]
		}
		if sp.SystemdFilter {
			pol.SystemdNames = append([]string{}, sp.SystemCallFilter...)
		}
		for _, ch := range hp.Changes {
			if ch.Path != sp.FilterPath || sp.FilterPath == "" {
				continue
			}
			switch ch.Action {
			case plan.Create:
				notes = append(notes, fmt.Sprintf("the planned filter is not installed (%s is missing): the unit's processes did not run the filter these explanations follow; fencer verify tells more", ch.Path))
			case plan.Update:
				notes = append(notes, fmt.Sprintf("the filter file %s differs from the planned one (the configuration or the host changed since apply): a process started with it ran another filter than the one these explanations follow; fencer verify tells more", ch.Path))
			}
		}
	}
	home := ""
	for _, kv := range c.environ {
		if v, ok := strings.CutPrefix(kv, "HOME="); ok {
			home = v
		}
	}
	m := why.Local(hp.Scope, home, t.Systemctl)
	r := why.Run(ctx, m, pol, why.Options{Unit: svc.Unit, Since: since, Logs: o.logs, Cores: o.cores, Program: program})
	r.Host = hp.Name
	r.Notes = append(notes, r.Notes...)
	return r
}

// whichService finds the service a UNIT argument names: its unit
// (metrics.service), the unit without ".service", or service.NAME.
func whichService(cfg *hclspec.Config, unit string) (*hclspec.Service, error) {
	name, isAddr := strings.CutPrefix(unit, "service.")
	var units []string
	for _, svc := range cfg.Services {
		if svc.Unit == unit || svc.Unit == unit+".service" || (isAddr && svc.Name == name) {
			return svc, nil
		}
		units = append(units, svc.Unit)
	}
	if len(units) == 0 {
		return nil, fmt.Errorf("no service of the configuration has the unit %s: it declares no service", unit)
	}
	msg := fmt.Sprintf("no service of the configuration has the unit %s", unit)
	if s := spelling.Nearest(unit, units); s != "" {
		return nil, fmt.Errorf("%s; did you mean %s?", msg, s)
	}
	return nil, fmt.Errorf("%s; its units are %s", msg, strings.Join(units, ", "))
}

// parseSince reads -since: "boot" (zero time: the report starts at boot),
// a duration back from now, @UNIXSECONDS, RFC 3339, or a local date and
// time.
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "boot" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			d = -d
		}
		return now.Add(-d), nil
	}
	if secs, ok := strings.CutPrefix(s, "@"); ok {
		n, err := strconv.ParseInt(secs, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q: @ must be followed by seconds since 1970", s)
		}
		return time.Unix(n, 0), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use a duration (30m), a date and time (2026-12-07 15:04:05), @UNIXSECONDS or boot", s)
}
