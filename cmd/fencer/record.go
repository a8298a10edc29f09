package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/fencer-dev/fencer/internal/draft"
	"github.com/fencer-dev/fencer/internal/observe"
	"github.com/fencer-dev/fencer/internal/readlimit"
	"github.com/fencer-dev/fencer/internal/recorder"
)

var recordCommand = &command{
	name:     "record",
	synopsis: "Record what a program or unit does and write a policy for it",
	main:     true,
	help:     recordHelp,
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		o := &recordOptions{}
		fs.StringVar(&o.out, "out", "", "")
		fs.StringVar(&o.out, "o", "", "")
		fs.BoolVar(&o.force, "force", false, "")
		fs.StringVar(&o.json, "json", "", "")
		fs.StringVar(&o.from, "from", "", "")
		fs.DurationVar(&o.duration, "for", 0, "")
		fs.StringVar(&o.unit, "unit", "", "")
		fs.BoolVar(&o.user, "user", false, "")
		fs.StringVar(&o.service, "service", "", "")
		return o.run
	},
}

// recordHelp is the text of "fencer help record".
const recordHelp = `Usage: fencer [global options] record [options] -- CMD [ARGS...]
       fencer [global options] record [options] -unit=NAME [-user]
       fencer [global options] record [options] -from=FILE.json

  Run CMD, or the systemd service NAME, under strace and record every
  syscall it, its threads and its children make, with their arguments,
  from its execve until it exits, the -for duration ends or you
  interrupt it (Ctrl-C: CMD gets SIGTERM, and what is left of it
  is killed a few seconds later). Then write a fencer configuration
  that allows what it did and kills anything else: one service with its
  fds, its syscalls grouped into rules, argument conditions where the
  calls support them, comments saying what was seen, and tests.
  docs/record.md tells how, and what to check before you keep it.

  With -unit, the unit runs as its manager runs it, through a temporary
  drop-in (in the manager's runtime directory) that starts its commands
  under strace and resets its SystemCallFilter=, and is restarted; when
  the recording ends the unit is stopped (its own stop, recorded too),
  the drop-in removed and the unit started again if it was running
  before, also when interrupted or on an error. Its fds are read from
  its unit and socket units as plan reads them.

  The configuration goes to the file -out names, or to stdout; then
  CMD's own standard output goes to fencer's standard error so that the
  two do not mix. A summary of what was recorded goes to stderr.

Options:

  -out=FILE, -o FILE Write the configuration to FILE (created atomically).

  -force             Replace the -out and -json files when they exist.

  -json=FILE         Also write the recording itself (every call kept,
                     with its raw arguments) as JSON, which -from reads.

  -from=FILE         Write the configuration from a recording -json
                     saved, without running anything.

  -for=DURATION      Stop recording after DURATION (e.g. 30s, 5m).

  -unit=NAME         Record the systemd service NAME (".service" may be
                     left out).

  -user              The unit is the user's systemd manager's, not the
                     system's.

  -service=NAME      The service block's name; by default the unit's name
                     without .service, or CMD's base name.

` + noColorHelp

// recordOptions are the flags of record.
type recordOptions struct {
	out, json, from string
	force, user     bool
	duration        time.Duration
	unit, service   string
}

func (o *recordOptions) run(c *cli, args []string) int {
	if err := o.check(args); err != nil {
		return c.fail(err)
	}
	rec, recErr := o.record(c, args)
	if rec == nil {
		return c.fail(recErr)
	}
	if o.json != "" && o.from == "" {
		if err := o.writeJSON(rec); err != nil {
			return c.fail(err)
		}
	}
	if recErr != nil {
		return c.fail(recErr)
	}
	if o.from == "" {
		fmt.Fprintln(c.stderr, summary(rec))
	}
	text, err := draft.Write(rec, draft.Options{Service: o.service, Header: header(rec)})
	if err != nil {
		return c.fail(err)
	}
	return c.writeOutput(o.out, text, "the configuration")
}

// check refuses flags that do not go together and files that exist.
func (o *recordOptions) check(args []string) error {
	modes := 0
	for _, set := range []bool{len(args) > 0, o.unit != "", o.from != ""} {
		if set {
			modes++
		}
	}
	switch {
	case modes == 0:
		return usagef("nothing to record: give -- CMD [ARGS...], -unit=NAME or -from=FILE.json")
	case modes > 1:
		return usagef("give one of -- CMD, -unit=NAME and -from=FILE.json")
	case o.user && o.unit == "":
		return usagef("-user goes with -unit")
	case o.duration < 0:
		return usagef("-for must be positive, not %v", o.duration)
	case o.from != "" && (o.duration != 0 || o.json != ""):
		return usagef("-from records nothing: -for and -json do not go with it")
	}
	return refuseExisting(o.force, o.out, o.json)
}

// record makes the recording (or reads it with -from). A recording with
// an error is returned with it, so that -json can still save it.
func (o *recordOptions) record(c *cli, args []string) (*observe.Recording, error) {
	if o.from != "" {
		return readRecording(o.from)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	if o.unit != "" {
		return o.recordUnit(ctx, c)
	}
	opt := recorder.Options{Stdin: asFile(c.stdin), Stdout: asFile(c.stdout), Stderr: asFile(c.stderr)}
	if o.out == "" {
		opt.Stdout = opt.Stderr
	}
	return recorder.Command(ctx, args, opt)
}

// asFile is f when it is a file (the terminal, a pipe), else nil, which the
// recorder makes /dev/null.
func asFile(f any) *os.File {
	if file, ok := f.(*os.File); ok {
		return file
	}
	return nil
}

// maxRecording bounds a -from file: the recorder's own bound on calls
// keeps a recording well under it.
const maxRecording = 1 << 30

func readRecording(path string) (*observe.Recording, error) {
	b, err := readlimit.File(path, maxRecording, "recording")
	if err != nil {
		return nil, err
	}
	rec := &observe.Recording{}
	if err := json.Unmarshal(b, rec); err != nil {
		return nil, fmt.Errorf("%s: not a recording fencer record -json wrote: %w", path, err)
	}
	if rec.Arch == "" || len(rec.Calls) == 0 {
		return nil, fmt.Errorf("%s: not a recording fencer record -json wrote: no architecture or no calls", path)
	}
	return rec, nil
}

func (o *recordOptions) writeJSON(rec *observe.Recording) error {
	b, err := json.MarshalIndent(rec, "", " ")
	if err != nil {
		return fmt.Errorf("writing the recording: %w", err)
	}
	return writeFileAtomic(o.json, append(b, '\n'), 0o644)
}

// header is the configuration's first comment: what was recorded, when.
func header(rec *observe.Recording) []string {
	what := "fencer record -- " + strings.Join(rec.Command, " ")
	if rec.Unit != "" {
		what = "fencer record -unit=" + rec.Unit
	}
	return []string{
		"Written by " + what + ", from " + fmt.Sprint(len(rec.Calls)) + " calls over " + rec.Elapsed.Round(time.Millisecond).String() + ".",
		"Read it before you keep it: it allows what this run did, and nothing it did not.",
	}
}

// summary is the line record prints on stderr.
func summary(rec *observe.Recording) string {
	procs, threads := map[int]bool{}, map[int]bool{}
	for _, call := range rec.Calls {
		procs[call.PID], threads[call.TID] = true, true
	}
	var omitted int64
	for _, n := range rec.Omitted {
		omitted += n
	}
	how := map[observe.End]string{
		observe.Exited:      fmt.Sprintf("exited with %d", rec.ExitStatus),
		observe.Killed:      fmt.Sprintf("was killed by signal %d", rec.ExitStatus),
		observe.Timeout:     "was stopped at the end of -for",
		observe.Interrupted: "was stopped when interrupted",
	}[rec.Ended]
	s := fmt.Sprintf("fencer record: the program %s after %v: %s recorded in %s, %s",
		how, rec.Elapsed.Round(time.Millisecond), count(len(rec.Calls), "call"), count(len(procs), "process"), count(len(threads), "thread"))
	if omitted > 0 {
		s += fmt.Sprintf(", and %d more like them counted", omitted)
	}
	return s
}

// count writes n things: "1 process", "2 processes".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	if strings.HasSuffix(thing, "s") {
		return fmt.Sprintf("%d %ses", n, thing)
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
