package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/fencer-dev/fencer/plan/loader"
)

var execCommand = &command{
	name:     "exec",
	synopsis: "Run a command under a compiled filter (the loader drop-ins run)",
	help:     execHelp,
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		o := &execOptions{}
		o.register(fs)
		return o.run
	},
}

// execHelp is the text of "fencer help exec".
const execHelp = `Usage: fencer [global options] exec -filter=FILE -sha256=HEX [options] -- CMD [ARGS...]

  Check the filter FILE, install it and replace this process with CMD:
  the loader that fencer's systemd drop-ins run with enforce = "exec".

  FILE must be what "fencer export bpf" writes for this machine's
  architecture, and its SHA-256 must be HEX. CMD is run as a shell runs
  it: a name with a slash as a path, any other through PATH. Before
  anything is installed, the file, the architecture, the command and the
  filter's verdict on the execve are checked; on any failure the message
  starts with "fencer exec:" and CMD never runs.

  Then fencer sets no_new_privs, installs the filter on its own thread
  and execs CMD, which inherits the filter, the environment and the open
  file descriptors.

  A filter compiled from a policy that names execve in no rule sends
  execve to a seccomp listener (exec once): fencer lets its own execve of
  CMD through, and every later execve of CMD, its threads and children
  fails with ENOSYS. That needs Linux 5.5, and no other seccomp listener
  on the process (the kernel allows one); otherwise CMD does not start and
  fencer says why.

  Exit status, when CMD could not be run: 1 for a problem with the filter
  or the arguments, 126 when CMD cannot be executed, 127 when it does not
  exist.

Options:

  -filter=FILE       The compiled filter (raw struct sock_filter array).

  -sha256=HEX        The SHA-256 of FILE, in hex.

  -argv0=NAME        The argv[0] CMD receives; by default CMD as given.

  -sigpipe=ACTION    What SIGPIPE does in CMD: "ignore" (the default, as
                     systemd's IgnoreSIGPIPE=yes) or "default" (the
                     signal ends the process).

` + noColorHelp

// execOptions are the flags of exec.
type execOptions struct {
	filter, sha256, argv0, sigpipe string
}

func (o *execOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.filter, "filter", "", "")
	fs.StringVar(&o.sha256, "sha256", "", "")
	fs.StringVar(&o.argv0, "argv0", "", "")
	fs.StringVar(&o.sigpipe, "sigpipe", "ignore", "")
}

// runExec runs exec with its own parsing of args: flags end at the first
// argument that is not one (or at "--"), so CMD's own flags are never read
// as fencer's, and every failure, usage errors included, is reported as
// "fencer exec: ..." on stderr.
func (c *cli) runExec(args []string) int {
	fs := flag.NewFlagSet("exec", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	noColor := fs.Bool("no-color", false, "")
	o := &execOptions{}
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.stdout, execHelp)
			return exitOK
		}
		fmt.Fprintf(c.stderr, "fencer exec: %v\n%s", err, helpPointer("exec"))
		return loader.ExitError
	}
	c.noColor = c.noColor || *noColor
	c.cmd = execCommand
	return o.run(c, fs.Args())
}

func (o *execOptions) run(c *cli, args []string) int {
	usage := func(msg string) int {
		fmt.Fprintf(c.stderr, "fencer exec: %s\n%s", msg, helpPointer("exec"))
		return loader.ExitError
	}
	switch {
	case o.filter == "":
		return usage("missing -filter=FILE")
	case o.sha256 == "":
		return usage("missing -sha256=HEX")
	case len(args) == 0:
		return usage("missing the command to run: fencer exec -filter=FILE -sha256=HEX -- CMD [ARGS...]")
	case o.sigpipe != "ignore" && o.sigpipe != "default":
		return usage(fmt.Sprintf("-sigpipe is %q: it must be \"ignore\" or \"default\"", o.sigpipe))
	}
	l := &loader.Loader{
		Filter:        o.filter,
		SHA256:        o.sha256,
		Command:       args,
		Argv0:         o.argv0,
		Env:           c.environ,
		IgnoreSIGPIPE: o.sigpipe == "ignore",
	}
	err := l.Exec()
	fmt.Fprintf(c.stderr, "fencer exec: %v\n", err)
	var le *loader.Error
	if errors.As(err, &le) {
		return le.Code
	}
	return loader.ExitError
}
