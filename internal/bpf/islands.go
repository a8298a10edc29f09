package bpf

// Out-of-reach conditional jumps go through `ja` stubs. Placed right after
// each jump, a stub serves one jump only, and a condition with thousands
// of alternatives that all return the same action pays one stub each. The
// builder's code never falls through a jump or a return (every jump names
// both targets), so a block of stubs — an island — can sit after any of
// them; put as late as the jumps it serves can reach, one stub serves every
// jump to the same target within those 255 instructions.

// islandLayout is where the stubs go: after instruction i, a stub for each
// of islands[i]'s labels, in order.
type islandLayout map[int][]Label

// useIslands turns islands off, for tests of the trampoline layout.
var useIslands = true

// maxIslandPasses bounds the search for a layout that settles; the
// trampoline layout takes over when it does not.
const maxIslandPasses = 16

// assembleIslands lays out the program with shared stubs. It reports false
// when the labels are not all valid forward targets or the layout does not
// settle, and then the caller falls back to one trampoline per jump.
func (b *Builder) assembleIslands() (Program, bool) {
	if !useIslands {
		return nil, false
	}
	n := len(b.insns)
	at := func(l Label) int {
		i, ok := b.marks[l]
		if !ok {
			return -1
		}
		return i
	}
	for i, p := range b.insns {
		for _, l := range []Label{p.jt, p.jf} {
			if (isCond(p.in) || (isJA(p.in) && l == p.jt)) && l != "" {
				if t := at(l); t <= i {
					return nil, false
				}
			}
		}
	}
	// Stubs can follow instructions control never falls through.
	canHost := func(i int) bool {
		in := b.insns[i].in
		return isCond(in) || isJA(in) || in.Code&0x07 == ClassRET
	}
	layout := islandLayout{}
	var addr []int
	var stub map[[2]int]int // (island after i, label index) -> address
	compute := func(l islandLayout) {
		addr = make([]int, n+1)
		stub = map[[2]int]int{}
		pos := 0
		for i := 0; i < n; i++ {
			addr[i] = pos
			pos++
			for k := range l[i] {
				stub[[2]int{i, k}] = pos
				pos++
			}
		}
		addr[n] = pos
	}
	for pass := 0; pass < maxIslandPasses; pass++ {
		compute(layout)
		next := islandLayout{}
		for j, p := range b.insns {
			if !isCond(p.in) {
				continue
			}
			for _, lab := range []Label{p.jt, p.jf} {
				t := at(lab)
				if addr[t]-(addr[j]+1) <= 255 {
					continue
				}
				if _, ok := findStub(next, addr, stub, j, lab); ok {
					continue
				}
				// The last host the jump reaches, leaving room for the
				// stubs this pass may still add before it.
				best := -1
				for i := j; i < t && addr[i]+1-(addr[j]+1) <= 255-len(next[i])-8; i++ {
					if canHost(i) {
						best = i
					}
				}
				if best < 0 {
					return nil, false
				}
				next[best] = append(next[best], lab)
			}
		}
		if sameLayout(layout, next) {
			return b.emitIslands(layout, addr, stub, at)
		}
		layout = next
	}
	return nil, false
}

// findStub returns the address of a stub for lab in layout that jump j
// reaches, with the instruction and stub addresses addr and stub. A stub
// the current pass has just added has no address yet: it counts as
// reachable when its island is (the loop's bound), and the settled layout
// is checked offset by offset when emitted.
func findStub(layout islandLayout, addr []int, stub map[[2]int]int, j int, lab Label) (int, bool) {
	for i := j; i < len(addr)-1 && addr[i] <= addr[j]+256; i++ {
		for k, x := range layout[i] {
			if a := stub[[2]int{i, k}]; x == lab && a-(addr[j]+1) <= 255 {
				return a, true
			}
		}
	}
	return 0, false
}

func sameLayout(a, b islandLayout) bool {
	if len(a) != len(b) {
		return false
	}
	for i, x := range a {
		y := b[i]
		if len(x) != len(y) {
			return false
		}
		for k := range x {
			if x[k] != y[k] {
				return false
			}
		}
	}
	return true
}

// emitIslands writes the program for a settled layout, checking every
// offset; it reports false if any does not fit after all.
func (b *Builder) emitIslands(layout islandLayout, addr []int, stub map[[2]int]int, at func(Label) int) (Program, bool) {
	n := len(b.insns)
	prog := make(Program, 0, addr[n])
	side := func(j int, lab Label) (uint8, bool) {
		dest := addr[at(lab)]
		if dest-(addr[j]+1) > 255 {
			a, ok := findStub(layout, addr, stub, j, lab)
			if !ok {
				return 0, false
			}
			dest = a
		}
		off := dest - (addr[j] + 1)
		if off < 0 || off > 255 {
			return 0, false
		}
		return uint8(off), true
	}
	for j := 0; j < n; j++ {
		p := b.insns[j]
		switch {
		case isJA(p.in):
			prog = append(prog, Stmt(p.in.Code, uint32(addr[at(p.jt)]-(addr[j]+1))))
		case isCond(p.in):
			in := p.in
			var ok bool
			if in.Jt, ok = side(j, p.jt); !ok {
				return nil, false
			}
			if in.Jf, ok = side(j, p.jf); !ok {
				return nil, false
			}
			prog = append(prog, in)
		default:
			prog = append(prog, p.in)
		}
		for _, lab := range layout[j] {
			here := len(prog)
			prog = append(prog, Stmt(ClassJMP|JmpJA, uint32(addr[at(lab)]-(here+1))))
		}
	}
	return prog, true
}
