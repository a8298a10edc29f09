package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/plan/resolve"
	"github.com/fencer-dev/fencer/plan/testrun"
)

var testCommand = &command{
	name:     "test",
	synopsis: "Run the configuration's test blocks on the compiled filters",
	main:     true,
	help: `Usage: fencer [global options] test [options] [DIR]

  Compile the configuration in DIR (the current directory when omitted) as
  validate does, then run each test block on the filter of its service,
  once per architecture the service is planned for, in a BPF interpreter.
  No host is contacted.

  The output is that of "go test -v": one "=== RUN" line per test and per
  architecture, "--- PASS" or "--- FAIL" with the time taken, then PASS or
  FAIL and a summary line. A failure shows the syscall and its arguments,
  the expected and the actual action, the rule that decided and the
  instructions the filter executed. The exit code is 1 when a test fails.

Options:

  -run=REGEXP        Run only the tests whose name matches REGEXP.

  -arch=LIST         Test only these architectures, comma-separated
                     (x86_64, aarch64, i386, arm, riscv64, ppc64le, s390x).

  -json              Print one JSON object per line, in the format of
                     "go test -json" (test2json).

  -v                 Also show the details of tests that pass: the rule
                     that decided and the instructions executed.

` + noColorHelp + `
` + configOptionsHelp,
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		o := &testOptions{}
		o.config.register(fs)
		fs.Var(&o.arches, "arch", "")
		fs.StringVar(&o.run, "run", "", "")
		fs.BoolVar(&o.json, "json", false, "")
		fs.BoolVar(&o.verbose, "v", false, "")
		return o.runTests
	},
}

// testOptions are the flags of test.
type testOptions struct {
	config  configFlags
	arches  archList
	run     string
	json    bool
	verbose bool
}

func (o *testOptions) runTests(c *cli, args []string) int {
	start := time.Now()
	dir, err := oneDir(args)
	if err != nil {
		return c.fail(err)
	}
	re, err := testrun.CompileRun(o.run)
	if err != nil {
		return c.fail(usagef("%v", err))
	}
	rep := &testReporter{w: c.stdout, json: o.json, pkg: filepath.Clean(dir)}
	rep.start()
	cfg, diags := c.load(dir, &o.config)
	var results []testrun.Result
	if !diags.HasErrors() && cfg != nil {
		compiled, more := resolve.CompileAll(cfg, o.arches)
		diags = append(diags, more...)
		if !diags.HasErrors() {
			results, more = testrun.Run(cfg, compiled, re)
			diags = append(diags, more...)
		}
	}
	c.printDiags(newSources(cfg), diags)
	if diags.HasErrors() {
		rep.setupFailed(time.Since(start))
		return exitError
	}
	ran, failed := 0, false
	for _, t := range cfg.Tests {
		if !re.MatchesName(t.Name) {
			continue
		}
		var rs []testrun.Result
		for _, r := range results {
			if r.Test == t {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			rep.skip(t, o.arches)
			continue
		}
		ran++
		if !rep.test(t, rs, o.verbose) {
			failed = true
		}
	}
	if ran == 0 {
		rep.output("", "testing: warning: no tests to run\n")
		rep.finish(true, time.Since(start), " [no tests to run]")
		return exitOK
	}
	rep.finish(!failed, time.Since(start), "")
	if failed {
		return exitError
	}
	return exitOK
}

// testReporter prints test results as "go test -v" does, or as the events
// of "go test -json": the same text in "output" events, with "run",
// "pass", "fail" and "skip" events around it.
type testReporter struct {
	w    io.Writer
	json bool
	pkg  string
}

// testEvent is one line of test2json's format.
type testEvent struct {
	Time    time.Time `json:"Time"`
	Action  string    `json:"Action"`
	Package string    `json:"Package"`
	Test    string    `json:"Test,omitempty"`
	Elapsed *float64  `json:"Elapsed,omitempty"`
	Output  string    `json:"Output,omitempty"`
}

func (r *testReporter) event(action, test string, elapsed *float64) {
	if r.json {
		r.emit(testEvent{Time: time.Now(), Action: action, Package: r.pkg, Test: test, Elapsed: elapsed})
	}
}

func (r *testReporter) emit(e testEvent) {
	b, err := jsonLine(e)
	if err == nil {
		r.w.Write(b)
	}
}

// output prints text, one or more whole lines, as part of test's output.
func (r *testReporter) output(test, text string) {
	if !r.json {
		r.w.Write([]byte(text))
		return
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		if line != "" {
			r.emit(testEvent{Time: time.Now(), Action: "output", Package: r.pkg, Test: test, Output: line})
		}
	}
}

func (r *testReporter) start() { r.event("start", "", nil) }

// test reports one test block run on its architectures and returns
// whether every run passed.
func (r *testReporter) test(t *hclspec.Test, rs []testrun.Result, verbose bool) bool {
	r.event("run", t.Name, nil)
	r.output(t.Name, "=== RUN   "+t.Name+"\n")
	var total time.Duration
	pass := true
	for _, x := range rs {
		r.event("run", x.Name, nil)
		r.output(x.Name, "=== RUN   "+x.Name+"\n")
		total += x.Elapsed
		pass = pass && x.Pass
	}
	r.output(t.Name, fmt.Sprintf("--- %s: %s (%s)\n", passFail(pass), t.Name, seconds(total, 2)))
	for _, x := range rs {
		r.output(x.Name, fmt.Sprintf("    --- %s: %s (%s)\n", passFail(x.Pass), x.Name, seconds(x.Elapsed, 2)))
		if !x.Pass || verbose {
			r.output(x.Name, indent(resultDetails(x), "        "))
		}
		r.event(strings.ToLower(passFail(x.Pass)), x.Name, elapsed(x.Elapsed, 2))
	}
	r.event(strings.ToLower(passFail(pass)), t.Name, elapsed(total, 2))
	return pass
}

// skip reports a test that runs on no architecture.
func (r *testReporter) skip(t *hclspec.Test, arches archList) {
	why := "its service is planned for none of its architectures"
	if len(arches) > 0 {
		why = "no architecture left after -arch=" + arches.String()
	}
	r.event("run", t.Name, nil)
	r.output(t.Name, "=== RUN   "+t.Name+"\n")
	r.output(t.Name, fmt.Sprintf("--- SKIP: %s (0.00s)\n    %s: %s\n", t.Name, shortPos(t.DeclRange), why))
	r.event("skip", t.Name, elapsed(0, 2))
}

// finish prints PASS or FAIL and the summary line.
func (r *testReporter) finish(pass bool, d time.Duration, note string) {
	if pass {
		r.output("", "PASS\n")
		r.output("", fmt.Sprintf("ok  \t%s\t%s%s\n", r.pkg, seconds(d, 3), note))
	} else {
		r.output("", "FAIL\n")
		r.output("", fmt.Sprintf("FAIL\t%s\t%s%s\n", r.pkg, seconds(d, 3), note))
	}
	r.event(strings.ToLower(passFail(pass)), "", elapsed(d, 3))
}

// setupFailed is the summary when the configuration did not compile, as
// go test reports a build failure.
func (r *testReporter) setupFailed(d time.Duration) {
	r.output("", fmt.Sprintf("FAIL\t%s [setup failed]\n", r.pkg))
	r.event("fail", "", elapsed(d, 3))
}

// resultDetails explains one result: the call, the actions wanted and
// got, the rule that decided and the instructions executed.
func resultDetails(x testrun.Result) string {
	var b strings.Builder
	args := make([]string, len(x.Args))
	for i, a := range x.Args {
		args[i] = fmt.Sprintf("%#x", a)
	}
	fmt.Fprintf(&b, "%s: %s(%s) [nr %d on %s]\n", shortPos(x.Test.DeclRange), x.Test.Syscall.Name, strings.Join(args, ", "), x.Nr, x.Arch.Name)
	fmt.Fprintf(&b, "want: %s\n", x.Want)
	fmt.Fprintf(&b, "got:  %s\n", x.Got)
	if x.Mismatch != "" {
		fmt.Fprintf(&b, "mismatch: %s\n", x.Mismatch)
	}
	fmt.Fprintf(&b, "decided by: %s\n", x.Rule)
	fmt.Fprintf(&b, "expected from: %s\n", x.Expected)
	fmt.Fprintf(&b, "path (%d %s executed):\n", x.Executed, plural(x.Executed, "instruction"))
	b.WriteString(indent(x.Path, "    "))
	return b.String()
}

// shortPos is "file:line" of rng.
func shortPos(rng hcl.Range) string {
	return fmt.Sprintf("%s:%d", rng.Filename, rng.Start.Line)
}

// indent prefixes every non-empty line of text, ending it with a newline.
func indent(text, prefix string) string {
	if text == "" {
		return ""
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func passFail(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FAIL"
}

// seconds spells d as go test does: "0.01s".
func seconds(d time.Duration, digits int) string {
	return fmt.Sprintf("%.*fs", digits, d.Seconds())
}

// elapsed is d in seconds, rounded as printed, for test2json's Elapsed.
func elapsed(d time.Duration, digits int) *float64 {
	var v float64
	fmt.Sscanf(strings.TrimSuffix(seconds(d, digits), "s"), "%g", &v)
	return &v
}
