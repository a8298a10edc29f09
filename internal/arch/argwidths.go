package arch

import (
	_ "embed"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// argWidthsTSV is data/arg-widths.tsv: for every argument syscall-args.tsv
// declares 64 bits wide that is not a pointer (and a few narrower ones), how
// many bits the kernel acts on, with the reason. See data/README.md.
//
//go:embed data/arg-widths.tsv
var argWidthsTSV string

// Width is how the kernel reads one argument in one kind of call.
type Width struct {
	// Bits is the number of low bits of the register the kernel acts on:
	// 16, 32 or 64. Comparing more lets a caller dodge a deny rule with
	// high bits the kernel ignores; comparing fewer lets a caller pass an
	// allow rule with a value the kernel reads differently.
	Bits int
	// Known is false when the kernel's reading of the high half is not
	// pinned down (ioctl's argument: the driver decides). Bits is then the
	// register width: all of it is compared.
	Known bool
	// Class says what the argument is: fd, flags, mode, id, cmd, signal,
	// pointer, size, offset, addr, value, mixed, unused (the kernel does
	// not read it in such a call) or unknown. It is empty for an argument
	// read as its declared type, which Reason then names.
	Class string
	// Reason says why, citing the kernel function that reads the argument.
	Reason string
	// Line is the line of data/arg-widths.tsv that says so, 0 when the
	// declared type does.
	Line int
}

// ArgIn holds for a call whose argument Arg, under Mask (that argument's
// own width), is one of Values.
type ArgIn struct {
	Arg    int
	Mask   uint64
	Values []uint64
}

// Holds reports whether the call's arguments satisfy c.
func (c ArgIn) Holds(args *[6]uint64) bool {
	v := args[c.Arg] & c.Mask
	for _, x := range c.Values {
		if v == x {
			return true
		}
	}
	return false
}

// WidthCase is the width of an argument in the calls where every ArgIn of
// When holds: keyctl's arg1 is a key serial (32 bits) when arg0 is
// KEYCTL_GET_KEYRING_ID, a pointer (64) when it is
// KEYCTL_JOIN_SESSION_KEYRING.
type WidthCase struct {
	When  []ArgIn
	Width Width
}

// Holds reports whether the call's arguments satisfy every condition of c.
func (c WidthCase) Holds(args *[6]uint64) bool {
	for _, w := range c.When {
		if !w.Holds(args) {
			return false
		}
	}
	return true
}

// widthRow is one line of arg-widths.tsv.
type widthRow struct {
	line   int
	entry  string
	arg    int
	arches []string // nil: every 64-bit architecture
	when   []rowSel // nil: the default of its (entry, arg)
	bits   int      // 0: unknown
	class  string
	reason string
}

// rowSel is one condition of a row: argument arg is one of values (constant
// names or numbers, resolved per architecture).
type rowSel struct {
	arg    int
	values []string
}

// widthRows are the rows of arg-widths.tsv, parsed on first use.
var widthRows = sync.OnceValue(func() []widthRow { return mustParseWidthRows(argWidthsTSV) })

func mustParseWidthRows(tsv string) []widthRow {
	rows, err := parseWidthRows(tsv)
	if err != nil {
		panic(fmt.Sprintf("arch: embedded data/arg-widths.tsv: %v", err))
	}
	return rows
}

var widthClasses = map[string]bool{
	"fd": true, "flags": true, "mode": true, "id": true, "cmd": true, "signal": true,
	"pointer": true, "size": true, "offset": true, "addr": true, "value": true,
	"mixed": true, "unused": true, "unknown": true,
}

func parseWidthRows(tsv string) ([]widthRow, error) {
	const header = "entry\targ\tarches\twhen\twidth\tclass\treason"
	var rows []widthRow
	sawHeader := false
	for i, line := range strings.Split(tsv, "\n") {
		lineNo := i + 1
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !sawHeader {
			if line != header {
				return nil, fmt.Errorf("line %d: header is not %q", lineNo, header)
			}
			sawHeader = true
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 7 {
			return nil, fmt.Errorf("line %d: %d fields, want 7", lineNo, len(f))
		}
		row := widthRow{line: lineNo, entry: f[0], class: f[5], reason: f[6]}
		n, err := strconv.Atoi(f[1])
		if err != nil || n < 0 || n > 5 {
			return nil, fmt.Errorf("line %d: bad arg %q", lineNo, f[1])
		}
		row.arg = n
		if f[2] != "*" {
			for _, a := range strings.Split(f[2], ",") {
				if _, ok := Lookup(a); !ok {
					return nil, fmt.Errorf("line %d: unknown architecture %q", lineNo, a)
				}
				row.arches = append(row.arches, a)
			}
		}
		if f[3] != "-" {
			for _, part := range strings.Split(f[3], "&") {
				name, vals, ok := strings.Cut(part, "=")
				if !ok || !strings.HasPrefix(name, "arg") || vals == "" {
					return nil, fmt.Errorf("line %d: condition %q is not argN=V,V (values after the =)", lineNo, part)
				}
				sel, err := strconv.Atoi(strings.TrimPrefix(name, "arg"))
				if err != nil || sel < 0 || sel > 5 || sel == row.arg {
					return nil, fmt.Errorf("line %d: bad argument in condition %q", lineNo, part)
				}
				row.when = append(row.when, rowSel{arg: sel, values: strings.Split(vals, ",")})
			}
		}
		switch f[4] {
		case "16", "32", "64":
			row.bits, _ = strconv.Atoi(f[4])
		case "?":
		default:
			return nil, fmt.Errorf("line %d: width %q is not 16, 32, 64 or ?", lineNo, f[4])
		}
		if !widthClasses[row.class] {
			return nil, fmt.Errorf("line %d: unknown class %q", lineNo, row.class)
		}
		if (row.bits == 0) != (row.class == "unknown") {
			return nil, fmt.Errorf("line %d: width ? goes with class unknown, and only it", lineNo)
		}
		if row.reason == "" {
			return nil, fmt.Errorf("line %d: no reason", lineNo)
		}
		rows = append(rows, row)
	}
	if !sawHeader {
		return nil, fmt.Errorf("no header")
	}
	return rows, nil
}

// appliesTo reports whether the row speaks for architecture a: its arch
// list names a, or it has none and a is 64-bit (the rows are about the high
// half of 64-bit registers; 32-bit architectures are named explicitly).
func (row widthRow) appliesTo(a *Arch) bool {
	if row.arches == nil {
		return a.Bits == 64
	}
	for _, n := range row.arches {
		if n == a.Name {
			return true
		}
	}
	return false
}

// argSpec is how the kernel reads one argument of one entry point on one
// architecture: cases tried in order, then def.
type argSpec struct {
	cases []WidthCase
	def   Width
}

type specKey struct {
	entry string
	arg   int
}

// widths returns the rows of arg-widths.tsv that apply on a with their
// conditions resolved to numbers, compiled on first use (after a's
// constant tables).
func (a *Arch) widths() map[specKey]*argSpec {
	a.widthsOnce.Do(func() {
		specs, err := compileWidths(a)
		if err != nil {
			panic(fmt.Sprintf("arch: embedded data/arg-widths.tsv: %v", err))
		}
		a.widthSpecs = specs
	})
	return a.widthSpecs
}

// compileWidths compiles the rows of arg-widths.tsv that apply on a.
func compileWidths(a *Arch) (map[specKey]*argSpec, error) {
	specs := map[specKey]*argSpec{}
	hasDefault := map[specKey]bool{}
	for _, row := range widthRows() {
		if !row.appliesTo(a) {
			continue
		}
		k := specKey{row.entry, row.arg}
		s := specs[k]
		if s == nil {
			s = &argSpec{}
			specs[k] = s
		}
		if hasDefault[k] {
			return nil, fmt.Errorf("line %d: %s arg%d on %s follows its default row", row.line, row.entry, row.arg, a.Name)
		}
		w := Width{Bits: row.bits, Known: row.bits != 0, Class: row.class, Reason: row.reason, Line: row.line}
		if w.Bits == 0 {
			w.Bits = 64
		}
		if a.Bits == 32 {
			// A 32-bit register has no high half to misread.
			w.Known = true
			if w.Bits > 32 {
				w.Bits = 32
			}
		}
		if row.when == nil {
			s.def = w
			hasDefault[k] = true
			continue
		}
		c := WidthCase{Width: w}
		for _, sel := range row.when {
			in := ArgIn{Arg: sel.arg}
			for _, v := range sel.values {
				n, err := strconv.ParseUint(v, 0, 64)
				if err != nil {
					var ok bool
					if n, ok = a.Const(v); !ok {
						return nil, fmt.Errorf("line %d: no constant %s on %s", row.line, v, a.Name)
					}
				}
				in.Values = append(in.Values, n)
			}
			c.When = append(c.When, in)
		}
		s.cases = append(s.cases, c)
	}
	for k, s := range specs {
		if !hasDefault[k] {
			s.def = unknownWidth(a, "no row of arg-widths.tsv covers the other calls")
		}
	}
	// A condition reads its argument on that argument's own width in
	// the calls the case's other conditions select: prctl's arg1 is
	// an int for PR_SET_MM, an unsigned long for PR_FUTEX_HASH.
	// Conditions are on lower arguments, so going up from arg0 every
	// condition a width depends on has its mask already.
	keys := sortedSpecKeys(specs)
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].arg < keys[j].arg })
	for _, k := range keys {
		s := specs[k]
		for i := range s.cases {
			var args [6]uint64
			for j := range s.cases[i].When {
				in := &s.cases[i].When[j]
				in.Mask = WidthMask(selectorWidth(a, specs, k.entry, in.Arg, &args))
				args[in.Arg] = in.Values[0]
			}
		}
	}
	return specs, nil
}

// selectorWidth is the width of argument arg of entry on a in a call with
// args (whose lower arguments a case's earlier conditions set): its rows,
// or its declared type.
func selectorWidth(a *Arch, specs map[specKey]*argSpec, entry string, arg int, args *[6]uint64) int {
	bits := 64
	if s := specs[specKey{entry, arg}]; s != nil {
		bits = s.def.Bits
		for _, c := range s.cases {
			if c.Holds(args) {
				bits = c.Width.Bits
				break
			}
		}
	} else if row, ok := argTable()[entry]; ok && arg < row.nargs {
		c := row.args[arg]
		switch {
		case c.narrow16():
			bits = 16
		case !c.pointer() && c.width == 32:
			bits = 32
		}
	}
	if bits > a.Bits {
		bits = a.Bits
	}
	return bits
}

// WidthMask is the mask of the low bits bits of a 64-bit word: the bits
// the kernel reads of an argument that wide.
func WidthMask(bits int) uint64 {
	if bits >= 64 {
		return ^uint64(0)
	}
	return uint64(1)<<bits - 1
}

func unknownWidth(a *Arch, reason string) Width {
	if a.Bits == 32 {
		return Width{Bits: 32, Known: true, Class: "unknown", Reason: reason}
	}
	return Width{Bits: 64, Class: "unknown", Reason: reason}
}

// ArgWidths returns how the kernel reads argument arg (0-5) of the syscall
// on a. When the reading depends on other arguments (keyctl's arg1 on the
// option in arg0, fcntl's arg2 on the command in arg1), cases lists the
// widths in order, the first that holds for a call deciding, and def is
// the width of calls no case covers; otherwise cases is empty and def is
// the width of every call.
//
// The widths come from data/syscall-args.tsv (the declared types: a 32-bit
// type is truncated by the SYSCALL_DEFINE wrapper, umode_t, old_uid_t and
// old_gid_t to 16 bits) and, for arguments declared wider, from
// data/arg-widths.tsv, which records for each one the bits the kernel acts
// on and why. On 32-bit architectures (i386, arm) every argument is at most
// 32 bits. An argument fencer has no width for (the syscall does not exist
// on a or is not implemented there, its arguments are not known, or arg is
// beyond them) is 64 bits (a.Bits on 32-bit arches) with Known false.
func (a *Arch) ArgWidths(syscall string, arg int) (cases []WidthCase, def Width) {
	if arg < 0 || arg > 5 {
		return nil, Width{Bits: a.Bits, Class: "unknown", Reason: "seccomp_data has six arguments"}
	}
	entry, row, rowOK := a.entryRow(syscall)
	if a.Bits == 32 {
		if _, exists := a.Canonical(syscall); !exists {
			return nil, Width{Bits: 32, Class: "unknown", Reason: "no such syscall on " + a.Name}
		}
		if !rowOK || row.split32() || arg >= row.nargs {
			return nil, Width{Bits: 32, Known: true, Reason: "a 32-bit register"}
		}
	} else if !rowOK || arg >= row.nargs {
		return nil, unknownWidth(a, "fencer does not know this syscall's arguments on "+a.Name)
	}
	c := row.args[arg]
	if a.Bits == 32 {
		if c.narrow16() {
			return nil, Width{Bits: 16, Known: true, Class: "mode", Reason: c.decl + ": the SYSCALL_DEFINE wrapper truncates it to 16 bits"}
		}
		if s := a.widths()[specKey{entry, arg}]; s != nil {
			if cs := collapse(s.cases, s.def); cs != nil {
				return cs, s.def
			}
			return nil, s.def
		}
		return nil, Width{Bits: 32, Known: true, Reason: "a 32-bit register"}
	}
	switch {
	case c.unsure:
		if s := a.widths()[specKey{entry, arg}]; s != nil {
			return s.cases, s.def
		}
		return nil, unknownWidth(a, "the declared type is not certain: "+c.decl)
	case c.narrow16():
		return nil, Width{Bits: 16, Known: true, Class: "mode", Reason: c.decl + ": the SYSCALL_DEFINE wrapper truncates it to 16 bits"}
	}
	if s := a.widths()[specKey{entry, arg}]; s != nil {
		if cs := collapse(s.cases, s.def); cs != nil {
			return cs, s.def
		}
		return nil, s.def
	}
	switch {
	case c.pointer():
		return nil, Width{Bits: 64, Known: true, Class: "pointer", Reason: c.decl}
	case c.width == 32:
		return nil, Width{Bits: 32, Known: true, Reason: c.decl + ": the SYSCALL_DEFINE wrapper truncates it to its declared type"}
	}
	// Every such argument has rows (TestArgWidthsCoverEveryWideArgument).
	return nil, unknownWidth(a, c.decl+": not audited")
}

// collapse returns cases, or nil when every case has the default's bits,
// so that the width does not depend on the call after all (on a 32-bit
// architecture, every case is 32 bits).
func collapse(cases []WidthCase, def Width) []WidthCase {
	for _, c := range cases {
		if c.Width.Bits != def.Bits || c.Width.Known != def.Known {
			return cases
		}
	}
	return nil
}

// ArgWidthIn returns the width of argument arg of the syscall on a in a
// call with these arguments (see ArgWidths).
func (a *Arch) ArgWidthIn(syscall string, arg int, args *[6]uint64) Width {
	cases, def := a.ArgWidths(syscall, arg)
	for _, c := range cases {
		if c.Holds(args) {
			return c.Width
		}
	}
	return def
}

// ArgWidth returns the number of low bits of argument arg (0-5) of the
// syscall that the kernel uses on a: 16, 32 or 64, and whether that is
// known for every call. It is ArgWidths summed up: when the width depends
// on other arguments, ArgWidth returns the widest of the cases and
// known=false; when no width is known, 64 (a.Bits on 32-bit arches) and
// known=false. Comparing all 64 bits keeps allow rules sound (nothing the
// kernel reads differently gets through), but a deny rule on such an
// argument may be dodged with high bits the kernel ignores; known=false
// lets the caller warn about that, or use ArgWidths.
//
// ArgWidth never returns more than a.Bits. An arg outside 0-5 returns
// a.Bits and known=false.
func (a *Arch) ArgWidth(syscall string, arg int) (width int, known bool) {
	cases, def := a.ArgWidths(syscall, arg)
	if len(cases) == 0 {
		return def.Bits, def.Known
	}
	width = def.Bits
	for _, c := range cases {
		if c.Width.Bits > width {
			width = c.Width.Bits
		}
	}
	return width, false
}

// WidthRow is one row of data/arg-widths.tsv as it applies to one
// architecture, for tests and documentation.
type WidthRow struct {
	Line     int
	Entry    string
	Arg      int
	When     string // "-" for the default row
	Width    Width
	Explicit bool // the row names its architectures
}

// WidthRows returns the rows of data/arg-widths.tsv that apply to a
// syscall of a, in file order.
func (a *Arch) WidthRows() []WidthRow {
	entries := map[string]bool{}
	for _, name := range a.SyscallNames() {
		if e, _, ok := a.entryRow(name); ok {
			entries[e] = true
		}
	}
	var out []WidthRow
	for _, row := range widthRows() {
		if !row.appliesTo(a) || !entries[row.entry] {
			continue
		}
		w := Width{Bits: row.bits, Known: row.bits != 0, Class: row.class, Reason: row.reason, Line: row.line}
		if w.Bits == 0 {
			w.Bits = 64
		}
		when := "-"
		if row.when != nil {
			var parts []string
			for _, s := range row.when {
				parts = append(parts, fmt.Sprintf("arg%d=%s", s.arg, strings.Join(s.values, ",")))
			}
			when = strings.Join(parts, "&")
		}
		out = append(out, WidthRow{Line: row.line, Entry: row.entry, Arg: row.arg, When: when, Width: w, Explicit: row.arches != nil})
	}
	return out
}

// EntryName returns the name of the kernel entry point (sys_NAME) the
// syscall reaches on a, as data/syscall-args.tsv and data/arg-widths.tsv
// name it (x86_64 fstat is newfstat), and false when fencer has no
// arguments for it there.
func (a *Arch) EntryName(syscall string) (string, bool) {
	e, _, ok := a.entryRow(syscall)
	return e, ok
}

// sortedSpecKeys is for deterministic iteration in tests.
func sortedSpecKeys(m map[specKey]*argSpec) []specKey {
	keys := make([]specKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].entry != keys[j].entry {
			return keys[i].entry < keys[j].entry
		}
		return keys[i].arg < keys[j].arg
	})
	return keys
}
