// Package resolve turns a service's policy, as hclspec parsed it, into
// what the kernel sees on one architecture: syscall names become numbers,
// constants and fds values, argument widths masks (Policy). It drives the
// compilation of that policy to a BPF program (Compile, CompileAll),
// resolves test blocks' calls (TestCall), merges the diagnostics of one
// mistake made on several architectures into one (MergeArches), and
// models what systemd's SystemCallFilter= enforces of a policy under
// enforce = "systemd" (SystemdPolicy). It reads no host: validate, test,
// show -bpf and export need nothing else, and the host planner (package
// plan) builds on it.
package resolve

import (
	"fmt"
	"math/bits"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/internal/spelling"
)

// Policy returns the policy of svc on a: the rules that apply to a, one
// per syscall they name, with conditions in numbers and argument widths
// applied as masks, and the exec-once gate where it applies. Every problem is a diagnostic on the range that caused
// it; the filter is nil when there is an error.
func Policy(svc *hclspec.Service, a *arch.Arch) (*policy.Filter, hcl.Diagnostics) {
	return policyOf(svc, a, false)
}

// ParametricPolicy is Policy with the service's fd numbers left open:
// each comparison with fd.NAME is one with parameter NAME
// (policy.Cmp.Param), whose value is the fd's number. An fd anywhere
// else (a mask, has_bits, bitor) is an error: its value would change
// what the comparison is, not only what it compares with. It is the
// policy of a program that installs the filter itself (fencer export c),
// which fencer's loader does not exec: it has no exec-once gate, and
// execve gets what the rules and default_action say.
func ParametricPolicy(svc *hclspec.Service, a *arch.Arch) (*policy.Filter, hcl.Diagnostics) {
	return policyOf(svc, a, true)
}

func policyOf(svc *hclspec.Service, a *arch.Arch, params bool) (*policy.Filter, hcl.Diagnostics) {
	r := resolver{svc: svc, arch: a, params: params}
	def := r.action(svc.DefaultAction)
	f := &policy.Filter{
		Service:   svc.Name,
		Arch:      a.Name,
		AuditArch: a.Audit,
		Order:     a.Order,
		X32:       a.X32,
		Default:   def,
	}
	for _, rule := range svc.Rules {
		if !AppliesTo(rule.Arch, a) {
			continue
		}
		r.rule = rule
		act := r.action(rule.Action)
		for _, ref := range rule.Syscalls {
			nr, ok := r.syscall(ref, rule.Arch)
			if !ok {
				continue
			}
			r.unfiltered(ref)
			var when policy.Expr = policy.Const(true)
			if rule.When != nil {
				r.cloneOrder(rule, ref)
				when = r.cond(rule.When, ref.Name)
			}
			f.Rules = append(f.Rules, policy.Rule{
				Name:    rule.Name,
				Syscall: ref.Name,
				Nr:      uint32(nr),
				When:    when,
				Action:  act,
			})
		}
	}
	if r.diags.HasErrors() {
		return nil, r.diags
	}
	if !params {
		// An exported program is installed by the program itself,
		// which no loader execs afterwards.
		execOnceGate(svc, a, f)
	}
	return f, r.diags
}

// AppliesTo reports whether a rule or test narrowed to list applies on a.
func AppliesTo(list []string, a *arch.Arch) bool {
	if list == nil {
		return true
	}
	for _, n := range list {
		if n == a.Name {
			return true
		}
	}
	return false
}

type resolver struct {
	svc  *hclspec.Service
	arch *arch.Arch
	// rule is the rule being resolved, nil for a test.
	rule  *hclspec.Rule
	diags hcl.Diagnostics
	// params leaves fd numbers open (ParametricPolicy).
	params bool
}

func (r *resolver) errorf(rng hcl.Range, summary, detail string, args ...any) {
	rng2 := rng
	r.diags = append(r.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(detail, args...),
		Subject:  &rng2,
		// The architecture lets MergeArches merge the same mistake seen on
		// several architectures into one diagnostic.
		Extra: archOf{r.arch.Name},
	})
}

// syscall returns the number of ref on the resolver's architecture, or a
// diagnostic naming the architecture and the syscall to use instead.
func (r *resolver) syscall(ref hclspec.SyscallRef, ruleArch []string) (int, bool) {
	if nr, ok := r.arch.Syscall(ref.Name); ok {
		return nr, true
	}
	via := ""
	if ref.Set != "" {
		via = fmt.Sprintf(" (from syscall_set %q)", ref.Set)
	}
	if !existsAnywhere(ref.Name) {
		detail := fmt.Sprintf("No architecture fencer supports has a syscall named %q%s.", ref.Name, via)
		if s := spelling.Nearest(ref.Name, allSyscallNames()); s != "" {
			detail += fmt.Sprintf(" Did you mean %q?", s)
		}
		r.errorf(ref.Range, "Unknown syscall", "%s", detail)
		return 0, false
	}
	detail := fmt.Sprintf("The syscall %q%s does not exist on %s, which this service is planned for.", ref.Name, via, r.arch.Name)
	if alt, ok := r.arch.Replacement(ref.Name); ok {
		detail += fmt.Sprintf(" On %s use %q instead, in a rule with arch = [%q].", r.arch.Name, alt, r.arch.Name)
	}
	if ruleArch == nil {
		detail += fmt.Sprintf(" To keep %q for the architectures that have it, give the rule an arch list without %s", ref.Name, r.arch.Name)
		if r.svc.Arch == nil {
			detail += ", or the service an arch list of the architectures it runs on (arch = [...] in its service block)"
		}
		detail += "."
	}
	r.errorf(ref.Range, fmt.Sprintf("Syscall %q does not exist on %s", ref.Name, r.arch.Name), "%s", detail)
	return 0, false
}

// neverFiltered lists syscalls the kernel runs no seccomp filter for
// (kernel/seccomp.c, seccomp_uprobe_exception): on x86_64, uretprobe since
// Linux 6.14 and uprobe since 6.18. A rule about them changes nothing.
var neverFiltered = map[string]map[string]bool{
	"x86_64": {"uretprobe": true, "uprobe": true},
}

// unfiltered warns about a rule naming a syscall no filter ever sees.
func (r *resolver) unfiltered(ref hclspec.SyscallRef) {
	if !neverFiltered[r.arch.Name][ref.Name] {
		return
	}
	rng := ref.Range
	r.diags = append(r.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  fmt.Sprintf("The kernel does not filter %s", ref.Name),
		Detail: fmt.Sprintf("Linux runs no seccomp filter for %s on %s (since 6.14 for uretprobe, 6.18 for uprobe): "+
			"the call is always allowed, whatever this rule says.", ref.Name, r.arch.Name),
		Subject: &rng,
		Extra:   archOf{r.arch.Name},
	})
}

// cloneArgs names clone's arguments in each of the kernel's orders.
var cloneArgs = map[string][5]string{
	"default":    {"flags", "newsp", "parent_tid", "child_tid", "tls"},
	"backwards":  {"flags", "newsp", "parent_tid", "tls", "child_tid"},
	"backwards2": {"newsp", "flags", "parent_tid", "child_tid", "tls"},
}

// cloneOrder returns which argument order clone has on an architecture
// (CONFIG_CLONE_BACKWARDS*).
func cloneOrder(a string) string {
	switch a {
	case "x86_64":
		return "default"
	case "s390x":
		return "backwards2"
	}
	return "backwards"
}

// cloneOrder refuses a condition on a clone argument whose meaning differs
// between the architectures the rule applies to: on s390x arg0 is the
// stack pointer and arg1 the flags; elsewhere tls and child_tid swap.
func (r *resolver) cloneOrder(rule *hclspec.Rule, ref hclspec.SyscallRef) {
	if ref.Name != "clone" {
		return
	}
	var arches []string
	for _, a := range arch.Names() {
		if (rule.Arch == nil || contains(rule.Arch, a)) && (r.svc.Arch == nil || contains(r.svc.Arch, a)) {
			arches = append(arches, a)
		}
	}
	for _, arg := range condArgs(rule.When, nil) {
		if arg > 4 {
			continue
		}
		meanings := map[string][]string{}
		for _, a := range arches {
			m := cloneArgs[cloneOrder(a)][arg]
			meanings[m] = append(meanings[m], a)
		}
		if len(meanings) < 2 {
			continue
		}
		var parts []string
		for _, m := range []string{"flags", "newsp", "parent_tid", "child_tid", "tls"} {
			if as, ok := meanings[m]; ok {
				parts = append(parts, fmt.Sprintf("%s on %s", m, strings.Join(as, ", ")))
			}
		}
		r.errorf(rule.When.Range(), "clone's arguments differ by architecture",
			"arg%d of clone is %s. Give this rule an arch list of architectures that agree, and write a rule for the others "+
				"(on s390x clone's flags are arg1).", arg, strings.Join(parts, "; "))
		return
	}
}

// condArgs lists the arguments a condition mentions.
func condArgs(c hclspec.Cond, out []int) []int {
	switch x := c.(type) {
	case hclspec.And:
		for _, y := range x.Xs {
			out = condArgs(y, out)
		}
	case hclspec.Or:
		for _, y := range x.Xs {
			out = condArgs(y, out)
		}
	case hclspec.Not:
		out = condArgs(x.X, out)
	case hclspec.Compare:
		out = append(out, x.Arg)
	case hclspec.Contains:
		out = append(out, x.Arg)
	case hclspec.HasBits:
		out = append(out, x.Arg)
	}
	return out
}

var syscallUniverse []string

// allSyscallNames is every syscall name of every architecture, sorted.
func allSyscallNames() []string {
	if syscallUniverse == nil {
		seen := map[string]bool{}
		for _, a := range arch.All() {
			for _, n := range a.SyscallNames() {
				seen[n] = true
			}
		}
		for n := range seen {
			syscallUniverse = append(syscallUniverse, n)
		}
		sort.Strings(syscallUniverse)
	}
	return syscallUniverse
}

func existsAnywhere(name string) bool {
	i := sort.SearchStrings(allSyscallNames(), name)
	return i < len(syscallUniverse) && syscallUniverse[i] == name
}

// action resolves an action; errno and trap data are checked against what
// the kernel passes back.
func (r *resolver) action(spec hclspec.ActionSpec) policy.Action {
	act := policy.Action{Kind: spec.Kind}
	if spec.Errno == nil {
		if spec.Kind == policy.Errno {
			r.errorf(spec.Range, "Missing errno", "errno(...) needs an errno name or number, such as errno(EPERM).")
		}
		return act
	}
	v, ok := r.value(spec.Errno, 64)
	if !ok {
		return act
	}
	limit := uint64(policy.MaxErrno)
	if spec.Kind == policy.Trap {
		limit = 0xffff
	}
	if v > limit {
		r.errorf(spec.Errno.Range(), "Value out of range", "%s data must be between 0 and %d; this is %d.", kindName(spec.Kind), limit, v)
		return act
	}
	act.Data = uint16(v)
	return act
}

func kindName(k policy.ActionKind) string {
	s := policy.Action{Kind: k}.String()
	if i := strings.IndexByte(s, '('); i >= 0 {
		s = s[:i]
	}
	return s
}

// width returns the mask of the bits the kernel reads of argument arg of
// syscall on the resolver's architecture.
func (r *resolver) width(syscall string, arg int) uint64 {
	w, _ := r.arch.ArgWidth(syscall, arg)
	return arch.WidthMask(w)
}

// cond resolves a condition for one syscall.
func (r *resolver) cond(c hclspec.Cond, syscall string) policy.Expr {
	return r.condIn(c, syscall, nil)
}

// condIn resolves a condition whose context fixes the arguments in p (see
// pins in widths.go).
func (r *resolver) condIn(c hclspec.Cond, syscall string, p pins) policy.Expr {
	switch x := c.(type) {
	case hclspec.BoolLit:
		return policy.Const(x.V)
	case hclspec.And:
		inner := r.pinsOf(x.Xs, syscall, p)
		out := make(policy.And, 0, len(x.Xs))
		for _, y := range x.Xs {
			out = append(out, r.condIn(y, syscall, inner))
		}
		return out
	case hclspec.Or:
		out := make(policy.Or, 0, len(x.Xs))
		for _, y := range x.Xs {
			out = append(out, r.condIn(y, syscall, p))
		}
		return out
	case hclspec.Not:
		return policy.Not{X: r.condIn(x.X, syscall, p)}
	case hclspec.Compare:
		return r.resolveAtom(atom{arg: x.Arg, mask: x.Mask, rng: x.Rng, isCmp: true, op: x.Op, v: x.V}, syscall, p)
	case hclspec.Contains:
		return r.resolveAtom(atom{arg: x.Arg, mask: x.Mask, rng: x.Rng, list: x.List}, syscall, p)
	case hclspec.HasBits:
		return r.resolveAtom(atom{arg: x.Arg, rng: x.Rng, bits: x.Mask}, syscall, p)
	}
	r.errorf(c.Range(), "Unsupported condition", "fencer cannot compile this condition (%T).", c)
	return policy.Const(false)
}

// decided warns about a comparison whose outcome the mask decides
// whatever the argument (policy.Cmp.Decided): almost always a mistake in
// the mask or value. It catches every such comparison, so package lint
// leaves single comparisons to it.
func (r *resolver) decided(c policy.Cmp, rng hcl.Range) {
	always, ok := c.Decided()
	if !ok || c.Param != "" {
		return
	}
	r.diags = append(r.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  "Comparison decided by its mask",
		Detail: fmt.Sprintf("With the bits of arg%d that are compared (mask %#x), this comparison with %#x is always %v, whatever the call passes. Check the mask and the value.",
			c.Arg, c.Mask, c.Value, always),
		Subject: &rng,
		Extra:   archOf{r.arch.Name},
	})
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// fits reports a value with bits the argument does not have.
func (r *resolver) fits(v uint64, rng hcl.Range, arg int, syscall string) {
	wm := r.width(syscall, arg)
	if v&^wm != 0 {
		r.errorf(rng, "Value wider than the argument",
			"arg%d of %s is %d bits wide on %s and %#x does not fit in it. Use a value below %#x (-1 means all %d bits set).",
			arg, syscall, bits.OnesCount64(wm), r.arch.Name, v, wm+1, bits.OnesCount64(wm))
	}
}

// value resolves a number for an argument of width bits: negative numbers
// are two's complement in that width.
func (r *resolver) value(v hclspec.Value, width int) (uint64, bool) {
	if !r.checkValue(v, width) {
		return 0, false
	}
	return r.valueAt(v, width)
}

// checkValue reports, with a diagnostic, what keeps v from being a value
// of an argument of width bits: a negative number below its signed range,
// an unknown constant or fd.
func (r *resolver) checkValue(v hclspec.Value, width int) bool {
	switch x := v.(type) {
	case hclspec.Number:
		if x.Neg && x.Abs > uint64(1)<<(width-1) {
			r.errorf(x.Rng, "Negative value out of range", "-%d does not fit a signed %d-bit argument.", x.Abs, width)
			return false
		}
		return true
	case hclspec.ConstRef:
		if _, ok := r.arch.Const(x.Name); ok {
			return true
		}
		detail := fmt.Sprintf("There is no constant named %s on %s.", x.Name, r.arch.Name)
		if s := spelling.Nearest(x.Name, r.arch.ConstNames()); s != "" {
			detail += fmt.Sprintf(" Did you mean %s?", s)
		}
		if strings.HasPrefix(x.Name, "_") {
			detail += fmt.Sprintf(" Of the kernel's names with leading underscores, fencer knows %s: the others may mean something else than the name without them (__O_TMPFILE is not O_TMPFILE).",
				strings.Join(arch.UnderscoreNames(), ", "))
		}
		r.errorf(x.Rng, "Unknown constant", "%s", detail)
		return false
	case hclspec.FdRef:
		for _, fd := range r.svc.Fds {
			if fd.Name == x.Name {
				return true
			}
		}
		r.errorf(x.Rng, "Unknown fd", "Service %q has no fd %q.", r.svc.Name, x.Name)
		return false
	case hclspec.SizeOf:
		if _, ok := r.arch.StructSize(x.Type); ok {
			return true
		}
		r.errorf(x.Rng, "Unknown struct", "fencer knows no size of %s on %s.", x.Type, r.arch.Name)
		return false
	case hclspec.BitOr:
		ok := true
		for _, y := range x.Xs {
			ok = r.checkValue(y, width) && ok
		}
		return ok
	}
	r.errorf(v.Range(), "Unsupported value", "fencer cannot resolve this value (%T).", v)
	return false
}
