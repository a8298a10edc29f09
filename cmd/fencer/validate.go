package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/plan/lint"
	"github.com/fencer-dev/fencer/plan/resolve"
	"github.com/fencer-dev/fencer/plan/testrun"
)

var validateCommand = &command{
	name:     "validate",
	synopsis: "Check whether the configuration is valid",
	main:     true,
	help: `Usage: fencer [global options] validate [options] [DIR]

  Validate the configuration in DIR (the current directory when omitted):
  parse every *.fencer.hcl and *.fencer.json file, check types and names,
  resolve syscalls, constants and fds, and compile every service's filter
  for every architecture it is planned for. No host is contacted. It
  warns about what only planning needs, which plan refuses: an id for
  the configuration (its directory's name, unless a fencer block sets
  one).

  Then it lints each policy (see "Lints" in docs/language.md): a rule
  whose condition another rule makes meaningless, a condition that is
  always or never true, a condition a sibling syscall undoes (write
  limited to some fds while writev is allowed on any, clone's flags
  checked while clone3 is allowed), an fd condition that dup2, dup3,
  fcntl(F_DUPFD) or dup can get around. These are warnings, which only
  validate shows: test and plan do not lint.

  On success it lists each compiled filter with its size. Any error is
  reported with its file, line, column and source, and makes the exit
  code 1; with -strict, so does any warning.

Options:

  -arch=LIST         Check only these architectures, comma-separated
                     (x86_64, aarch64, i386, arm, riscv64, ppc64le, s390x).

  -json              Print the result in Terraform's machine-readable
                     validate format, on stdout, with "filters": each
                     compiled filter's service and architecture and its
                     figures before and after fencer's optimizer (see
                     "fencer show -bpf -stats").

  -strict            Fail (exit code 1) on any warning too, for CI. With
                     -json, "valid" is then false when there is one.

` + noColorHelp + `
` + configOptionsHelp,
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		o := &validateOptions{}
		o.config.register(fs)
		fs.Var(&o.arches, "arch", "")
		fs.BoolVar(&o.json, "json", false, "")
		fs.BoolVar(&o.strict, "strict", false, "")
		return o.run
	},
}

// validateOptions are the flags of validate.
type validateOptions struct {
	config configFlags
	arches archList
	json   bool
	strict bool
}

// validateJSON is Terraform's "validate -json" output.
type validateJSON struct {
	FormatVersion string           `json:"format_version"`
	Valid         bool             `json:"valid"`
	ErrorCount    int              `json:"error_count"`
	WarningCount  int              `json:"warning_count"`
	Diagnostics   []jsonDiagnostic `json:"diagnostics"`
	// Filters lists every compiled filter with its figures before and
	// after the optimizer; fencer's addition to Terraform's format.
	Filters []jsonFilter `json:"filters"`
}

// jsonFilter is one service's filter on one architecture in validate
// -json.
type jsonFilter struct {
	Service string `json:"service"`
	Arch    string `json:"arch"`
	jsonOptimizer
}

func (o *validateOptions) run(c *cli, args []string) int {
	dir, err := oneDir(args)
	if err != nil {
		return c.fail(err)
	}
	cfg, diags := c.load(dir, &o.config)
	var compiled []*resolve.Compiled
	if !diags.HasErrors() && cfg != nil {
		var more hcl.Diagnostics
		compiled, more = resolve.CompileAll(cfg, o.arches)
		diags = append(diags, more...)
		// What only planning needs: plan, apply and verify refuse what
		// these say, test, show and export do without.
		diags = append(diags, cfg.IDDiagnostics(hcl.DiagWarning)...)
		if !more.HasErrors() {
			// The test blocks name syscalls, fds and actions too.
			diags = append(diags, testrun.Check(cfg, compiled)...)
			diags = append(diags, lint.Policies(cfg, o.arches)...)
		}
	}
	src := newSources(cfg)
	errs, warnings := countDiags(diags)
	failed := errs > 0 || o.strict && warnings > 0
	if o.json {
		out := validateJSON{
			FormatVersion: "1.0",
			Valid:         !failed,
			ErrorCount:    errs,
			WarningCount:  warnings,
			Diagnostics:   jsonDiags(src, diags),
			Filters:       []jsonFilter{},
		}
		if errs == 0 {
			if out.Filters, err = jsonFilters(compiled); err != nil {
				return c.fail(err)
			}
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return c.fail(fmt.Errorf("encoding the result as JSON: %w", err))
		}
		fmt.Fprintf(c.stdout, "%s\n", b)
	} else {
		c.printDiags(src, diags)
		switch {
		case failed && errs == 0:
			fmt.Fprintf(c.stderr, "The configuration is valid, but -strict fails it on %d %s.\n", warnings, plural(warnings, "warning"))
		case errs == 0:
			fmt.Fprintln(c.stdout, "Success! The configuration is valid.")
			printCompiled(c, compiled)
		}
	}
	if failed {
		return exitError
	}
	return exitOK
}

// jsonFilters measures each compiled filter for validate -json.
func jsonFilters(compiled []*resolve.Compiled) ([]jsonFilter, error) {
	out := []jsonFilter{}
	for _, x := range compiled {
		js, _, err := measure(x)
		if err != nil {
			return nil, err
		}
		out = append(out, jsonFilter{Service: x.Service.Name, Arch: x.Arch.Name, jsonOptimizer: js})
	}
	return out, nil
}

// printCompiled lists each compiled filter with its size, in columns.
func printCompiled(c *cli, compiled []*resolve.Compiled) {
	if len(compiled) == 0 {
		return
	}
	wName, wArch, wInsns := 0, 0, 0
	for _, x := range compiled {
		wName = max(wName, len(x.Service.Name))
		wArch = max(wArch, len(x.Arch.Name))
		wInsns = max(wInsns, len(fmt.Sprint(x.Stats.Insns)))
	}
	fmt.Fprintln(c.stdout)
	for _, x := range compiled {
		line := fmt.Sprintf("  %-*s  %-*s  %*d %s, %d %s", wName, x.Service.Name, wArch, x.Arch.Name,
			wInsns, x.Stats.Insns, plural(x.Stats.Insns, "instruction"), x.Stats.Syscalls, plural(x.Stats.Syscalls, "syscall"))
		if len(x.Filter.ExecOnce) > 0 {
			line += " (execve: exec once)"
		}
		fmt.Fprintln(c.stdout, strings.TrimRight(line, " "))
	}
}

// plural is word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
