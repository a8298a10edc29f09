package resolve

// Exec once: the gate on execve for services the loader starts, and the
// lints about it. See "Exec once" in docs/language.md.

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/policy"
)

// execOnceGate sets f.ExecOnce to execve's number on a when the service's
// execve goes through the exec-once gate: the loader starts it (enforce =
// "exec"), no rule names execve on a, and default_action does not let
// execve through anyway (log does).
func execOnceGate(svc *hclspec.Service, a *arch.Arch, f *policy.Filter) {
	if svc.Enforce != hclspec.EnforceExec || passes(f.Default) {
		return
	}
	nr, ok := a.Syscall("execve")
	if !ok {
		return
	}
	for _, r := range f.Rules {
		if r.Nr == uint32(nr) {
			return
		}
	}
	f.ExecOnce = []uint32{uint32(nr)}
}

// passes reports whether an action lets the call run.
func passes(a policy.Action) bool { return a.Kind == policy.Allow || a.Kind == policy.Log }

// tri is a condition's value when some arguments are unknown.
type tri uint8

const (
	triFalse tri = iota
	triTrue
	triUnknown
)

// known holds the arguments whose values are known; the others may be
// anything.
type known struct {
	set  [6]bool
	vals [6]uint64
}

// eval decides e for every value of the unknown arguments: triTrue when it
// holds for all of them, triFalse when for none, triUnknown otherwise (or
// when it cannot tell: the answer is safe, not always exact).
func (k *known) eval(e policy.Expr) tri {
	switch x := e.(type) {
	case policy.Const:
		if x {
			return triTrue
		}
		return triFalse
	case policy.Not:
		switch k.eval(x.X) {
		case triTrue:
			return triFalse
		case triFalse:
			return triTrue
		}
		return triUnknown
	case policy.And:
		out := triTrue
		for _, y := range x {
			switch k.eval(y) {
			case triFalse:
				return triFalse
			case triUnknown:
				out = triUnknown
			}
		}
		return out
	case policy.Or:
		out := triFalse
		for _, y := range x {
			switch k.eval(y) {
			case triTrue:
				return triTrue
			case triUnknown:
				out = triUnknown
			}
		}
		return out
	case policy.Cmp:
		if k.set[x.Arg] {
			if policy.Eval(x, &k.vals) {
				return triTrue
			}
			return triFalse
		}
		return cmpUnknown(x)
	}
	panic(fmt.Sprintf("resolve: unknown condition %T", e))
}

// cmpUnknown decides a comparison of an argument that may hold any value:
// only where the mask decides it (policy.Cmp.Decided).
func cmpUnknown(c policy.Cmp) tri {
	always, ok := c.Decided()
	switch {
	case !ok:
		return triUnknown
	case always:
		return triTrue
	}
	return triFalse
}

// outcome is what a policy may do with a call some of whose arguments are
// unknown.
type outcome struct {
	// never: the call never passes; always: it always does.
	never, always bool
	// denier is a rule that refuses the call whatever the unknown
	// arguments, decider one whose verdict depends on them, passer one that
	// may let it through; nil when there is none.
	denier, decider, passer *policy.Rule
}

// callOutcome decides the syscall nr under f for the arguments k knows.
func callOutcome(f *policy.Filter, nr uint32, k *known) outcome {
	var o outcome
	denyPossible, passCertain, passPossible := false, passes(f.Default), passes(f.Default)
	for i := range f.Rules {
		r := &f.Rules[i]
		if r.Nr != nr {
			continue
		}
		t := k.eval(r.When)
		if t == triFalse {
			continue
		}
		if t == triUnknown && o.decider == nil {
			o.decider = r
		}
		if passes(r.Action) {
			passPossible = true
			passCertain = passCertain || t == triTrue
			if o.passer == nil {
				o.passer = r
			}
			continue
		}
		denyPossible = true
		if t == triTrue && o.denier == nil {
			o.denier = r
		}
	}
	o.never = o.denier != nil || !passPossible
	o.always = !denyPossible && passCertain
	return o
}

// execOnceLints returns the diagnostics about exec for a service the loader
// starts, on a:
//
//   - an error when the loader's own execve can never pass the filter (a
//     rule names execve and kills or fails it, or only allows it under a
//     condition that never holds): the service could never start;
//   - a warning when it may or may not pass: rules decide execve by its
//     arguments, which for the loader's execve are pointers no one knows in
//     advance;
//   - with the exec-once gate, a warning for each rule that lets the service
//     around it: one that may allow execveat, and one that may allow
//     seccomp(SECCOMP_SET_MODE_FILTER) with SECCOMP_FILTER_FLAG_NEW_LISTENER,
//     with which the service could answer its own execve.
func execOnceLints(svc *hclspec.Service, a *arch.Arch, f *policy.Filter) hcl.Diagnostics {
	if svc.Enforce != hclspec.EnforceExec {
		return nil
	}
	l := execLinter{svc: svc, a: a, f: f}
	if len(f.ExecOnce) > 0 {
		l.execveat()
		l.newListener()
		return l.diags
	}
	l.loaderExecve()
	return l.diags
}

type execLinter struct {
	svc   *hclspec.Service
	a     *arch.Arch
	f     *policy.Filter
	diags hcl.Diagnostics
}

// at returns where a rule names syscall (the element of its syscalls list)
// and the rule as written.
func (l *execLinter) at(rule, syscall string) (*hclspec.Rule, hcl.Range) {
	for _, r := range l.svc.Rules {
		if r.Name != rule {
			continue
		}
		for _, ref := range r.Syscalls {
			if ref.Name == syscall {
				return r, ref.Range
			}
		}
		return r, r.DeclRange
	}
	return nil, l.svc.DeclRange
}

func (l *execLinter) add(sev hcl.DiagnosticSeverity, rng hcl.Range, summary, detail string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: sev,
		Summary:  summary,
		Detail:   fmt.Sprintf(detail, args...),
		Subject:  &rng,
		Extra:    archOf{l.a.Name},
	})
}

// execOnceHint is the fix the execve diagnostics propose.
const execOnceHint = "Remove execve from the rule, and from every other rule, to get exec once: " +
	"fencer then lets the loader's own execve through and every later execve of the service fails with ENOSYS " +
	"(docs/language.md, \"Exec once\"); or allow execve without a condition if the service may run other programs."

// loaderExecve checks that the loader's execve, whose arguments are
// pointers, passes the rules that name execve.
func (l *execLinter) loaderExecve() {
	nr, ok := l.a.Syscall("execve")
	if !ok {
		return
	}
	o := callOutcome(l.f, uint32(nr), &known{})
	switch {
	case o.always:
		return
	case o.denier != nil:
		_, rng := l.at(o.denier.Name, o.denier.Syscall)
		l.add(hcl.DiagError, rng, "The loader can never exec the service",
			"Rule %q gives execve %v on %s, but the service is started by \"fencer exec\", which installs the filter and then execs the service under it: "+
				"the service could never start. %s", o.denier.Name, o.denier.Action, l.a.Name, execOnceHint)
	case o.never:
		// Rules name execve, but none can allow the loader's.
		first := l.firstRule(uint32(nr))
		_, rng := l.at(first.Name, first.Syscall)
		l.add(hcl.DiagError, rng, "The loader can never exec the service",
			"No rule allows execve on %s for the loader's execve (rule %q names it, but the call would get %v or a denying rule's action), "+
				"and the service is started by \"fencer exec\", which execs it under the filter: the service could never start. %s",
			l.a.Name, first.Name, l.f.Default, execOnceHint)
	default:
		r := o.decider
		_, rng := l.at(r.Name, r.Syscall)
		l.add(hcl.DiagWarning, rng, "The loader's execve may be refused",
			"Rule %q decides execve on %s by its arguments, and the loader's execve of the service passes pointers (the path, argv and envp) "+
				"whose values cannot be known in advance: the service may fail to start, now or after any change. %s", r.Name, l.a.Name, execOnceHint)
	}
}

// firstRule is the first rule for syscall number nr.
func (l *execLinter) firstRule(nr uint32) *policy.Rule {
	for i := range l.f.Rules {
		if l.f.Rules[i].Nr == nr {
			return &l.f.Rules[i]
		}
	}
	return nil
}

// execveat warns about a rule that may allow execveat past the gate.
func (l *execLinter) execveat() {
	nr, ok := l.a.Syscall("execveat")
	if !ok {
		return
	}
	o := callOutcome(l.f, uint32(nr), &known{})
	if o.never || o.passer == nil {
		return
	}
	_, rng := l.at(o.passer.Name, o.passer.Syscall)
	l.add(hcl.DiagWarning, rng, "execveat runs programs past exec once",
		"Rule %q allows execveat on %s, so the service can still run other programs after it started (execveat(AT_FDCWD, \"/bin/sh\", ...), "+
			"or a file it wrote, through its fd with AT_EMPTY_PATH): exec once stops execve only. "+
			"Remove execveat from the rule unless the service must run programs; then allow execve too, to say so.", o.passer.Name, l.a.Name)
}

// newListenerFlags are the flag sets of seccomp(SECCOMP_SET_MODE_FILTER)
// that ask for a notification listener: SECCOMP_FILTER_FLAG_NEW_LISTENER
// with each combination of the other flags the kernel knows.
func newListenerFlags() []uint64 {
	var out []uint64
	for other := uint64(0); other < 64; other++ {
		if other&0x8 == 0 {
			out = append(out, other|0x8)
		}
	}
	return out
}

// newListener warns about a rule that may allow the service to install a
// seccomp filter with a listener of its own. Of several filters returning
// SECCOMP_RET_USER_NOTIF the kernel asks the newest one's listener, so a
// service could send its execve to a listener it answers itself, which
// would let it through.
func (l *execLinter) newListener() {
	nr, ok := l.a.Syscall("seccomp")
	if !ok {
		return
	}
	// The kernel reads op and flags as unsigned int: a high half of junk
	// changes nothing for it, and must not for the verdict either.
	for _, flags := range newListenerFlags() {
		for _, junk := range []uint64{0, 0xffffffff00000000} {
			k := &known{}
			k.set[0], k.vals[0] = true, 1|junk // SECCOMP_SET_MODE_FILTER
			k.set[1], k.vals[1] = true, flags|junk
			o := callOutcome(l.f, uint32(nr), k)
			if o.never || o.passer == nil {
				continue
			}
			_, rng := l.at(o.passer.Name, o.passer.Syscall)
			l.add(hcl.DiagWarning, rng, "A filter of the service's own can answer its execve",
				"Rule %q allows seccomp(SECCOMP_SET_MODE_FILTER, %#x, ...) on %s, with SECCOMP_FILTER_FLAG_NEW_LISTENER: the service could install a filter "+
					"that sends execve to a listener of its own and answer it \"continue\", and the kernel asks the newest filter's listener, "+
					"not fencer's exec-once gate. Add `!has_bits(arg1, SECCOMP_FILTER_FLAG_NEW_LISTENER)` to the rule's condition.",
				o.passer.Name, flags, l.a.Name)
			return
		}
	}
}
