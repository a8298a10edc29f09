package compile

import (
	"fmt"
	"sort"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
)

// The dispatch is a decision tree over syscall-number ranges. Every number
// from 0 to 2³²-1 goes to one outcome: the shared return of an
// unconditional syscall's action, a conditional syscall's block, or the
// default action (and on x86_64 the kill of the x32 range, which policy
// Explain decides before any rule). Neighbouring numbers with the same
// outcome form one range; the tree compares the number with range
// boundaries (jge) until one range is left, and where a stretch of ranges
// is single numbers amid one outcome, a run of jeq tests those numbers
// and falls to that outcome.
//
// The tree's shape minimises a cost: for each range, its weight times the
// jumps executed to reach its outcome, plus sizeWeight per instruction of
// dispatch, among the trees no deeper than maxDepth. The weights say how
// often a range's numbers run the filter:
//
//   - weightCached, for an unconditional allow: the kernel's action cache
//     (kernel/seccomp.c, seccomp_cache_check_allow) answers every call
//     after the first without running the filter, so its depth is paid
//     once per process;
//   - weightDenied, for unconditional actions other than allow (including
//     the default when it is not allow, and the x32 range): never cached,
//     but a denied call is an error that programs rarely repeat;
//   - weightCond, for a syscall whose action depends on its arguments:
//     it runs the filter on every call, for as long as the program runs.
//
// Once the kernel has converted the filter (and JIT-compiled it, where it
// does), every jump on the number costs about the same whatever its kind,
// so the weights only rank how often the jumps run. An instruction weighs as much as five jumps of a
// conditional syscall: a tree node or a jeq is added only where it saves
// that many weighted jumps, so that sparse policies (a few scattered
// syscalls, mostly conditional, like Firedancer's) get dispatches no
// longer than a plain run of jeq.
const (
	weightCached = 1
	weightDenied = 2
	weightCond   = 4
	sizeWeight   = 5 * weightCond
)

// maxChain bounds the ranges a run of jeq covers, which bounds the time
// to find the best tree.
const maxChain = 24

// maxExact is the number of spans up to which every split is tried.
const maxExact = 64

// maxBounded is the number of ranges up to which the tree's depth is
// bounded (maxDepth): the search keeps a table per depth. Beyond, the
// cheapest tree of any depth is searched.
const maxBounded = 160

// maxPlanned is the number of ranges the search plans at once; above it,
// a stretch is split at its weighted middle first (the tables of costs
// for all pairs of ranges grow with the square).
const maxPlanned = 512

// span is a range of syscall numbers with one outcome.
type span struct {
	lo, hi uint32
	target bpf.Label
	out    int // the target's number, the same for the same target
	weight int64
}

func (s span) single() bool { return s.lo == s.hi }

// spans lays the numbers 0..2³²-1 out as ranges of equal outcome.
// targets[i] is where decs[i] goes; def is the default action's return
// and kill that of kill_process, for the x32 range.
func spans(f *policy.Filter, decs []decision, targets []bpf.Label, def, kill bpf.Label) []span {
	defWeight := int64(weightDenied)
	if f.Default.Kind == policy.Allow {
		defWeight = weightCached
	}
	var out []span
	outs := map[bpf.Label]int{}
	add := func(lo, hi uint32, t bpf.Label, w int64) {
		if n := len(out); n > 0 && out[n-1].target == t && out[n-1].hi+1 == lo {
			out[n-1].hi = hi
			return
		}
		if _, ok := outs[t]; !ok {
			outs[t] = len(outs)
		}
		out = append(out, span{lo: lo, hi: hi, target: t, out: outs[t], weight: w})
	}
	end := uint32(0xffffffff)
	if f.X32 {
		end = policy.X32Bit - 1
	}
	next := uint64(0) // the first number not yet laid out
	for i, d := range decs {
		if uint64(d.nr) > uint64(end) {
			break // numbers the x32 kill decides before any rule
		}
		if uint64(d.nr) > next {
			add(uint32(next), d.nr-1, def, defWeight)
		}
		w := int64(weightDenied)
		switch {
		case !d.unconditional():
			w = weightCond
		case d.groups[0].action.Kind == policy.Allow:
			w = weightCached
		}
		add(d.nr, d.nr, targets[i], w)
		next = uint64(d.nr) + 1
	}
	if next <= uint64(end) {
		add(uint32(next), end, def, defWeight)
	}
	if f.X32 {
		add(policy.X32Bit, 0xffffffff, kill, weightDenied)
	}
	return out
}

// node is a piece of the dispatch over spans[lo..hi].
type node struct {
	lo, hi int
	// A split compares with spans[split].lo: numbers at or above it go to
	// right, the others to left. Without a split, a node of one span is
	// a leaf, and a node of several a run of jeq: each span of tests in
	// turn, then the target of the others.
	split       int
	left, right *node
	tests       []int
	rest        bpf.Label
}

// planner finds the cheapest dispatch tree over spans.
type planner struct {
	s   []span
	sum []int64 // sum[i] = weight of spans[:i]
	// For the stretch being planned, from base, of n spans, and each depth
	// d allowed (0..depth; a single layer, unbounded, when depth is 0), at
	// at(d, i, j) for each sub-stretch i..j: its cost (-1 when no tree is
	// that shallow), its best split, and whether a run of jeq costs less
	// than that split.
	base, n, depth int
	cost           []int64
	split          []int16
	chained        []bool
	// For each sub-stretch of at most maxChain spans, at
	// [(i-base)*maxChain+j-i]: the cost of a run of jeq over it and the
	// jeq it takes (-1 when it cannot be one).
	chainCost  []int64
	chainTests []int8
	chainRest  []int32
}

// leaf reports whether n is one span, whose target needs no code.
func (n *node) leaf() bool { return n.split < 0 && len(n.tests) == 0 }

func (p *planner) weight(i, j int) int64 { return p.sum[j+1] - p.sum[i] }

// plan returns the tree over spans[lo..hi].
func (p *planner) plan(lo, hi int) *node {
	if hi-lo+1 > maxPlanned {
		// Split at the weighted middle, and plan each half.
		half := (p.sum[lo] + p.sum[hi+1]) / 2
		k := sort.Search(hi-lo, func(k int) bool { return p.sum[lo+k+1] > half }) + lo
		k = min(max(k, lo+1), hi)
		return &node{lo: lo, hi: hi, split: k, left: p.plan(lo, k-1), right: p.plan(k, hi)}
	}
	p.base, p.n, p.depth = lo, hi-lo+1, 0
	if p.n <= maxBounded {
		p.depth = maxDepth(p.n)
	}
	size := (p.depth + 1) * p.n * (p.n + 1) / 2
	p.cost = make([]int64, size)
	p.split = make([]int16, size)
	p.chained = make([]bool, size)
	p.runs(lo, hi)
	for d := 0; d <= p.depth; d++ {
		for length := 1; length <= p.n; length++ {
			for i := lo; i+length-1 <= hi; i++ {
				p.solve(d, i, i+length-1)
			}
		}
	}
	return p.build(p.depth, lo, hi)
}

// maxDepth is the most jumps the tree over n spans may take to any of
// them: those of a balanced tree, so that no number waits longer than in
// a balanced tree whatever the weights (@system-service's 53 ranges on
// x86_64: 6 jumps). A small tree (up to 32 spans, 5 levels) may take one
// more, where a run of jeq saves instructions: with 10 scattered syscalls,
// a node and two runs of 5 jeq instead of 3 nodes and runs of 2 or 3.
func maxDepth(n int) int {
	d := 0
	for 1<<d < n {
		d++
	}
	if n <= 32 {
		d++
	}
	return d
}

// reaches reports whether a tree of depth d can cover n spans: a run of d
// jeq covers at most 2d+1, a split twice what its children cover.
func reaches(d, n int) bool {
	if d == 0 {
		return n <= 1
	}
	return n <= 3<<(d-1)
}

// at is where the figures of spans[i..j] at depth d are: the stretches of
// each depth by their first span, each first span's by their last.
func (p *planner) at(d, i, j int) int {
	r := i - p.base
	return d*p.n*(p.n+1)/2 + r*p.n - r*(r-1)/2 + j - i
}

// below is the layer the children of a node of layer d are planned in.
func (p *planner) below(d int) int {
	if p.depth == 0 {
		return 0
	}
	return d - 1
}

// solve finds the cheapest dispatch over spans[i..j] that takes at most d
// jumps (any number when the depth is unbounded), the shorter stretches
// and the shallower layers being solved.
func (p *planner) solve(d, i, j int) {
	at := p.at(d, i, j)
	p.cost[at], p.split[at] = -1, -1
	if i == j {
		p.cost[at] = 0
		return
	}
	if p.depth > 0 && !reaches(d, j-i+1) {
		return // no tree that shallow covers that many spans
	}
	// Each split adds one jump for every span below it.
	here := sizeWeight + p.weight(i, j)
	c := p.below(d)
	best, split := int64(-1), int16(-1)
	try := func(from, to int) {
		for k := from; k <= to; k++ {
			l, r := p.cost[p.at(c, i, k-1)], p.cost[p.at(c, k, j)]
			if l < 0 || r < 0 {
				continue
			}
			if x := here + l + r; best < 0 || x < best {
				best, split = x, int16(k)
			}
		}
	}
	// Knuth's bound: the best split lies between those of the stretches
	// one span shorter (for optimal search trees without runs of jeq or
	// a depth bound; close to it with them), which keeps the search
	// quadratic. Where none in that window fits the depth, every split
	// is tried.
	from, to := i+1, j
	if p.n > maxExact && j-i >= 2 {
		if l := p.split[p.at(d, i, j-1)]; l >= 0 {
			from = max(from, int(l))
		}
		if r := p.split[p.at(d, i+1, j)]; r >= 0 {
			to = min(to, int(r))
		}
	}
	if from <= to {
		try(from, to)
	}
	if best < 0 {
		try(i+1, j)
	}
	p.cost[at], p.split[at] = best, split
	if j-i < maxChain {
		k := (i-p.base)*maxChain + j - i
		if m := int(p.chainTests[k]); m >= 0 && (p.depth == 0 || m <= d) {
			if x := p.chainCost[k]; best < 0 || x <= best {
				p.cost[at], p.chained[at] = x, true
			}
		}
	}
}

// runs finds, for each stretch of spans[lo..hi] of at most maxChain
// spans, whether it can be a run of jeq: every span of more than one
// number goes to the same target, which the run falls to (when all are
// single numbers, the target of the most of them); the run tests the
// other spans, heaviest first. It records the run's target, its number
// of jeq (-1 when the stretch cannot be a run) and its cost.
func (p *planner) runs(lo, hi int) {
	p.chainCost = make([]int64, p.n*maxChain)
	p.chainTests = make([]int8, p.n*maxChain)
	p.chainRest = make([]int32, p.n*maxChain)
	count := make([]int, len(p.s)+1) // by target number
	for i := lo; i <= hi; i++ {
		wide, most := -1, -1 // the target of the spans of several numbers; of the most spans
		j := i
		for ; j <= hi && j-i < maxChain; j++ {
			t := p.s[j].out
			if !p.s[j].single() {
				if wide >= 0 && wide != t {
					break // and so is every longer stretch
				}
				wide = t
			}
			count[t]++
			if most < 0 || count[t] > count[most] {
				most = t
			}
			rest := wide
			if rest < 0 {
				rest = most
			}
			at := (i-lo)*maxChain + j - i
			p.chainRest[at] = int32(rest)
			p.chainCost[at], p.chainTests[at] = p.runCost(i, j, rest)
		}
		for k := j; k < hi+1 && k-i < maxChain; k++ {
			p.chainTests[(i-lo)*maxChain+k-i] = -1
		}
		for k := i; k < j; k++ {
			count[p.s[k].out] = 0
		}
	}
}

// runCost is the cost of a run of jeq over spans[i..j] that falls to the
// target numbered rest, and the number of jeq it takes.
func (p *planner) runCost(i, j, rest int) (int64, int8) {
	// The weights of the tests, heaviest first (an insertion sort: a
	// run has at most maxChain spans).
	var w [maxChain]int64
	m := 0
	for k := i; k <= j; k++ {
		if p.s[k].out == rest {
			continue
		}
		x, at := p.s[k].weight, m
		for ; at > 0 && w[at-1] < x; at-- {
			w[at] = w[at-1]
		}
		w[at] = x
		m++
	}
	c, tested := sizeWeight*int64(m), int64(0)
	for pos := 0; pos < m; pos++ {
		c += w[pos] * int64(pos+1)
		tested += w[pos]
	}
	return c + (p.weight(i, j)-tested)*int64(m), int8(m)
}

// chain returns the run of jeq over spans[i..j] that runs found: the
// spans it tests, in order, and the target it falls to.
func (p *planner) chain(i, j int) (tests []int, rest bpf.Label) {
	r := int(p.chainRest[(i-p.base)*maxChain+j-i])
	for k := i; k <= j; k++ {
		if p.s[k].out == r {
			rest = p.s[k].target
		} else {
			tests = append(tests, k)
		}
	}
	sort.SliceStable(tests, func(a, b int) bool { return p.s[tests[a]].weight > p.s[tests[b]].weight })
	return tests, rest
}

// build turns the solved table into the tree over spans[i..j] of layer d.
func (p *planner) build(d, i, j int) *node {
	n := &node{lo: i, hi: j, split: -1}
	at := p.at(d, i, j)
	switch {
	case i == j:
	case p.chained[at]:
		n.tests, n.rest = p.chain(i, j)
	default:
		n.split = int(p.split[at])
		c := p.below(d)
		n.left, n.right = p.build(c, i, n.split-1), p.build(c, n.split, j)
	}
	return n
}

// planDispatch returns the cheapest tree over the spans.
func planDispatch(s []span) *node {
	p := &planner{s: s, sum: make([]int64, len(s)+1)}
	for i, x := range s {
		p.sum[i+1] = p.sum[i] + x.weight
	}
	return p.plan(0, len(s)-1)
}

// label is where control goes to run n: a leaf's target itself, or a new
// label for the code of n.
func (g *gen) label(n *node, s []span) bpf.Label {
	if n.leaf() {
		return s[n.lo].target
	}
	return g.b.NewLabel(fmt.Sprintf("nr_%d_%d", s[n.lo].lo, s[n.hi].hi))
}

// tree emits the dispatch n over the spans, with A holding the syscall
// number: only jumps that compare A with constants, so that the kernel's
// action cache can follow every path to an unconditional allow. The
// blocks of the conditional syscalls n leads to follow its code, so that
// in a long program each is within reach of the jump to it.
func (g *gen) tree(n *node, s []span) {
	switch {
	case n.split >= 0:
		l, r := g.label(n.left, s), g.label(n.right, s)
		g.b.JumpIf(bpf.JmpJGE, s[n.split].lo, r, l)
		for _, c := range []struct {
			n *node
			l bpf.Label
		}{{n.left, l}, {n.right, r}} {
			if c.n.leaf() {
				g.blockHere(c.l)
			} else {
				g.b.Mark(c.l)
				g.tree(c.n, s)
			}
		}
	case len(n.tests) > 0:
		for i, k := range n.tests {
			next := n.rest
			if i < len(n.tests)-1 {
				next = g.b.NewLabel("nr_next")
			}
			g.b.JumpIf(bpf.JmpJEQ, s[k].lo, s[k].target, next)
			if next != n.rest {
				g.b.Mark(next)
			}
		}
		for _, k := range n.tests {
			g.blockHere(s[k].target)
		}
		g.blockHere(n.rest)
	default:
		g.b.JumpTo(s[n.lo].target)
		g.blockHere(s[n.lo].target)
	}
}

// blockHere lays out the block at l within the dispatch, when the layout
// interleaves them.
func (g *gen) blockHere(l bpf.Label) {
	if g.interleave {
		g.block(l)
	}
}
