package oci

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/spelling"
)

// entry turns one entry of syscalls into a block of rules, or a comment
// saying why it has none.
func (im *importer) entry(s *Syscall) {
	b := block{}
	where := fmt.Sprintf("syscalls[%d] (line %d)", s.Index, s.Rng.Start.Line)
	if s.Comment != "" {
		b.comments = append(b.comments, where+": "+s.Comment)
	} else {
		b.comments = append(b.comments, where)
	}
	defer func() { im.blocks = append(im.blocks, b) }()
	arches := im.entryArches(s)
	if why := im.kernelSkips(s); why != "" {
		b.comments = append(b.comments, "Left out: "+why+".")
		return
	}
	caps := im.capTerms(s)
	action, key, ok := im.action(s.Action, s.ErrnoRet, false)
	when, okArgs := im.argTerms(s)
	if !ok || !okArgs {
		return
	}
	if len(s.Names) == 0 {
		b.comments = append(b.comments, "Left out: the entry names no syscall.")
		return
	}
	if key == im.defKey {
		b.comments = append(b.comments, "Left out: its action is the default action, and runc drops such a rule.")
		return
	}
	if len(arches) == 0 {
		b.comments = append(b.comments, "Left out: it applies on none of the profile's architectures fencer supports.")
		return
	}
	if len(s.Args) > 0 && hasRepeatedIndex(s.Args) {
		b.comments = append(b.comments, "Its comparisons of one argument are alternatives (||), as runc adds each as a rule of its own.")
	}
	cond := joinWhen(caps, when)
	var names []string
	for _, n := range s.Names {
		names = append(names, n.V)
	}
	im.kept = append(im.kept, keptEntry{s: s, action: key, caps: caps, arches: arches, names: names})
	groups, unknown := splitNames(s.Names, arches)
	if split := splitByArgNames(groups, s.Args); len(split) > len(groups) {
		b.comments = append(b.comments, "The arguments it compares are other parameters on some architectures: one rule per meaning, each comparing the register the profile names, as libseccomp does.")
		groups = split
	}
	if s.ErrnoRet != nil && s.ErrnoRet.V&0xffff > 4095 {
		b.comments = append(b.comments, fmt.Sprintf("errnoRet %d: the kernel returns at most errno 4095 (MAX_ERRNO).", s.ErrnoRet.V))
	}
	if len(unknown) > 0 {
		b.comments = append(b.comments, "Not a syscall fencer knows on "+archList(arches)+": "+strings.Join(unknown, ", ")+".")
	}
	word := strings.ReplaceAll(strings.SplitN(action, "(", 2)[0], "_", "")
	for _, g := range groups {
		r := rule{syscalls: g.names, when: cond, action: action}
		if len(g.arches) != len(im.arches) {
			r.arch = g.arches
		}
		r.name = im.unique(word + "_" + g.names[0])
		im.origins[r.name] = s.Rng
		b.rules = append(b.rules, r)
	}
}

// unique makes name unused among the rules.
func (im *importer) unique(name string) string {
	n := name
	for i := 2; im.used[n]; i++ {
		n = fmt.Sprintf("%s_%d", name, i)
	}
	im.used[n] = true
	return n
}

// entryArches are the service's architectures the entry applies on:
// includes.arches and excludes.arches name the daemon's architecture.
func (im *importer) entryArches(s *Syscall) []*arch.Arch {
	in := func(list []Str, a *arch.Arch) bool {
		for _, x := range list {
			if x.V == nativeNames[a.Name] {
				return true
			}
		}
		return false
	}
	for _, f := range []*Filter{s.Includes, s.Excludes} {
		if f != nil {
			im.checkNatives(f.Arches)
		}
	}
	var out []*arch.Arch
	for _, a := range im.arches {
		if s.Includes != nil && len(s.Includes.Arches) > 0 && !in(s.Includes.Arches, a) {
			continue
		}
		if s.Excludes != nil && in(s.Excludes.Arches, a) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// checkNatives reports architecture names moby would never match.
func (im *importer) checkNatives(list []Str) {
	known := slices.Clone(otherNatives)
	for _, n := range nativeNames {
		known = append(known, n)
	}
	slices.Sort(known)
	for _, x := range list {
		if !slices.Contains(known, x.V) {
			im.errorf(x.Rng, "Unknown architecture",
				"%q is not an architecture name Docker compares with its own (amd64, arm64, x86, arm, riscv64, ppc64le, s390x, ...).%s",
				x.V, spelling.DidYouMean(x.V, known))
		}
	}
}

// kernelSkips decides minKernel: why the entry is left out, or "".
func (im *importer) kernelSkips(s *Syscall) string {
	check := func(f *Filter) (KernelVersion, bool) {
		if f == nil || f.MinKernel == nil {
			return KernelVersion{}, false
		}
		v, err := ParseKernel(f.MinKernel.V)
		if err != nil {
			im.errorf(f.MinKernel.Rng, "Invalid minKernel", "%s.", err)
			return v, false
		}
		return v, true
	}
	k := im.opt.Kernel
	if v, ok := check(s.Includes); ok && k != nil && !k.AtLeast(v) {
		return fmt.Sprintf("it needs kernel %s (includes.minKernel) and the import is for %d.%d.%d", s.Includes.MinKernel.V, k[0], k[1], k[2])
	}
	if v, ok := check(s.Excludes); ok && (k == nil || k.AtLeast(v)) {
		if k == nil {
			return fmt.Sprintf("it is for kernels before %s (excludes.minKernel) and the import is for the newest", s.Excludes.MinKernel.V)
		}
		return fmt.Sprintf("it is for kernels before %s (excludes.minKernel) and the import is for %d.%d.%d", s.Excludes.MinKernel.V, k[0], k[1], k[2])
	}
	return ""
}

// capTerms are the conditions on the capability variables: every
// capability of includes.caps held, none of excludes.caps.
func (im *importer) capTerms(s *Syscall) []string {
	var out []string
	for _, f := range []struct {
		filter *Filter
		neg    string
	}{{s.Includes, ""}, {s.Excludes, "!"}} {
		if f.filter == nil {
			continue
		}
		for _, c := range f.filter.Caps {
			if !slices.Contains(capabilities, c.V) {
				im.errorf(c.Rng, "Unknown capability", "%q is not a Linux capability (CAP_SYS_ADMIN, CAP_NET_ADMIN, ...).%s",
					c.V, spelling.DidYouMean(c.V, capabilities))
				continue
			}
			im.caps[c.V] = true
			out = append(out, f.neg+"var."+CapVariable(c.V))
		}
	}
	return out
}

// argTerms is the condition of args: the comparisons ANDed, or, when one
// argument is compared twice, ORed (runc adds each comparison as a rule
// of its own then); false on an error, reported.
func (im *importer) argTerms(s *Syscall) (string, bool) {
	var terms []string
	ok := true
	for _, a := range s.Args {
		op, known := scmpOps[a.Op.V]
		if !known {
			names := slices.Sorted(maps.Keys(scmpOps))
			im.errorf(a.Op.Rng, "Unknown comparison", "%q is not a comparison: they are %s.%s", a.Op.V, strings.Join(names, ", "), spelling.DidYouMean(a.Op.V, names))
			ok = false
			continue
		}
		arg := fmt.Sprintf("arg%d", a.Index.V)
		if op == "masked" {
			// libseccomp compares the masked argument with the masked
			// value: bits of valueTwo outside the mask count for nothing.
			terms = append(terms, fmt.Sprintf("masked(%s, %s) == %s", arg, number(a.Value.V), number(a.ValueTwo.V&a.Value.V)))
		} else {
			terms = append(terms, fmt.Sprintf("%s %s %s", arg, op, number(a.Value.V)))
		}
	}
	if len(terms) > 1 && hasRepeatedIndex(s.Args) {
		return "(" + strings.Join(terms, " || ") + ")", ok
	}
	return strings.Join(terms, " && "), ok
}

func hasRepeatedIndex(args []Arg) bool {
	seen := map[uint64]bool{}
	for _, a := range args {
		if seen[a.Index.V] {
			return true
		}
		seen[a.Index.V] = true
	}
	return false
}

// number writes a profile's value: a 64-bit sign extension of a 32-bit
// negative number as that number (fencer reads it in the argument's
// width), anything else in decimal.
func number(v uint64) string {
	if n := int64(v); n < 0 && n >= -1<<31 {
		return fmt.Sprint(n)
	}
	return fmt.Sprint(v)
}

func joinWhen(caps []string, args string) string {
	parts := slices.Clone(caps)
	if args != "" {
		parts = append(parts, args)
	}
	return strings.Join(parts, " && ")
}

// nameGroup is the names of an entry that exist on the same architectures.
type nameGroup struct {
	arches []string
	names  []string
}

// splitNames groups names by the architectures of arches they are
// syscalls on (a name that is another's alias there counts once), the
// group of every architecture first; unknown lists the names known on
// none.
func splitNames(names []Str, arches []*arch.Arch) (groups []nameGroup, unknown []string) {
	byKey := map[string]*nameGroup{}
	var keys []string
	seen := map[string]map[string]bool{}
	for _, a := range arches {
		seen[a.Name] = map[string]bool{}
	}
	for _, n := range names {
		var on []string
		known := false
		for _, a := range arches {
			canon, ok := a.Canonical(n.V)
			known = known || ok
			if !ok || seen[a.Name][canon] {
				continue
			}
			seen[a.Name][canon] = true
			on = append(on, a.Name)
		}
		if !known {
			if !slices.Contains(unknown, n.V) {
				unknown = append(unknown, n.V)
			}
			continue
		}
		if len(on) == 0 {
			continue // another name of the entry on each architecture
		}
		k := strings.Join(on, " ")
		if byKey[k] == nil {
			byKey[k] = &nameGroup{arches: on}
			keys = append(keys, k)
		}
		byKey[k].names = append(byKey[k].names, n.V)
	}
	sort.SliceStable(keys, func(i, j int) bool { return len(byKey[keys[i]].arches) > len(byKey[keys[j]].arches) })
	for _, k := range keys {
		groups = append(groups, *byKey[k])
	}
	return groups, unknown
}

// splitByArgNames splits each group further so that the arguments the
// entry compares mean the same on every architecture of a group (clone's
// arg0 is its flags on most and the stack on s390x): fencer refuses a
// rule whose argument differs by architecture, and the profile, as
// libseccomp, compares the register it names on each.
func splitByArgNames(groups []nameGroup, args []Arg) []nameGroup {
	if len(args) == 0 {
		return groups
	}
	var out []nameGroup
	for _, g := range groups {
		byKey := map[string]*nameGroup{}
		var keys []string
		for _, an := range g.arches {
			a, _ := arch.Lookup(an)
			var sig []string
			for _, n := range g.names {
				for _, x := range args {
					sig = append(sig, a.ArgName(n, int(x.Index.V)))
				}
			}
			k := strings.Join(sig, ",")
			if byKey[k] == nil {
				byKey[k] = &nameGroup{names: g.names}
				keys = append(keys, k)
			}
			byKey[k].arches = append(byKey[k].arches, an)
		}
		for _, k := range keys {
			out = append(out, *byKey[k])
		}
	}
	return out
}

func archList(arches []*arch.Arch) string {
	names := make([]string, len(arches))
	for i, a := range arches {
		names[i] = a.Name
	}
	return strings.Join(names, ", ")
}
