package main

import (
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/fencer-dev/fencer/internal/spelling"
	"github.com/fencer-dev/fencer/plan/resolve"
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
	// options documents those flags in help's Options, each line
	// indented by two, as the others there.
	options string
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

`)
	for _, n := range exportFormatNames() {
		if o := exportFormats[n].options; o != "" {
			b.WriteString(strings.TrimRight(o, "\n") + "\n\n")
		}
	}
	b.WriteString(noColorHelp + "\n" + configOptionsHelp)
	return b.String()
}

// exportOptions are the flags of export.
type exportOptions struct {
	config configFlags
	arch   archFlag
	out    string
	// fds and parametric are export bpf's -fd and -parametric.
	fds        fdFlag
	parametric bool
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
	return c.writeOutput(o.out, data, "the "+format.name+" export")
}

var _ = registerExportFormat(&exportFormat{
	name:   "bpf",
	binary: true,
	help: `The raw program: an array of struct sock_filter (8 bytes per
           instruction: code, jt, jf, k) in the architecture's byte order,
           as prctl(PR_SET_SECCOMP) and seccomp(2) take it: the program
           plan installs. With -parametric, the program export c's
           function fills instead, for the fds' numbers in the
           configuration; -fd NAME=N (repeatable, implies -parametric)
           gives fd NAME the number N. That program is for a process
           that installs it itself: it has no exec-once gate (execve
           gets what the rules and default_action say).`,
	options: `  -parametric        export bpf: the program export c's function fills, for
                     the fds' numbers in the configuration, instead of the
                     one plan installs.

  -fd NAME=N         export bpf: fd NAME has number N (0 to 4294967295) in
                     the -parametric program, which it implies. Use this
                     option once per fd; the others keep their numbers.`,
	flags: func(fs *flag.FlagSet, o *exportOptions) {
		fs.Var(&o.fds, "fd", "")
		fs.BoolVar(&o.parametric, "parametric", false, "")
	},
	write: exportBPF,
})

// exportBPF is export bpf's write: the program plan installs, or with
// -parametric or -fd the one export c's function fills, for the fd
// numbers -fd gives and the configuration's for the others.
func exportBPF(c *cli, o *exportOptions, dir, service string) ([]byte, bool) {
	if !o.parametric && len(o.fds.values) == 0 {
		compiled := c.loadAndCompile(dir, &o.config, service, o.arch.name)
		if compiled == nil {
			return nil, false
		}
		return compiled.Program.Encode(compiled.Arch.Order), true
	}
	compiled := c.loadAndCompileWith(dir, &o.config, service, o.arch.name, resolve.CompileParametric)
	if compiled == nil {
		return nil, false
	}
	values := resolve.FdNumbers(compiled.Service)
	var names []string
	for _, fd := range compiled.Service.Fds {
		names = append(names, fd.Name)
	}
	for _, name := range o.fds.order {
		if _, ok := values[name]; !ok {
			c.fail(usagef("-fd %s: %s", name, noFdMessage(compiled.Service.Name, name, names)))
			return nil, false
		}
		values[name] = o.fds.values[name]
	}
	prog, err := compiled.Parametric.Fill(values)
	if err != nil {
		c.fail(fmt.Errorf("service.%s on %s: %w", compiled.Service.Name, compiled.Arch.Name, err))
		return nil, false
	}
	return prog.Encode(compiled.Arch.Order), true
}

// noFdMessage says that service has no fd name, and which it has.
func noFdMessage(service, name string, fds []string) string {
	msg := fmt.Sprintf("service.%s has no fd %q", service, name)
	switch {
	case len(fds) == 0:
		return msg + "; it declares no fd"
	case spelling.Nearest(name, fds) != "":
		return msg + "; did you mean " + spelling.Nearest(name, fds) + "?"
	}
	sorted := append([]string(nil), fds...)
	sort.Strings(sorted)
	return msg + "; its fds are " + strings.Join(sorted, ", ")
}

// fdFlag is the repeatable -fd NAME=N: the number of fd NAME.
type fdFlag struct {
	values map[string]uint32
	order  []string
}

func (f *fdFlag) String() string {
	var parts []string
	for _, n := range f.order {
		parts = append(parts, fmt.Sprintf("%s=%d", n, f.values[n]))
	}
	return strings.Join(parts, ",")
}

func (f *fdFlag) Set(s string) error {
	name, num, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("%q is not NAME=N: give an fd's name and its number, as -fd logfile=1", s)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(num), 10, 32)
	if err != nil {
		return fmt.Errorf("fd %s: %q is not a number from 0 to 4294967295", name, num)
	}
	if _, dup := f.values[name]; dup {
		return fmt.Errorf("fd %s given twice", name)
	}
	if f.values == nil {
		f.values = map[string]uint32{}
	}
	f.values[name] = uint32(n)
	f.order = append(f.order, name)
	return nil
}
