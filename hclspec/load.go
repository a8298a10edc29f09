package hclspec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/fencer-dev/fencer/internal/readlimit"
)

// Configuration file suffixes.
const (
	SuffixHCL  = ".fencer.hcl"
	SuffixJSON = ".fencer.json"
)

// MaxFileBytes is the largest file the configuration reads: each
// configuration file, -var-file and file() argument (docs/language.md).
// Only regular files are read: a FIFO or a device (/dev/zero) is refused
// rather than waited on or read for ever.
const MaxFileBytes = 4 << 20

// readConfigInput reads a file the configuration is made of or reads, the
// way readlimit.File does, within MaxFileBytes; what says what the file
// is for.
func readConfigInput(path, what string) ([]byte, error) {
	return readlimit.File(path, MaxFileBytes, what)
}

// LoadOptions are the values given outside the configuration.
type LoadOptions struct {
	// Vars are -var NAME=VALUE options, in command-line order.
	Vars []string
	// VarFiles are -var-file paths (HCL, or HCL's JSON syntax when the
	// name ends in .json), in command-line order.
	VarFiles []string
	// Environ is the environment (os.Environ()); FENCER_VAR_NAME=VALUE
	// entries set variables.
	Environ []string
}

// Load reads every *.fencer.hcl and *.fencer.json file of dir, in name
// order, into a Config. file() reads paths relative to dir.
func Load(dir string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, hcl.Diagnostics{errorAt(hcl.Range{Filename: dir},
			"Cannot read the configuration directory",
			fmt.Errorf("reading %s: %w", dir, err).Error())}
	}
	files := map[string][]byte{}
	var diags hcl.Diagnostics
	for _, e := range entries {
		name := e.Name()
		if !isConfigFile(name) || e.IsDir() {
			continue
		}
		path := filepath.Join(dir, name)
		b, err := readConfigInput(path, "a configuration file")
		if err != nil {
			diags = append(diags, errorAt(hcl.Range{Filename: path},
				"Cannot read a configuration file", readError(path, err)+"."))
			continue
		}
		files[name] = b
	}
	if diags.HasErrors() {
		return nil, diags
	}
	l := newLoader(dir, true, files, opts)
	return l.load()
}

// Parse is Load from memory: files maps file names to contents. Names
// ending in .fencer.hcl or .fencer.json are configuration files; any other
// entry is only there to be read by file(), which reads nothing else.
// Without a fencer block the configuration's id is "parsed".
func Parse(files map[string][]byte, opts LoadOptions) (*Config, hcl.Diagnostics) {
	l := newLoader("", false, files, opts)
	return l.load()
}

// readError says why path could not be read, naming it once.
func readError(path string, err error) string {
	var tl *readlimit.TooLargeError
	var nr *readlimit.NotRegularError
	if errors.As(err, &tl) || errors.As(err, &nr) {
		return err.Error()
	}
	return fmt.Errorf("reading %s: %w", path, err).Error()
}

func isConfigFile(name string) bool {
	return strings.HasSuffix(name, SuffixHCL) || strings.HasSuffix(name, SuffixJSON)
}

// loader holds the state of one Load or Parse.
type loader struct {
	dir    string
	onDisk bool // file() may read the disk under dir
	src    map[string][]byte
	// read holds the files file() read from the disk, by path.
	read  map[string][]byte
	opts  LoadOptions
	cfg   *Config
	diags hcl.Diagnostics

	vars      map[string]*varDecl
	varOrder  []string
	locals    map[string]cty.Value
	localDefs map[string]*hcl.Attribute

	funcs      map[string]function.Function
	hostGroups map[string]bool
	sets       map[string]*setDecl
	pending    []pendingList
}

func newLoader(dir string, onDisk bool, files map[string][]byte, opts LoadOptions) *loader {
	return &loader{
		dir:    dir,
		onDisk: onDisk,
		src:    files,
		opts:   opts,
		cfg:    &Config{Dir: dir, Files: map[string]*hcl.File{}},
		vars:   map[string]*varDecl{},
		locals: map[string]cty.Value{},
	}
}

func (l *loader) add(ds ...*hcl.Diagnostic) { l.diags = append(l.diags, ds...) }

func (l *loader) addAll(ds hcl.Diagnostics) { l.diags = append(l.diags, ds...) }

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "host", LabelNames: []string{"name"}},
		{Type: "service", LabelNames: []string{"name"}},
		{Type: "syscall_set", LabelNames: []string{"name"}},
		{Type: "test", LabelNames: []string{"name"}},
		{Type: "fencer"},
	},
}

// load runs the phases: parse, variables, locals, syscall sets, hosts,
// services, tests, then the syscall_set references.
func (l *loader) load() (*Config, hcl.Diagnostics) {
	blocks := l.parseFiles()
	if l.diags.HasErrors() {
		return l.cfg, Dedupe(l.diags)
	}
	byType := map[string][]*hcl.Block{}
	for _, b := range blocks {
		byType[b.Type] = append(byType[b.Type], b)
	}
	l.decodeVariables(byType["variable"])
	l.decodeLocals(byType["locals"])
	l.decodeSettings(byType["fencer"])
	l.decodeSyscallSets(byType["syscall_set"])
	l.decodeHosts(byType["host"])
	l.decodeServices(byType["service"])
	l.decodeTests(byType["test"])
	l.resolveSyscallSets()
	return l.cfg, Dedupe(l.diags)
}

// parseFiles parses the configuration files in name order and returns
// their top-level blocks.
func (l *loader) parseFiles() []*hcl.Block {
	names := make([]string, 0, len(l.src))
	for name := range l.src {
		if isConfigFile(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		where := l.dir
		if where == "" {
			where = "the given files"
		}
		l.add(errorAt(hcl.Range{Filename: where}, "No configuration files",
			fmt.Sprintf("fencer reads every *%s and *%s file of a directory, and %s has none.", SuffixHCL, SuffixJSON, where)))
		return nil
	}
	var blocks []*hcl.Block
	for _, name := range names {
		var f *hcl.File
		var diags hcl.Diagnostics
		filename := name
		if l.dir != "" {
			filename = filepath.Join(l.dir, name)
		}
		if strings.HasSuffix(name, SuffixJSON) {
			f, diags = json.Parse(l.src[name], filename)
		} else {
			f, diags = hclsyntax.ParseConfig(l.src[name], filename, hcl.InitialPos)
			explainNumberSyntax(diags, l.src[name])
		}
		l.addAll(diags)
		if f == nil {
			continue
		}
		l.cfg.Files[filename] = f
		if diags.HasErrors() {
			continue
		}
		content, diags := f.Body.Content(rootSchema)
		l.addAll(diags)
		blocks = append(blocks, content.Blocks...)
	}
	return blocks
}

// source returns the bytes of rng, or nil when rng is not in a known file.
func (l *loader) source(rng hcl.Range) []byte {
	f, ok := l.cfg.Files[rng.Filename]
	if !ok || f == nil {
		return nil
	}
	if rng.Start.Byte < 0 || rng.End.Byte > len(f.Bytes) || rng.Start.Byte > rng.End.Byte {
		return nil
	}
	return f.Bytes[rng.Start.Byte:rng.End.Byte]
}

// explainNumberSyntax rewrites the parser's complaint about 0x10 or 0o17:
// HCL numbers are decimal only.
func explainNumberSyntax(diags hcl.Diagnostics, src []byte) {
	for _, d := range diags {
		if d.Subject == nil || d.Severity != hcl.DiagError {
			continue
		}
		at := d.Subject.Start.Byte
		if at < 1 || at >= len(src) || src[at-1] != '0' {
			continue
		}
		base := 0
		switch src[at] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base == 0 || (at >= 2 && isIdentByte(src[at-2])) {
			continue
		}
		end := at + 1
		for end < len(src) && isIdentByte(src[end]) {
			end++
		}
		digits := string(src[at+1 : end])
		lit := string(src[at-1 : end])
		d.Summary = "Unsupported number literal"
		d.Detail = fmt.Sprintf("HCL numbers are decimal only, so %s cannot be written as is. Write parseint(%q, %d), "+
			"or use a named constant.", lit, digits, base)
		start := d.Subject.Start
		start.Byte--
		start.Column--
		d.Subject = &hcl.Range{Filename: d.Subject.Filename, Start: start,
			End: hcl.Pos{Line: start.Line, Column: start.Column + len(lit), Byte: start.Byte + len(lit)}}
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
