package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one subcommand.
type command struct {
	name string
	// synopsis is the one line "fencer help" shows.
	synopsis string
	// main puts the command among the main commands of "fencer help".
	main bool
	// help is the text of "fencer help NAME": a Usage line, a paragraph
	// and the Options, one entry per flag setup defines.
	help string
	// setup defines the command's flags on fs and returns the function
	// that runs it with the positional arguments, once the flags are
	// parsed.
	setup func(fs *flag.FlagSet) func(c *cli, args []string) int
}

// commands are the subcommands, in the order "fencer help" lists them
// within each group.
var commands []*command

func init() {
	commands = []*command{validateCommand, testCommand, planCommand, applyCommand, destroyCommand, verifyCommand, whyCommand, fmtCommand, showCommand, recordCommand, importCommand, exportCommand, execCommand, agentCommand, versionCommand, helpCommand}
}

func lookupCommand(name string) *command {
	for _, cmd := range commands {
		if cmd.name == name {
			return cmd
		}
	}
	return nil
}

func commandNames() []string {
	names := make([]string, len(commands))
	for i, cmd := range commands {
		names[i] = cmd.name
	}
	return names
}

// usageError is a mistake in how a command was called: wrong flags or
// arguments. It is reported with the command's help and exit code 1.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// runCommand parses cmd's flags from args, which may be interspersed with
// its positional arguments up to a "--", and runs it.
func (c *cli) runCommand(cmd *command, args []string) int {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	noColor := fs.Bool("no-color", false, "")
	runFn := cmd.setup(fs)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(c.stdout, cmd.help)
		return exitOK
	}
	c.cmd = cmd
	if err != nil {
		return c.usageError(err.Error())
	}
	c.noColor = c.noColor || *noColor
	return runFn(c, pos)
}

// usageError prints msg and where the running command's help is on
// stderr, and returns exit code 1.
func (c *cli) usageError(msg string) int {
	fmt.Fprintf(c.stderr, "Error: %s\n%s", msg, helpPointer(c.cmd.name))
	return exitError
}

// helpPointer says where a command's usage and options are, after a
// usage error (the whole help would bury the one line that matters).
func helpPointer(name string) string {
	return fmt.Sprintf("\nFor this command's usage and options, run:\n  fencer help %s\n", name)
}

// fail reports err: a usageError with where the running command's help is,
// anything else as an error. It returns exit code 1.
func (c *cli) fail(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return c.usageError(ue.msg)
	}
	fmt.Fprintf(c.stderr, "Error: %v\n", err)
	return exitError
}

// parseInterspersed parses flags anywhere among args, as long as they come
// before a "--"; it returns the positional arguments in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// stringList is a flag that may be repeated: -var a=1 -var b=2.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}
