package arch

//go:generate go run ./internal/gen -out .

// The generated tables (zsyscalls.go, zconsts.go) come from
// golang.org/x/sys/unix; supplement.go adds what x/sys lacks. init joins them
// into each Arch.

// archTables lists each architecture with its generated tables.
var archTables = []struct {
	arch     *Arch
	syscalls map[string]int
	consts   map[string]uint64
}{
	{X86_64, syscallsX86_64, constsX86_64},
	{AArch64, syscallsAArch64, constsAArch64},
	{I386, syscallsI386, constsI386},
	{ARM, syscallsARM, constsARM},
	{RISCV64, syscallsRISCV64, constsRISCV64},
	{PPC64LE, syscallsPPC64LE, constsPPC64LE},
	{S390X, syscallsS390X, constsS390X},
}

func init() {
	for _, t := range archTables {
		a := t.arch
		a.syscalls = make(map[string]int, len(t.syscalls)+8)
		a.names = make(map[int]string, len(t.syscalls)+8)
		for name, nr := range t.syscalls {
			a.syscalls[name] = nr
			a.names[nr] = name
		}
		for name, nr := range extraSyscalls[a.Name] {
			a.syscalls[name] = nr
			a.names[nr] = name
		}
		// Aliases resolve to a canonical name; they never replace one.
		for alias, canon := range syscallAliases(a) {
			if _, taken := a.syscalls[alias]; taken {
				continue
			}
			if nr, ok := a.syscalls[canon]; ok {
				a.syscalls[alias] = nr
			}
		}

		a.consts = make(map[string]uint64, len(t.consts)+64)
		for name, v := range t.consts {
			a.consts[name] = v
		}
		for name, v := range extraConsts(a) {
			a.consts[name] = v
		}
	}
}
