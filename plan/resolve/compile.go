package resolve

import (
	"errors"
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/compile"
	"github.com/fencer-dev/fencer/internal/policy"
)

// Compiled is one service's filter on one architecture.
type Compiled struct {
	Service *hclspec.Service
	Arch    *arch.Arch
	// Filter is the policy's meaning as it is enforced: with enforce =
	// "systemd", what systemd's SystemCallFilter= does with it (every
	// rule unconditional, see SystemdPolicy), which Program compiles so
	// that fencer test and show tell what the service gets.
	Filter  *policy.Filter
	Program bpf.Program
	Stats   compile.Stats
	// Systemd is the policy under enforce = "systemd", nil otherwise.
	Systemd *SystemdPolicy
	// Parametric is, from CompileParametric, the program with the fd
	// numbers left open, which Program fills with the fds' own; nil
	// from Compile. Filter then has the fds as parameters.
	Parametric *compile.Parametric
}

// Arches returns the architectures svc is compiled, tested, linted,
// shown and exported for without contacting any host, in arch.All's
// order: those its hosts declare when every one of them declares one,
// otherwise every supported architecture; narrowed to the service's arch
// list when it has one, and to only when only is not empty. It is the one
// answer to "which architectures is this service for"; plan, which knows
// each host's, refuses a host whose architecture the service's arch list
// leaves out (AppliesTo).
func Arches(cfg *hclspec.Config, svc *hclspec.Service, only []string) []*arch.Arch {
	hosts := cfg.ServiceHosts(svc)
	declared := map[string]bool{}
	all := len(hosts) == 0
	for _, h := range hosts {
		if h.Arch == "" {
			all = true
			break
		}
		declared[h.Arch] = true
	}
	var out []*arch.Arch
	for _, a := range arch.All() {
		if !all && !declared[a.Name] {
			continue
		}
		if !AppliesTo(svc.Arch, a) {
			continue
		}
		if len(only) > 0 && !contains(only, a.Name) {
			continue
		}
		out = append(out, a)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Compile resolves and compiles svc for a.
func Compile(svc *hclspec.Service, a *arch.Arch) (*Compiled, hcl.Diagnostics) {
	return compileService(svc, a, false)
}

// CompileParametric is Compile with the service's fd numbers left open
// (ParametricPolicy, compile.CompileParametric): Compiled.Parametric is
// one program for every number of the fds, and Program that program
// for their numbers in the configuration. It is not the program Compile
// gives, which may check neighbouring fd numbers as a range and reason
// about their values, and has the loader's exec-once gate: it is for a
// program that installs the filter itself (ParametricPolicy).
func CompileParametric(svc *hclspec.Service, a *arch.Arch) (*Compiled, hcl.Diagnostics) {
	return compileService(svc, a, true)
}

// FdNumbers are the numbers of svc's fds in the configuration, by name.
func FdNumbers(svc *hclspec.Service) map[string]uint32 {
	out := make(map[string]uint32, len(svc.Fds))
	for _, fd := range svc.Fds {
		out[fd.Name] = uint32(fd.Number)
	}
	return out
}

func compileService(svc *hclspec.Service, a *arch.Arch, params bool) (*Compiled, hcl.Diagnostics) {
	f, diags := policyOf(svc, a, params)
	if diags.HasErrors() {
		return nil, diags
	}
	if !params {
		diags = append(diags, execOnceLints(svc, a, f)...) // about the loader's execve
	}
	if diags.HasErrors() {
		return nil, diags
	}
	var sp *SystemdPolicy
	if svc.Enforce == hclspec.EnforceSystemd {
		var more hcl.Diagnostics
		sp, f, more = systemdModel(svc, f, a)
		diags = append(diags, more...)
		if diags.HasErrors() {
			return nil, diags
		}
	}
	prog, pp, st, err := compileFilter(svc, f, params)
	if err != nil {
		var long *compile.TooLongError
		summary, detail := "Filter does not compile", err.Error()
		rng := svc.DeclRange
		if errors.As(err, &long) {
			summary = "Filter too long"
			if rule := largestRule(svc, long); rule != nil {
				rng = rule.DeclRange
			}
		}
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  summary,
			Detail:   detail,
			Subject:  &rng,
			Extra:    archOf{a.Name},
		})
	}
	return &Compiled{Service: svc, Arch: a, Filter: f, Program: prog, Stats: st, Systemd: sp, Parametric: pp}, diags
}

// compileFilter compiles f, the policy of svc, with its fds left open
// when params is set.
func compileFilter(svc *hclspec.Service, f *policy.Filter, params bool) (bpf.Program, *compile.Parametric, compile.Stats, error) {
	if !params {
		prog, st, err := compile.Compile(f)
		return prog, nil, st, err
	}
	pp, st, err := compile.CompileParametric(f)
	if err != nil {
		return nil, nil, st, err
	}
	prog, err := pp.Fill(FdNumbers(svc))
	return prog, pp, st, err
}

// CompileAll compiles every service for every architecture it is checked
// for (narrowed to only when given), in a stable order: services as
// declared, architectures in arch.All's order.
func CompileAll(cfg *hclspec.Config, only []string) ([]*Compiled, hcl.Diagnostics) {
	var out []*Compiled
	var diags hcl.Diagnostics
	for _, svc := range cfg.Services {
		for _, a := range Arches(cfg, svc, only) {
			c, d := Compile(svc, a)
			diags = append(diags, d...)
			if c != nil {
				out = append(out, c)
			}
		}
	}
	return out, MergeArches(diags)
}

// Find returns the compiled filter of the named service on the named
// architecture.
func Find(all []*Compiled, service, archName string) (*Compiled, error) {
	var names []string
	for _, c := range all {
		if c.Service.Name == service && c.Arch.Name == archName {
			return c, nil
		}
		if c.Service.Name == service {
			names = append(names, c.Arch.Name)
		}
	}
	if names == nil {
		return nil, fmt.Errorf("no service %q in the configuration", service)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("service %q is not planned for %s; it is for %v", service, archName, names)
}

// largestRule is the rule of svc whose conditions take the most
// instructions in a program too long, which the error names first.
func largestRule(svc *hclspec.Service, long *compile.TooLongError) *hclspec.Rule {
	if len(long.Largest) == 0 {
		return nil
	}
	for _, r := range svc.Rules {
		if r.Name == long.Largest[0].Rule {
			return r
		}
	}
	return nil
}

// Disassemble returns the compiled program disassembled, one instruction
// a line (bpf.Disassemble), with notes naming the syscalls the dispatch
// compares with and the exec-once gate's return.
func (c *Compiled) Disassemble() string {
	return bpf.Disassemble(c.Program, c.Arch.Order, c.Notes())
}

// Notes is the note function Disassemble gives bpf.Disassemble.
func (c *Compiled) Notes() func(pc int, in bpf.Insn) string {
	return annotate(c.Program, c.Arch)
}

// numberJumps returns the pcs of the jeq that compare the syscall number:
// those control reaches from `ld [0]` without another load. (In a long
// program the dispatch's code and the syscalls' blocks alternate.)
func numberJumps(p bpf.Program) map[int]bool {
	out := map[int]bool{}
	seen := map[int]bool{}
	var todo []int
	for pc, in := range p {
		if in.Code == bpf.ClassLD|bpf.SizeW|bpf.ModeABS && in.K == bpf.OffNr {
			todo = append(todo, pc+1)
		}
	}
	for len(todo) > 0 {
		pc := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if pc >= len(p) || seen[pc] {
			continue
		}
		seen[pc] = true
		switch in := p[pc]; {
		case in.Code == bpf.ClassJMP|bpf.JmpJA:
			todo = append(todo, pc+1+int(in.K))
		case in.Code&0x07 == bpf.ClassJMP:
			if in.Code == bpf.ClassJMP|bpf.JmpJEQ|bpf.SrcK {
				out[pc] = true
			}
			todo = append(todo, pc+1+int(in.Jt), pc+1+int(in.Jf))
		}
	}
	return out
}

// annotate returns a note function for bpf.Disassemble that names the
// syscalls the dispatch compares with, and the exec-once gate's return.
func annotate(p bpf.Program, a *arch.Arch) func(pc int, in bpf.Insn) string {
	nrPCs := numberJumps(p)
	return func(pc int, in bpf.Insn) string {
		if in.Code == bpf.ClassRET|bpf.RetK && in.K == bpf.RetUserNotif {
			// fencer returns USER_NOTIF only for the exec-once gate.
			return "USER_NOTIF: exec once"
		}
		if !nrPCs[pc] {
			return ""
		}
		if n, ok := a.SyscallName(int(in.K)); ok {
			return n
		}
		return ""
	}
}
