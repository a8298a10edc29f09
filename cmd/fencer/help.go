package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/fencer-dev/fencer/internal/spelling"
)

var helpCommand = &command{
	name:     "help",
	synopsis: "Show help for fencer or for one of its commands",
	help: `Usage: fencer help [COMMAND]

  Show the list of commands, or the help of COMMAND with every option it
  takes. "fencer COMMAND -help" shows the same.

Options:

` + noColorHelp,
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		return func(c *cli, args []string) int {
			switch len(args) {
			case 0:
				c.printMainHelp(c.stdout)
				return exitOK
			case 1:
			default:
				return c.fail(usagef("help takes at most one command, got %s", quoteAll(args)))
			}
			cmd := lookupCommand(args[0])
			if cmd == nil {
				msg := fmt.Sprintf("fencer has no command named %q.", args[0])
				if s := spelling.Nearest(args[0], commandNames()); s != "" {
					msg += fmt.Sprintf(" Did you mean %q?", s)
				}
				fmt.Fprintf(c.stderr, "%s\n\nTo see all of fencer's commands, run:\n  fencer help\n", msg)
				return exitError
			}
			fmt.Fprint(c.stdout, cmd.help)
			return exitOK
		}
	},
}

// printMainHelp writes the list of commands and the global options.
func (c *cli) printMainHelp(w io.Writer) {
	fmt.Fprint(w, `Usage: fencer [global options] <command> [args]

fencer checks, tests and compiles seccomp policies written in HCL. The
main commands come first, followed by the others.

Main commands:
`)
	for _, cmd := range commands {
		if cmd.main {
			fmt.Fprintf(w, "  %-10s %s\n", cmd.name, cmd.synopsis)
		}
	}
	fmt.Fprint(w, "\nAll other commands:\n")
	for _, cmd := range commands {
		if !cmd.main {
			fmt.Fprintf(w, "  %-10s %s\n", cmd.name, cmd.synopsis)
		}
	}
	fmt.Fprint(w, `
Global options (use these before the command, if any):
  -chdir=DIR  Switch to a different working directory before running the
              command.
  -no-color   Print without terminal color codes.
  -help       Show this help, or with a command, that command's help.
  -version    An alias for the "version" command.
`)
}
