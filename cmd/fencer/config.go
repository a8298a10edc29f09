package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
)

// configFlags are the flags of every command that reads a configuration.
type configFlags struct {
	vars     stringList
	varFiles stringList
}

// register defines -var and -var-file on fs.
func (o *configFlags) register(fs *flag.FlagSet) {
	fs.Var(&o.vars, "var", "")
	fs.Var(&o.varFiles, "var-file", "")
}

// configOptionsHelp documents configFlags, for the commands' help.
const configOptionsHelp = `  -var 'NAME=VALUE'  Set a value for one of the variables of the
                     configuration. Use this option more than once to set
                     more than one variable.

  -var-file=FILE     Set values for variables from a file of NAME = VALUE
                     lines (HCL, or HCL's JSON syntax when the name ends in
                     .json; a regular file of at most 4 MiB). Use this
                     option more than once to read more than one file.
`

// noColorHelp documents -no-color, which every command accepts.
const noColorHelp = `  -no-color          Print diagnostics without terminal color codes.
`

// load reads the configuration in dir with the values of o and of the
// FENCER_VAR_* environment variables. The Config may be nil or partial
// when the diagnostics have errors.
func (c *cli) load(dir string, o *configFlags) (*hclspec.Config, hcl.Diagnostics) {
	return hclspec.Load(dir, hclspec.LoadOptions{
		Vars:     o.vars,
		VarFiles: o.varFiles,
		Environ:  c.environ,
	})
}

// archList is the -arch flag: a comma-separated list of architectures,
// kept in canonical names.
type archList []string

func (l *archList) String() string { return strings.Join(*l, ",") }

func (l *archList) Set(s string) error {
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		a, ok := arch.Lookup(name)
		if !ok {
			return fmt.Errorf("unknown architecture %q: fencer knows %s", name, strings.Join(arch.Names(), ", "))
		}
		if !contains(*l, a.Name) {
			*l = append(*l, a.Name)
		}
	}
	return nil
}

// archFlag is the -arch flag of show and export: one architecture.
type archFlag struct{ name string }

func (f *archFlag) String() string { return f.name }

func (f *archFlag) Set(s string) error {
	a, ok := arch.Lookup(strings.TrimSpace(s))
	if !ok {
		return fmt.Errorf("unknown architecture %q: fencer knows %s", s, strings.Join(arch.Names(), ", "))
	}
	f.name = a.Name
	return nil
}

// oneDir returns the directory among at most one positional argument,
// "." when there is none.
func oneDir(args []string) (string, error) {
	switch len(args) {
	case 0:
		return ".", nil
	case 1:
		return args[0], nil
	}
	return "", usagef("too many arguments: expected at most one directory, got %s", quoteAll(args))
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// quoteAll spells args as "a" "b" "c".
func quoteAll(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}
