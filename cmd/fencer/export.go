package main

import (
	"flag"
	"fmt"
)

var exportCommand = &command{
	name:     "export",
	synopsis: "Write a compiled filter for use outside fencer",
	help: `Usage: fencer [global options] export FORMAT -arch=ARCH [options] [DIR] service.NAME

  Compile the filter of service NAME of the configuration in DIR (the
  current directory when omitted) for one architecture, and write it in
  FORMAT, for programs that install their own filter.

  Formats:

    bpf    The raw program: an array of struct sock_filter (8 bytes per
           instruction: code, jt, jf, k) in the architecture's byte order,
           as prctl(PR_SET_SECCOMP) and seccomp(2) take it.

  The program goes to stdout, which must not be a terminal, or to the
  file -out names.

Options:

  -arch=ARCH         The architecture to compile for. It may be left out
                     when the service is planned for one architecture only.

  -out=FILE, -o FILE Write to FILE (replaced atomically) instead of stdout.

` + noColorHelp + `
` + configOptionsHelp,
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		o := &exportOptions{}
		o.config.register(fs)
		fs.Var(&o.arch, "arch", "")
		fs.StringVar(&o.out, "out", "", "")
		fs.StringVar(&o.out, "o", "", "")
		return o.run
	},
}

// exportFormats are the formats export writes.
var exportFormats = []string{"bpf"}

// exportOptions are the flags of export.
type exportOptions struct {
	config configFlags
	arch   archFlag
	out    string
}

func (o *exportOptions) run(c *cli, args []string) int {
	if len(args) == 0 {
		return c.fail(usagef("missing the format: fencer export bpf -arch=ARCH service.NAME"))
	}
	format := args[0]
	if !contains(exportFormats, format) {
		return c.fail(usagef("unknown export format %q: the formats are %s", format, quoteAll(exportFormats)))
	}
	dir, service, err := dirAndAddress(args[1:])
	if err != nil {
		return c.fail(err)
	}
	if o.out == "" && isTerminal(c.stdout) {
		fmt.Fprintln(c.stderr, "Error: refusing to write a binary filter to a terminal: redirect stdout or use -out=FILE")
		return exitError
	}
	compiled := c.loadAndCompile(dir, &o.config, service, o.arch.name)
	if compiled == nil {
		return exitError
	}
	data := compiled.Program.Encode(compiled.Arch.Order)
	if o.out != "" {
		if err := writeFileAtomic(o.out, data, 0o644); err != nil {
			return c.fail(err)
		}
		return exitOK
	}
	if _, err := c.stdout.Write(data); err != nil {
		return c.fail(fmt.Errorf("writing the filter to stdout: %w", err))
	}
	return exitOK
}
