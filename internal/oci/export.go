package oci

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/clauses"
	"github.com/fencer-dev/fencer/internal/policy"
)

// ExportOptions say how Export writes what a profile cannot say exactly.
type ExportOptions struct {
	// AllowExec writes exec once (execve's verdict when no rule names it)
	// as SCMP_ACT_ALLOW: the runtime execs the container's program under
	// the filter, which must allow it, and cannot tell later execs apart.
	AllowExec bool
}

// ExportError is a policy a profile cannot say: Syscall is the syscall
// at fault ("" for the default action) on Arch.
type ExportError struct {
	Syscall string
	Arch    string
	Msg     string
}

func (e *ExportError) Error() string {
	if e.Syscall == "" {
		return fmt.Sprintf("the default action on %s: %s", e.Arch, e.Msg)
	}
	return fmt.Sprintf("syscall %s on %s: %s", e.Syscall, e.Arch, e.Msg)
}

// The profile as written, in the runtime spec's and moby's field names.
type exportProfile struct {
	DefaultAction   string          `json:"defaultAction"`
	DefaultErrnoRet *uint64         `json:"defaultErrnoRet,omitempty"`
	Architectures   []string        `json:"architectures,omitempty"`
	ArchMap         []exportArchMap `json:"archMap,omitempty"`
	Syscalls        []exportSyscall `json:"syscalls"`
}

type exportArchMap struct {
	Architecture     string   `json:"architecture"`
	SubArchitectures []string `json:"subArchitectures"`
}

type exportSyscall struct {
	Names    []string       `json:"names"`
	Action   string         `json:"action"`
	ErrnoRet *uint64        `json:"errnoRet,omitempty"`
	Args     []exportArg    `json:"args,omitempty"`
	Includes *exportInclude `json:"includes,omitempty"`
}

type exportArg struct {
	Index    int    `json:"index"`
	Value    uint64 `json:"value"`
	ValueTwo uint64 `json:"valueTwo"`
	Op       string `json:"op"`
}

type exportInclude struct {
	Arches []string `json:"arches"`
}

// Export writes the filters of one service (one per architecture, all
// with the same default action) as a profile Docker and podman load:
// the default action; with one architecture, architectures naming it,
// with several an archMap entry for each (the daemon's own ABI only: a
// syscall through another is refused, as fencer kills it), and the
// entries a syscall has only on some architectures under
// includes.arches; per syscall and action, an entry for each alternative
// of its condition, at most one comparison per argument (runc adds the
// comparisons of an argument named twice as alternatives), a comparison
// of a 32-bit argument as masked equalities of its low word, so that
// junk in the high half, which the kernel ignores, decides nothing.
func Export(filters []*policy.Filter, opt ExportOptions) ([]byte, error) {
	if len(filters) == 0 {
		return nil, fmt.Errorf("no architecture to export")
	}
	p := exportProfile{Syscalls: []exportSyscall{}}
	act, errno, err := scmpAction(filters[0].Default, opt)
	if err != nil {
		return nil, &ExportError{Arch: filters[0].Arch, Msg: err.Error()}
	}
	p.DefaultAction, p.DefaultErrnoRet = act, errno
	var natives []string
	for _, f := range filters {
		if f.Default != filters[0].Default {
			return nil, &ExportError{Arch: f.Arch, Msg: fmt.Sprintf("the default action is %s there and %s on %s: a profile has one", f.Default, filters[0].Default, filters[0].Arch)}
		}
		a, ok := arch.Lookup(f.Arch)
		if !ok {
			return nil, fmt.Errorf("unknown architecture %s", f.Arch)
		}
		natives = append(natives, nativeNames[a.Name])
		if len(filters) == 1 {
			p.Architectures = []string{ScmpArch(a)}
		} else {
			p.ArchMap = append(p.ArchMap, exportArchMap{Architecture: ScmpArch(a), SubArchitectures: []string{}})
		}
	}
	g := entryGroups{byKey: map[string]map[string][]string{}}
	for _, f := range filters {
		if err := g.add(f, opt, nativeNames[f.Arch]); err != nil {
			return nil, err
		}
	}
	p.Syscalls = g.entries(natives)
	out, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// entryGroups collects the profile's entries: each entry's action and
// arguments (a key) with the architectures each syscall has it on.
type entryGroups struct {
	keys  []string
	byKey map[string]map[string][]string // key -> syscall -> natives
	parts map[string]exportSyscall
}

func (g *entryGroups) add(f *policy.Filter, opt ExportOptions, native string) error {
	form, err := clauses.NormalForm(f, clauses.Options{Exact: true})
	if err != nil {
		return syscallError(f, err)
	}
	for _, s := range form {
		for _, ar := range s.Actions {
			act := ar.Action
			if act.Kind == policy.ExecOnce {
				if !opt.AllowExec {
					return &ExportError{Syscall: s.Name, Arch: f.Arch, Msg: "exec once (no rule names execve) cannot be written in a profile: the runtime execs the container's program under the filter. Give -allow-exec to allow execve, or write a rule for execve"}
				}
				act = policy.ActAllow
			}
			token, errno, err := scmpAction(act, opt)
			if err != nil {
				return &ExportError{Syscall: s.Name, Arch: f.Arch, Msg: err.Error()}
			}
			for _, cl := range ar.Clauses {
				for _, part := range clauses.SplitRanges(cl) {
					args, err := exportArgs(part)
					if err != nil {
						return &ExportError{Syscall: s.Name, Arch: f.Arch, Msg: err.Error()}
					}
					g.put(exportSyscall{Action: token, ErrnoRet: errno, Args: args}, s.Name, native)
				}
			}
		}
	}
	return nil
}

// syscallError names the syscall of a normal form's error.
func syscallError(f *policy.Filter, err error) error {
	msg := err.Error()
	name := ""
	if rest, ok := strings.CutPrefix(msg, "syscall "); ok {
		name, _, _ = strings.Cut(rest, " ")
		if _, after, ok := strings.Cut(rest, ": "); ok {
			msg = after
		}
	}
	return &ExportError{Syscall: name, Arch: f.Arch, Msg: "its condition cannot be written as OCI comparisons: " + msg}
}

func (g *entryGroups) put(e exportSyscall, name, native string) {
	k, _ := json.Marshal(e)
	key := string(k)
	if g.byKey[key] == nil {
		g.byKey[key] = map[string][]string{}
		g.keys = append(g.keys, key)
		if g.parts == nil {
			g.parts = map[string]exportSyscall{}
		}
		g.parts[key] = e
	}
	if !slices.Contains(g.byKey[key][name], native) {
		g.byKey[key][name] = append(g.byKey[key][name], native)
	}
}

// entries are the profile's syscalls: per key, the syscalls with the same
// architectures in one entry, the unconditional entries first.
func (g *entryGroups) entries(natives []string) []exportSyscall {
	var out []exportSyscall
	for _, key := range g.keys {
		byArches := map[string][]string{}
		for name, on := range g.byKey[key] {
			sort.Slice(on, func(i, j int) bool { return slices.Index(natives, on[i]) < slices.Index(natives, on[j]) })
			k := strings.Join(on, " ")
			byArches[k] = append(byArches[k], name)
		}
		for k, names := range byArches {
			e := g.parts[key]
			sort.Strings(names)
			e.Names = names
			if on := strings.Fields(k); len(on) != len(natives) {
				e.Includes = &exportInclude{Arches: on}
			}
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (len(a.Args) == 0) != (len(b.Args) == 0) {
			return len(a.Args) == 0
		}
		if a.Names[0] != b.Names[0] {
			return a.Names[0] < b.Names[0]
		}
		ka, _ := json.Marshal(a)
		kb, _ := json.Marshal(b)
		return string(ka) < string(kb)
	})
	return out
}

// scmpAction is an action as a profile writes it.
func scmpAction(a policy.Action, opt ExportOptions) (string, *uint64, error) {
	switch a.Kind {
	case policy.Allow:
		return "SCMP_ACT_ALLOW", nil, nil
	case policy.Log:
		return "SCMP_ACT_LOG", nil, nil
	case policy.Errno:
		n := uint64(a.Data)
		return "SCMP_ACT_ERRNO", &n, nil
	case policy.Trap:
		if a.Data != 0 {
			return "", nil, fmt.Errorf("%s: a profile's SCMP_ACT_TRAP carries no value", a)
		}
		return "SCMP_ACT_TRAP", nil, nil
	case policy.KillThread:
		return "SCMP_ACT_KILL_THREAD", nil, nil
	case policy.KillProcess:
		return "SCMP_ACT_KILL_PROCESS", nil, nil
	}
	return "", nil, fmt.Errorf("%s has no SCMP_ACT_ action", a)
}

var exportOps = map[policy.Op]string{
	policy.EQ: "SCMP_CMP_EQ", policy.NE: "SCMP_CMP_NE", policy.LT: "SCMP_CMP_LT",
	policy.LE: "SCMP_CMP_LE", policy.GT: "SCMP_CMP_GT", policy.GE: "SCMP_CMP_GE",
}

// exportArgs is one alternative as a profile's args, one per argument.
func exportArgs(cl clauses.Clause) ([]exportArg, error) {
	var out []exportArg
	seen := map[int]bool{}
	for _, t := range cl {
		if seen[t.Arg] {
			return nil, fmt.Errorf("arg%d would be compared twice in one entry, which runc reads as alternatives", t.Arg)
		}
		seen[t.Arg] = true
		if t.Masked() {
			out = append(out, exportArg{Index: t.Arg, Value: t.Mask, ValueTwo: t.Value, Op: "SCMP_CMP_MASKED_EQ"})
		} else {
			out = append(out, exportArg{Index: t.Arg, Value: t.Value, Op: exportOps[t.Op]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}
