package main

import (
	"flag"
	"fmt"
	"sort"
	"strings"
)

var exportCommand = &command{
	name:     "export",
	synopsis: "Write a compiled filter for use outside fencer",
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		o := &exportOptions{}
		o.config.register(fs)
		fs.Var(&o.arch, "arch", "")
		fs.StringVar(&o.out, "out", "", "")
		fs.StringVar(&o.out, "o", "", "")
		for _, name := range exportFormatNames() {
			if f := exportFormats[name].flags; f != nil {
				f(fs, o)
			}
		}
		return o.run
	},
}

func init() {
	exportCommand.help = exportHelp()
}

// exportFormat is one format export writes. Each lives in a file of its
// own (export_FORMAT.go, bpf here) and adds itself to exportFormats in a
// package-level variable's initializer (var _ = registerExportFormat(...)),
// which Go runs before any init function, so help sees every format.
type exportFormat struct {
	name string
	// help is its paragraph in "fencer help export", indented by four.
	help string
	// binary formats are never written to a terminal.
	binary bool
	// flags defines the format's own flags, if any; it may be nil.
	flags func(fs *flag.FlagSet, o *exportOptions)
	// write loads the configuration in dir and renders service (its
	// address, service.NAME) in the format. It reports its own
	// diagnostics and errors on c and returns ok false after one.
	write func(c *cli, o *exportOptions, dir, service string) (data []byte, ok bool)
}

// exportFormats are the formats export writes, by name.
var exportFormats = map[string]*exportFormat{}

// registerExportFormat adds f to exportFormats. The result only lets it
// be a variable's initializer.
func registerExportFormat(f *exportFormat) bool {
	if _, ok := exportFormats[f.name]; ok {
		panic("export format registered twice: " + f.name)
	}
	exportFormats[f.name] = f
	return true
}

// exportFormatNames are the formats in the order help lists them.
func exportFormatNames() []string {
	names := make([]string, 0, len(exportFormats))
	for n := range exportFormats {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// exportHelp is the text of "fencer help export", a paragraph per format.
func exportHelp() string {
	var b strings.Builder
	b.WriteString(`Usage: fencer [global options] export FORMAT [-arch=ARCH] [options] [DIR] service.NAME

  Compile the filter of service NAME of the configuration in DIR (the
  current directory when omitted) and write it in FORMAT, for programs
  and runtimes that install their own filter.

  Formats:

`)
	for _, n := range exportFormatNames() {
		fmt.Fprintf(&b, "    %-6s %s\n\n", n, strings.TrimLeft(strings.TrimRight(exportFormats[n].help, "\n"), " "))
	}
	b.WriteString(`  The result goes to stdout (a binary format only when it is not a
  terminal), or to the file -out names.

Options:

  -arch=ARCH         The architecture to compile for. It may be left out
                     when the service is planned for one architecture only.

  -out=FILE, -o FILE Write to FILE (replaced atomically) instead of stdout.

` + noColorHelp + `
` + configOptionsHelp)
	return b.String()
}

// exportOptions are the flags of export.
type exportOptions struct {
	config configFlags
	arch   archFlag
	out    string
}

func (o *exportOptions) run(c *cli, args []string) int {
	if len(args) == 0 {
		return c.fail(usagef("missing the format: fencer export %s -arch=ARCH service.NAME", strings.Join(exportFormatNames(), "|")))
	}
	format, ok := exportFormats[args[0]]
	if !ok {
		return c.fail(usagef("unknown export format %q: the formats are %s", args[0], quoteAll(exportFormatNames())))
	}
	dir, service, err := dirAndAddress(args[1:])
	if err != nil {
		return c.fail(err)
	}
	if format.binary && o.out == "" && isTerminal(c.stdout) {
		fmt.Fprintf(c.stderr, "Error: refusing to write a binary filter to a terminal: redirect stdout or use -out=FILE\n")
		return exitError
	}
	data, ok := format.write(c, o, dir, service)
	if !ok {
		return exitError
	}
	if o.out != "" {
		if err := writeFileAtomic(o.out, data, 0o644); err != nil {
			return c.fail(err)
		}
		return exitOK
	}
	if _, err := c.stdout.Write(data); err != nil {
		return c.fail(fmt.Errorf("writing the %s export to stdout: %w", format.name, err))
	}
	return exitOK
}

var _ = registerExportFormat(&exportFormat{
	name:   "bpf",
	binary: true,
	help: `The raw program: an array of struct sock_filter (8 bytes per
           instruction: code, jt, jf, k) in the architecture's byte order,
           as prctl(PR_SET_SECCOMP) and seccomp(2) take it.`,
	write: func(c *cli, o *exportOptions, dir, service string) ([]byte, bool) {
		compiled := c.loadAndCompile(dir, &o.config, service, o.arch.name)
		if compiled == nil {
			return nil, false
		}
		return compiled.Program.Encode(compiled.Arch.Order), true
	},
})
