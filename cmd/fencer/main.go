// Command fencer is a Terraform-style tool for seccomp policies on systemd
// hosts: it checks, tests, formats and compiles policies written in HCL.
//
// Usage:
//
//	fencer [-chdir=DIR] [-no-color] COMMAND [flags] [args]
//
// Run "fencer help" for the commands and "fencer help COMMAND" for the
// flags of one. This package is the command line only: the language is
// hclspec; its resolution and compilation, plan/resolve; test blocks,
// plan/testrun; lints, plan/lint; planning hosts, plan.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/fencer-dev/fencer/internal/spelling"
)

// Exit codes, as Terraform uses them.
const (
	exitOK    = 0
	exitError = 1 // an error, a diagnostic of severity error, or a usage error
	// exitUnformatted is fmt -check's answer when a file is not in the
	// canonical format.
	exitUnformatted = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}

// cli is one invocation: its streams, environment and global options.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string
	// noColor is -no-color, given before or after the command.
	noColor bool
	// compactWarnings is -compact-warnings: warnings as their summary and
	// place only.
	compactWarnings bool
	// cmd is the command running, whose help usage errors show.
	cmd *command
}

// run runs fencer with args (without the program name) and returns the
// exit code. -chdir changes the process's working directory, as Terraform
// does, so that paths in diagnostics are relative to it.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, environ: environ}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		// One dash or two, as the flag package accepts for commands.
		name, value, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(args[0], "-"), "-"), "=")
		args = args[1:]
		switch name {
		case "chdir":
			if !hasValue {
				if len(args) == 0 {
					return c.globalUsageError("-chdir needs a directory: -chdir=DIR")
				}
				value, args = args[0], args[1:]
			}
			if err := os.Chdir(value); err != nil {
				fmt.Fprintf(c.stderr, "Error: cannot change to the -chdir directory: %v\n", err)
				return exitError
			}
		case "no-color":
			c.noColor = true
		case "h", "help":
			c.printMainHelp(c.stdout)
			return exitOK
		case "v", "version":
			return c.runCommand(versionCommand, args)
		default:
			return c.globalUsageError(fmt.Sprintf("unknown global option %q", "-"+name))
		}
	}
	if len(args) == 0 {
		c.printMainHelp(c.stderr)
		return exitError
	}
	name := args[0]
	if name == "exec" {
		// The loader parses its own arguments: see runExec.
		return c.runExec(args[1:])
	}
	cmd := lookupCommand(name)
	if cmd == nil {
		msg := fmt.Sprintf("fencer has no command named %q.", name)
		if s := spelling.Nearest(name, commandNames()); s != "" {
			msg += fmt.Sprintf(" Did you mean %q?", s)
		}
		fmt.Fprintf(c.stderr, "%s\n\nTo see all of fencer's commands, run:\n  fencer help\n", msg)
		return exitError
	}
	return c.runCommand(cmd, args[1:])
}

// globalUsageError reports a mistake in the global options.
func (c *cli) globalUsageError(msg string) int {
	fmt.Fprintf(c.stderr, "Error: %s\n\n", msg)
	c.printMainHelp(c.stderr)
	return exitError
}
