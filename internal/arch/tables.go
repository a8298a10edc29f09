package arch

//go:generate go run ./internal/gen -out .

// The generated tables (zsyscalls.go, zconsts.go) come from
// golang.org/x/sys/unix; supplement.go adds what x/sys lacks. Arch.tables
// joins them into an Arch's maps the first time the Arch is asked for a name
// or a number, so that a command pays only for the architectures it uses
// (building one takes about half a millisecond, all seven several).

// generated is an architecture's generated tables: functions that return
// new maps, so that nothing is built before it is needed.
type generated struct {
	syscalls func() map[string]int
	consts   func() map[string]uint64
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

// consts returns a's named constants, building them on first use: most
// commands need the syscall tables, and only conditions constants.
func (a *Arch) consts() map[string]uint64 {
	a.constsOnce.Do(func() {
		a.constTable = a.gen.consts()
		for name, v := range extraConsts(a) {
			a.constTable[name] = v
		}
		a.built.Store(true)
	})
	return a.constTable
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
