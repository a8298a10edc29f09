package main

import (
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// importer is one kind of policy `fencer import` reads. Each kind lives
// in a file of its own (import_KIND.go) and adds itself to importers in a
// package-level variable's initializer (var _ = registerImporter(...)),
// which Go runs before any init function, so help sees every kind.
type importer struct {
	// kind is the word after "import": firedancer, oci, systemd.
	kind string
	// args is the usage of its positional arguments: "FILE.json".
	args string
	// help is its paragraph in "fencer help import", indented by four.
	help string
	// flags defines the kind's own flags, if any, on fs; it may be nil.
	flags func(fs *flag.FlagSet)
	// options documents those flags: lines of help's Options, each
	// flag's first line indented by two ("  -user   ...").
	options string
	// read turns the positional arguments into a fencer configuration's
	// text. Diagnostics about the input name their file, line and column;
	// inputs holds the input files' bytes by name so that they can be
	// shown under the diagnostics.
	read func(c *cli, o *importOptions, args []string) (text []byte, inputs map[string][]byte, diags hcl.Diagnostics)
}

// importers are the kinds import knows, registered by their files.
var importers = map[string]*importer{}

// registerImporter adds imp to importers; a kind registered twice is a
// programming mistake. The result only lets it be a variable's initializer.
func registerImporter(imp *importer) bool {
	if _, ok := importers[imp.kind]; ok {
		panic("import kind registered twice: " + imp.kind)
	}
	importers[imp.kind] = imp
	return true
}

// importKinds are the kinds in the order help lists them.
func importKinds() []string {
	kinds := make([]string, 0, len(importers))
	for k := range importers {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

var importCommand = &command{
	name:     "import",
	synopsis: "Write a policy someone already has as a fencer configuration",
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		o := &importOptions{}
		fs.StringVar(&o.out, "out", "", "")
		fs.StringVar(&o.out, "o", "", "")
		fs.BoolVar(&o.force, "force", false, "")
		for _, k := range importKinds() {
			if f := importers[k].flags; f != nil {
				f(fs)
			}
		}
		return o.run
	},
}

func init() {
	importCommand.help = importHelp()
}

// importHelp is the text of "fencer help import", with a paragraph per
// registered kind.
func importHelp() string {
	var b strings.Builder
	b.WriteString(`Usage: fencer [global options] import KIND [options] ARGS...

  Read a seccomp policy written for another tool (or the one a systemd
  unit has) and write it as a fencer configuration: a service with its
  fd blocks, rules and comments, formatted as fencer fmt writes it.
  Nothing is written when the input has an error; the diagnostics name
  its file, line and column.

  Kinds:

`)
	for _, k := range importKinds() {
		imp := importers[k]
		fmt.Fprintf(&b, "    %s %s\n%s\n", k, imp.args, strings.TrimRight(imp.help, "\n"))
		b.WriteString("\n")
	}
	b.WriteString(`  The configuration goes to stdout, or to the file -out names.

Options:

  -out=FILE, -o FILE Write to FILE (created atomically) instead of stdout.

  -force             Replace FILE when it exists already.

`)
	for _, k := range importKinds() {
		if o := importers[k].options; o != "" {
			b.WriteString(strings.TrimRight(o, "\n") + "\n\n")
		}
	}
	b.WriteString(noColorHelp + "\n")
	return b.String()
}

// importOptions are the flags of import shared by every kind; a kind's
// own flags are its file's variables.
type importOptions struct {
	out   string
	force bool
}

func (o *importOptions) run(c *cli, args []string) int {
	if len(args) == 0 {
		return c.fail(usagef("missing the kind: fencer import %s ...", strings.Join(importKinds(), "|")))
	}
	imp, ok := importers[args[0]]
	if !ok {
		return c.fail(usagef("unknown import kind %q: the kinds are %s", args[0], quoteAll(importKinds())))
	}
	if err := refuseExisting(o.force, o.out); err != nil {
		return c.fail(err)
	}
	text, inputs, diags := imp.read(c, o, args[1:])
	src := &sources{files: map[string]*hcl.File{}}
	for name, b := range inputs {
		src.files[name] = &hcl.File{Bytes: b}
	}
	c.printDiags(src, diags)
	if diags.HasErrors() {
		return exitError
	}
	return c.writeOutput(o.out, hclwrite.Format(text), "the configuration")
}

// writeOutput writes data, what names it, to the file out names (created
// or replaced atomically), or to stdout when out is empty; it returns the
// exit code.
func (c *cli) writeOutput(out string, data []byte, what string) int {
	if out != "" {
		if err := writeFileAtomic(out, data, 0o644); err != nil {
			return c.fail(err)
		}
		return exitOK
	}
	if _, err := c.stdout.Write(data); err != nil {
		return c.fail(fmt.Errorf("writing %s to stdout: %w", what, err))
	}
	return exitOK
}
