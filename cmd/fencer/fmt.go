package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/readlimit"
	"github.com/fencer-dev/fencer/internal/textdiff"
)

var fmtCommand = &command{
	name:     "fmt",
	synopsis: "Rewrite configuration files in the canonical format",
	help: `Usage: fencer [global options] fmt [options] [DIR|FILE ...]

  Rewrite the *.fencer.hcl files of each DIR (the current directory when
  none is given), and each FILE named, in HCL's canonical format and style,
  and list the files that changed. Files are replaced atomically and keep
  their mode. When any file has a syntax error, its diagnostics are shown
  and no file is written.

  A single "-" formats standard input to standard output.

Options:

  -list=false        Don't list the files whose formatting differs.

  -write=false       Don't rewrite the files (always the case with -check
                     and with standard input).

  -diff              Show the changes as unified diffs.

  -check             Only check that the input is formatted: the exit code
                     is 3 when a file is not, 0 when every file is. Implies
                     -write=false.

  -recursive         Also format the files of subdirectories (except those
                     whose name starts with a dot).

` + noColorHelp,
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		o := &fmtOptions{}
		fs.BoolVar(&o.list, "list", true, "")
		fs.BoolVar(&o.write, "write", true, "")
		fs.BoolVar(&o.diff, "diff", false, "")
		fs.BoolVar(&o.check, "check", false, "")
		fs.BoolVar(&o.recursive, "recursive", false, "")
		return o.run
	},
}

// fmtOptions are the flags of fmt.
type fmtOptions struct {
	list, write, diff, check, recursive bool
}

// fmtFile is one file to format: its content as read and as formatted.
type fmtFile struct {
	path      string
	src, dest []byte
}

func (o *fmtOptions) run(c *cli, args []string) int {
	if o.check {
		o.write = false
	}
	if len(args) == 1 && args[0] == "-" {
		return o.stdin(c)
	}
	if contains(args, "-") {
		return c.fail(usagef(`"-" (standard input) cannot be combined with other files`))
	}
	if len(args) == 0 {
		args = []string{"."}
	}
	var paths []string
	for _, arg := range args {
		found, err := o.files(arg)
		if err != nil {
			return c.fail(err)
		}
		paths = append(paths, found...)
	}
	// Parse everything first: with any syntax error, nothing is written.
	var files []fmtFile
	var diags hcl.Diagnostics
	src := newSources(nil)
	for _, path := range paths {
		b, err := readlimit.File(path, hclspec.MaxFileBytes, "a configuration file")
		if err != nil {
			return c.fail(fmt.Errorf("cannot format: %w", err))
		}
		f, d := hclsyntax.ParseConfig(b, path, hcl.InitialPos)
		if f != nil {
			src.files[path] = f
		}
		diags = append(diags, d...)
		files = append(files, fmtFile{path: path, src: b, dest: hclwrite.Format(b)})
	}
	if diags.HasErrors() {
		c.printDiags(src, diags)
		return exitError
	}
	changed := false
	for _, f := range files {
		if bytes.Equal(f.src, f.dest) {
			continue
		}
		changed = true
		if o.list {
			fmt.Fprintln(c.stdout, f.path)
		}
		if o.write {
			if err := writeFileAtomic(f.path, f.dest, 0o644); err != nil {
				return c.fail(err)
			}
		}
		if o.diff {
			fmt.Fprint(c.stdout, textdiff.Unified("old/"+filepath.ToSlash(f.path), "new/"+filepath.ToSlash(f.path), f.src, f.dest, 3))
		}
	}
	if o.check && changed {
		return exitUnformatted
	}
	return exitOK
}

// stdin formats standard input to standard output, or with -diff shows
// what would change; with -check it only sets the exit code.
func (o *fmtOptions) stdin(c *cli) int {
	b, err := readlimit.All(c.stdin, "standard input", hclspec.MaxFileBytes, "a configuration file")
	if err != nil {
		return c.fail(fmt.Errorf("reading standard input: %w", err))
	}
	const name = "<stdin>"
	f, diags := hclsyntax.ParseConfig(b, name, hcl.InitialPos)
	if diags.HasErrors() {
		src := newSources(nil)
		if f != nil {
			src.files[name] = f
		}
		c.printDiags(src, diags)
		return exitError
	}
	dest := hclwrite.Format(b)
	switch {
	case o.diff:
		fmt.Fprint(c.stdout, textdiff.Unified("old/"+name, "new/"+name, b, dest, 3))
	case !o.check:
		c.stdout.Write(dest)
	}
	if o.check && !bytes.Equal(b, dest) {
		return exitUnformatted
	}
	return exitOK
}

// files returns the files to format for one argument: the file itself, or
// the configuration files of a directory (and of its subdirectories with
// -recursive).
func (o *fmtOptions) files(arg string) ([]string, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return nil, fmt.Errorf("cannot format %s: %w", arg, err)
	}
	if !st.IsDir() {
		if !strings.HasSuffix(arg, ".hcl") {
			return nil, usagef("cannot format %s: only HCL native syntax files (*%s, or other *.hcl files such as var files) can be formatted", arg, hclspec.SuffixHCL)
		}
		return []string{arg}, nil
	}
	var out []string
	err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == arg {
				return nil
			}
			if !o.recursive || strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), hclspec.SuffixHCL) && (d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0) {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot format %s: %w", arg, err)
	}
	return out, nil
}
