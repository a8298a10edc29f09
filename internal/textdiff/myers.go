package textdiff

// diffLines returns a shortest edit script turning a into b, with each
// change region's deletions before its insertions. Every op carries both
// positions: for an insertion ai is the index of the next line of a, for
// a deletion bi that of the next line of b.
func diffLines(a, b []string) []op {
	ids := map[string]int{}
	intern := func(lines []string) []int {
		out := make([]int, len(lines))
		for i, l := range lines {
			id, ok := ids[l]
			if !ok {
				id = len(ids)
				ids[l] = id
			}
			out[i] = id
		}
		return out
	}
	ai, bi := intern(a), intern(b)
	d := &differ{a: ai, b: bi, ids: len(ids)}
	d.inA = make([]bool, len(a))
	d.inB = make([]bool, len(b))
	d.compare(0, len(a), 0, len(b))
	return d.script()
}

// differ finds a longest common subsequence of a and b with Myers'
// linear-space divide and conquer, marking the lines that are kept.
type differ struct {
	a, b     []int
	inA, inB []bool // line is part of the common subsequence
	// Scratch vectors for bisect, reused.
	vf, vb []int
	// ids is the number of distinct lines; seen[id] == stamp marks the
	// lines of a range in disjoint.
	ids   int
	seen  []int
	stamp int
}

// compare marks a longest common subsequence of a[aLo:aHi] and b[bLo:bHi].
func (d *differ) compare(aLo, aHi, bLo, bHi int) {
	for {
		for aLo < aHi && bLo < bHi && d.a[aLo] == d.b[bLo] {
			d.inA[aLo], d.inB[bLo] = true, true
			aLo++
			bLo++
		}
		for aLo < aHi && bLo < bHi && d.a[aHi-1] == d.b[bHi-1] {
			d.inA[aHi-1], d.inB[bHi-1] = true, true
			aHi--
			bHi--
		}
		if aLo == aHi || bLo == bHi || d.disjoint(aLo, aHi, bLo, bHi) {
			return
		}
		x, y, ok := d.bisect(aLo, aHi, bLo, bHi)
		if !ok || (x == aLo && y == bLo) || (x == aHi && y == bHi) {
			// Nothing in common (a split that makes no progress cannot
			// happen, but would loop forever).
			return
		}
		// Recurse on the smaller half, loop on the other.
		if (x-aLo)+(y-bLo) < (aHi-x)+(bHi-y) {
			d.compare(aLo, x, bLo, y)
			aLo, bLo = x, y
		} else {
			d.compare(x, aHi, y, bHi)
			aHi, bHi = x, y
		}
	}
}

// disjoint reports whether a[aLo:aHi] and b[bLo:bHi] have no line in
// common, which bisect would take quadratic time to find out.
func (d *differ) disjoint(aLo, aHi, bLo, bHi int) bool {
	if d.seen == nil {
		d.seen = make([]int, d.ids)
	}
	d.stamp++
	for _, id := range d.a[aLo:aHi] {
		d.seen[id] = d.stamp
	}
	for _, id := range d.b[bLo:bHi] {
		if d.seen[id] == d.stamp {
			return false
		}
	}
	return true
}

// bisect finds the middle snake of a shortest edit path between
// a[aLo:aHi] and b[bLo:bHi] (both non-empty) and returns a point on it to
// split the problem at; ok is false when the two have no line in common.
// It follows Myers' paper ("An O(ND) Difference Algorithm and Its
// Variations", 1986, section 4b) as diff-match-patch implements it, whose
// loop bounds keep the paths inside the edit graph.
func (d *differ) bisect(aLo, aHi, bLo, bHi int) (x, y int, ok bool) {
	a, b := d.a[aLo:aHi], d.b[bLo:bHi]
	n, m := len(a), len(b)
	maxD := (n + m + 1) / 2
	vOff := maxD
	vLen := 2*maxD + 2
	if cap(d.vf) < vLen {
		d.vf = make([]int, vLen)
		d.vb = make([]int, vLen)
	}
	// vf[vOff+k] is the furthest x a forward path reached on diagonal
	// k = x-y; vb[vOff+k] the furthest distance a backward path reached
	// from the end on diagonal k, counted from the bottom right.
	vf, vb := d.vf[:vLen], d.vb[:vLen]
	for i := range vf {
		vf[i], vb[i] = -1, -1
	}
	vf[vOff+1], vb[vOff+1] = 0, 0
	delta := n - m
	// With an odd delta the forward path meets the backward one.
	front := delta%2 != 0
	// Diagonals trimmed at each end once a path ran off the graph.
	kfStart, kfEnd, kbStart, kbEnd := 0, 0, 0, 0
	for step := 0; step < maxD; step++ {
		for k := -step + kfStart; k <= step-kfEnd; k += 2 {
			i := vOff + k
			var x1 int
			if k == -step || (k != step && vf[i-1] < vf[i+1]) {
				x1 = vf[i+1]
			} else {
				x1 = vf[i-1] + 1
			}
			y1 := x1 - k
			for x1 < n && y1 < m && a[x1] == b[y1] {
				x1++
				y1++
			}
			vf[i] = x1
			switch {
			case x1 > n:
				kfEnd += 2
			case y1 > m:
				kfStart += 2
			case front:
				j := vOff + delta - k
				if j >= 0 && j < vLen && vb[j] != -1 && x1 >= n-vb[j] {
					return aLo + x1, bLo + y1, true
				}
			}
		}
		for k := -step + kbStart; k <= step-kbEnd; k += 2 {
			i := vOff + k
			var x2 int
			if k == -step || (k != step && vb[i-1] < vb[i+1]) {
				x2 = vb[i+1]
			} else {
				x2 = vb[i-1] + 1
			}
			y2 := x2 - k
			for x2 < n && y2 < m && a[n-x2-1] == b[m-y2-1] {
				x2++
				y2++
			}
			vb[i] = x2
			switch {
			case x2 > n:
				kbEnd += 2
			case y2 > m:
				kbStart += 2
			case !front:
				j := vOff + delta - k
				if j >= 0 && j < vLen && vf[j] != -1 {
					x1 := vf[j]
					y1 := vOff + x1 - j
					if x1 >= n-x2 {
						return aLo + x1, bLo + y1, true
					}
				}
			}
		}
	}
	return 0, 0, false
}

// script turns the marks into ops, deletions before insertions in each
// changed region.
func (d *differ) script() []op {
	var ops []op
	i, j := 0, 0
	for i < len(d.a) || j < len(d.b) {
		for i < len(d.a) && !d.inA[i] {
			ops = append(ops, op{kind: opDelete, ai: i, bi: j})
			i++
		}
		for j < len(d.b) && !d.inB[j] {
			ops = append(ops, op{kind: opInsert, ai: i, bi: j})
			j++
		}
		if i < len(d.a) && j < len(d.b) {
			ops = append(ops, op{kind: opEqual, ai: i, bi: j})
			i++
			j++
		}
	}
	return ops
}
