package main

import (
	"context"
	"encoding/json"
	"flag"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/views"
	"github.com/fencer-dev/fencer/plan"
	"github.com/fencer-dev/fencer/verify"
)

// Exit code of verify when a host drifted from the configuration.
const exitDrift = 2

var verifyCommand = &command{
	name:     "verify",
	synopsis: "Check that each host runs what the configuration plans",
	main:     true,
	help: `Usage: fencer [global options] verify [options] [DIR]

  On each host, check that:
    - every file fencer manages is there with the planned content, and no
      other drop-in overrides fencer's;
    - systemd has loaded each unit's files, and fencer's socket unit's, as
      they are now (NeedDaemonReload=no);
    - systemd's effective settings of each unit (systemctl show) are the
      planned ones: SystemCallFilter (allowing for systemd's @default set),
      SystemCallArchitectures, NoNewPrivileges, and ExecStart wrapped by the
      loader with the planned filter and hash;
    - each running unit's main process carries a seccomp filter, and the
      planned one, read back with ptrace and compared instruction by
      instruction. Where the kernel will not return it (another process
      traces it already, verify lacks CAP_SYS_ADMIN), only what the
      service cannot forge counts: fewer filters than systemd's and the
      loader's is drift; systemd's record that it started this very
      process through the loader with the planned filter is proof (systemd
      forgets it on daemon-reload); anything else is reported as "cannot
      prove". A process that started before the filter was installed
      needs a restart. With enforce = "systemd", a process that started
      before fencer's drop-in was written needs a restart;
    - the process runs the program the unit starts, as the kernel executes
      it: the file ExecStart='s path leads to through symbolic links, for a
      "#!" script its interpreter, and the script it was executed as.

  Exit 0 when every host is in sync, 2 when anything drifted or cannot be
  proven, 1 on errors.

Options:

  -json              Print the reports as JSON.

` + hostOptionsHelp + `
` + noColorHelp + `
` + configOptionsHelp,
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		o := &verifyOptions{}
		o.plan.register(fs)
		fs.BoolVar(&o.json, "json", false, "")
		return o.run
	},
}

// verifyOptions are the flags of verify.
type verifyOptions struct {
	plan planOptions
	json bool
}

func (o *verifyOptions) run(c *cli, args []string) int {
	c.compactWarnings = o.plan.compactWarnings
	defer o.plan.closeHosts()
	dir, err := oneDir(args)
	if err != nil {
		return c.fail(err)
	}
	cfg, diags := c.load(dir, &o.plan.config)
	src := newSources(cfg)
	if diags.HasErrors() {
		c.printDiags(src, diags)
		return exitError
	}
	ctx := context.Background()
	p, targets, ok := o.plan.planToVerify(ctx, c, cfg, src, diags, dir)
	if !ok {
		return exitError
	}
	reports := make([]*verify.HostReport, len(p.Hosts))
	host.Each(len(p.Hosts), o.plan.parallelism, func(i int) {
		hp := p.Hosts[i]
		if hp.Error == "" {
			o.plan.progress.Observe(plan.Event{Host: hp.Name, Step: plan.StepVerifying})
		}
		reports[i] = verify.Host(ctx, targets[hp.Name], hp)
		ev := plan.Event{Host: hp.Name, Step: plan.StepDone}
		if reports[i].Error != "" {
			ev.Step, ev.Err = plan.StepFailed, reports[i].Error
		}
		o.plan.progress.Observe(ev)
	})
	results := o.plan.verifyResults(p, reports)
	if o.json {
		out := map[string]any{"hosts": reports}
		if len(results) > 1 {
			out["summary"] = results
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return c.fail(err)
		}
	} else {
		views.Verify(c.stdout, reports, c.color(c.stdout))
		o.plan.summary(c, results)
	}
	code := exitOK
	for _, r := range reports {
		switch {
		case r.Error != "":
			code = exitError
		case !r.InSync() && code == exitOK:
			code = exitDrift
		}
	}
	return code
}

// verifyResults are verify's summary: each host in sync, drifted or
// failed.
func (o *planOptions) verifyResults(p *plan.Plan, reports []*verify.HostReport) []views.HostResult {
	var out []views.HostResult
	for i, hp := range p.Hosts {
		r := views.NewHostResult(hp.Name, hp.Arch, o.progress.Elapsed(hp.Name))
		switch rep := reports[i]; {
		case rep.Error != "":
			r.Result, r.Reason = views.ResultFailed, rep.Error
		case rep.InSync():
			r.Result = views.ResultInSync
		default:
			r.Result, r.Differences = views.ResultDrift, len(rep.Findings)
		}
		out = append(out, r)
	}
	return out
}

// planToVerify plans every host of cfg as verify (and why) read them:
// drop-ins that override fencer's are findings, not errors
// (plan.Options.Verify). It prints the diagnostics, diags (the
// configuration's) among them, and is false on an error.
func (o *planOptions) planToVerify(ctx context.Context, c *cli, cfg *hclspec.Config, src *sources, diags hcl.Diagnostics, dir string) (*plan.Plan, map[string]host.Target, bool) {
	f, diags, ok := o.openHosts(c, src, cfg, diags)
	if !ok {
		return nil, nil, false
	}
	opts := o.makeOptions(f, dir)
	opts.Verify = true
	p, more := plan.Make(ctx, cfg, opts)
	diags = append(diags, more...)
	c.printDiags(src, diags)
	return p, f.hosts, !diags.HasErrors()
}
