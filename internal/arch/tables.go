package arch

import (
	"slices"
	"sort"
)

//go:generate go run ./internal/gen -out .

// The generated tables (zsyscalls.go, zconsts.go) come from
// golang.org/x/sys/unix; supplement.go adds what x/sys lacks. Arch.tables
// joins the syscalls into an Arch's maps the first time the Arch is asked
// for a name or a number, so that a command pays only for the architectures
// it uses (building one takes about half a millisecond, all seven several).
// The constants, about 10,000 names, are never built: constTable is data
// the linker lays out, searched in place.

// generated is an architecture's generated tables: a function that returns
// a new map of its syscalls, so that nothing is built before it is needed,
// and where its constants differ from constTable.
type generated struct {
	syscalls func() map[string]int
	consts   []constDiff
}

// constEntry is a constant's name and the value most architectures give it.
type constEntry struct {
	name  string
	value uint64
}

// constDiff is where an architecture differs from constTable: entry i has
// another value there, or (absent) no such constant.
type constDiff struct {
	i      uint16
	absent bool
	value  uint64
}

// diff returns the value of constTable[i] on a, and whether a has no such
// constant.
func (a *Arch) diff(i int) (uint64, bool) {
	d := a.gen.consts
	j := sort.Search(len(d), func(j int) bool { return int(d[j].i) >= i })
	if j < len(d) && int(d[j].i) == i {
		return d[j].value, d[j].absent
	}
	return constTable[i].value, false
}

// generatedConst looks name up in the generated constants of a.
func (a *Arch) generatedConst(name string) (uint64, bool) {
	i := sort.Search(len(constTable), func(i int) bool { return constTable[i].name >= name })
	if i == len(constTable) || constTable[i].name != name {
		return 0, false
	}
	v, absent := a.diff(i)
	return v, !absent
}

// tables is an architecture's syscall tables.
type tables struct {
	syscalls map[string]int // name -> number, aliases included
	names    map[int]string // number -> canonical name
}

// tables returns a's syscall tables, building them on first use.
func (a *Arch) tables() *tables {
	a.once.Do(a.build)
	return &a.t
}

// consts returns a's hand-maintained constants (supplement.go), building
// them on first use: most commands need the syscall tables, and only
// conditions constants.
func (a *Arch) consts() map[string]uint64 {
	a.constsOnce.Do(func() {
		a.extraConsts = extraConsts(a)
		a.built.Store(true)
	})
	return a.extraConsts
}

// Built returns the names of the architectures whose tables this process
// has built so far, in All's order: what tests of start-up cost check.
func Built() []string {
	var names []string
	for _, a := range all {
		if a.built.Load() {
			names = append(names, a.Name)
		}
	}
	return names
}

func (a *Arch) build() {
	gen := a.gen.syscalls()
	t := &a.t
	t.syscalls = make(map[string]int, len(gen)+8)
	t.names = make(map[int]string, len(gen)+8)
	for name, nr := range gen {
		t.syscalls[name] = nr
		t.names[nr] = name
	}
	for name, nr := range extraSyscalls[a.Name] {
		t.syscalls[name] = nr
		t.names[nr] = name
	}
	// Aliases resolve to a canonical name; they never replace one.
	for alias, canon := range syscallAliases(a) {
		if _, taken := t.syscalls[alias]; taken {
			continue
		}
		if nr, ok := t.syscalls[canon]; ok {
			t.syscalls[alias] = nr
		}
	}
	a.built.Store(true)
}

// structEntry is the size of a C type on each architecture, in All's
// order (0 where it has none), and the x/sys constant it comes from.
type structEntry struct {
	name, goName string
	size         [7]uint16
}

// StructSize returns sizeof(name) on a, the size of the C type named
// (sockaddr_in, msghdr, long), from x/sys's Sizeof constants
// (SizeofSockaddrInet4, SizeofMsghdr, SizeofLong).
func (a *Arch) StructSize(name string) (uint64, bool) {
	i := sort.Search(len(structTable), func(i int) bool { return structTable[i].name >= name })
	if i == len(structTable) || structTable[i].name != name {
		return 0, false
	}
	v := structTable[i].size[slices.Index(all, a)]
	return uint64(v), v != 0
}

// StructNames returns the names of the C types whose size StructSize
// knows, sorted.
func StructNames() []string {
	out := make([]string, len(structTable))
	for i, e := range structTable {
		out[i] = e.name
	}
	return out
}
