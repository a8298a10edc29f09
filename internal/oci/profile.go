// Package oci reads and writes seccomp profiles in the OCI runtime spec's
// format (the `linux.seccomp` object) as Docker extends it (archMap,
// includes and excludes by architecture, capabilities and kernel
// version): a profile to a fencer configuration (Import), and a resolved
// policy to a profile (Export). docs/oci.md says what each part means.
package oci

import (
	"math"

	"github.com/hashicorp/hcl/v2"
)

// Str is a string of a profile with its source range.
type Str struct {
	V   string
	Rng hcl.Range
}

// Num is a number of a profile with its source range.
type Num struct {
	V   uint64
	Rng hcl.Range
}

// Profile is a seccomp profile as Docker reads it.
type Profile struct {
	// File is the profile's name in diagnostics.
	File            string
	DefaultAction   Str
	DefaultErrnoRet *Num
	Architectures   []Str
	ArchMap         []ArchMapEntry
	Flags           []Str
	ListenerPath    *Str
	Syscalls        []*Syscall
	// Rng is the whole profile's range.
	Rng hcl.Range
}

// ArchMapEntry is one entry of Docker's archMap: the architectures a
// filter covers when the daemon runs on Arch.
type ArchMapEntry struct {
	Arch    Str
	SubArch []Str
}

// Syscall is one entry of syscalls.
type Syscall struct {
	// Index is its place in syscalls, from 0.
	Index    int
	Names    []Str
	Action   Str
	ErrnoRet *Num
	Args     []Arg
	Comment  string
	Includes *Filter
	Excludes *Filter
	Rng      hcl.Range
}

// Arg is one argument comparison. For SCMP_CMP_MASKED_EQ, Value is the
// mask and ValueTwo the value the masked argument equals.
type Arg struct {
	Index    Num
	Value    Num
	ValueTwo Num
	Op       Str
	Rng      hcl.Range
}

// Filter is an entry's includes or excludes.
type Filter struct {
	Arches    []Str
	Caps      []Str
	MinKernel *Str
	Rng       hcl.Range
}

// The keys of each object, as the runtime spec and moby spell them.
var (
	profileKeys = []string{"defaultAction", "defaultErrnoRet", "architectures", "archMap", "flags",
		"listenerPath", "listenerMetadata", "syscalls"}
	archMapKeys = []string{"architecture", "subArchitectures"}
	syscallKeys = []string{"name", "names", "action", "errnoRet", "args", "comment", "includes", "excludes"}
	argKeys     = []string{"index", "value", "valueTwo", "op"}
	filterKeys  = []string{"arches", "caps", "minKernel"}
)

// MaxProfile bounds the size of a profile read (Docker's default is
// about 20 kB).
const MaxProfile = 4 << 20

// Parse reads a profile. Every mistake is a diagnostic with its range;
// the profile is nil when there is any error.
func Parse(name string, src []byte) (*Profile, hcl.Diagnostics) {
	root, diags := parseJSON(name, src)
	if diags.HasErrors() {
		return nil, diags
	}
	r := &reader{diags: diags}
	p := r.profile(root)
	p.File = name
	if r.diags.HasErrors() {
		return nil, r.diags
	}
	return p, r.diags
}

func (r *reader) profile(root value) *Profile {
	p := &Profile{Rng: root.rng}
	fields, ok := r.object(root, "A seccomp profile", profileKeys)
	if !ok {
		return p
	}
	if f, ok := fields["defaultAction"]; ok {
		p.DefaultAction, _ = r.str(f.val, "defaultAction", `"SCMP_ACT_ERRNO"`)
	} else {
		r.errorf(root.rng, "Missing defaultAction", "A profile needs a defaultAction, such as \"SCMP_ACT_ERRNO\".")
	}
	if f, ok := fields["defaultErrnoRet"]; ok && !isNull(f.val) {
		if n, ok := r.num(f.val, "defaultErrnoRet", math.MaxUint32); ok {
			p.DefaultErrnoRet = &n
		}
	}
	if f, ok := fields["architectures"]; ok {
		p.Architectures = r.strList(f.val, "architectures", `"SCMP_ARCH_X86_64"`)
	}
	if f, ok := fields["archMap"]; ok {
		for _, it := range r.list(f.val, "archMap") {
			p.ArchMap = append(p.ArchMap, r.archMapEntry(it))
		}
	}
	if len(p.Architectures) > 0 && len(p.ArchMap) > 0 {
		r.errorf(fields["archMap"].keyRng, "Both architectures and archMap",
			"Docker refuses a profile with both: use either architectures or archMap.")
	}
	if f, ok := fields["flags"]; ok {
		p.Flags = r.strList(f.val, "flags", `"SECCOMP_FILTER_FLAG_LOG"`)
	}
	if f, ok := fields["listenerPath"]; ok && !isNull(f.val) {
		if s, ok := r.str(f.val, "listenerPath", `"/run/seccomp-agent.socket"`); ok {
			p.ListenerPath = &s
		}
	}
	if f, ok := fields["syscalls"]; ok {
		for i, it := range r.list(f.val, "syscalls") {
			if s := r.syscall(it, i); s != nil {
				p.Syscalls = append(p.Syscalls, s)
			}
		}
	}
	return p
}

func (r *reader) archMapEntry(v value) ArchMapEntry {
	var e ArchMapEntry
	fields, ok := r.object(v, "An archMap entry", archMapKeys)
	if !ok {
		return e
	}
	if f, ok := fields["architecture"]; ok {
		e.Arch, _ = r.str(f.val, "architecture", `"SCMP_ARCH_X86_64"`)
	} else {
		r.errorf(v.rng, "Missing architecture", "An archMap entry names its architecture.")
	}
	if f, ok := fields["subArchitectures"]; ok {
		e.SubArch = r.strList(f.val, "subArchitectures", `"SCMP_ARCH_X86"`)
	}
	return e
}

func (r *reader) syscall(v value, index int) *Syscall {
	fields, ok := r.object(v, "A syscalls entry", syscallKeys)
	if !ok {
		return nil
	}
	s := &Syscall{Index: index, Rng: v.rng}
	name, hasName := fields["name"]
	names, hasNames := fields["names"]
	if hasName && !isNull(name.val) {
		if n, ok := r.str(name.val, "name", `"read"`); ok && n.V != "" {
			s.Names = []Str{n}
		}
	}
	if hasNames {
		if len(s.Names) > 0 {
			r.errorf(names.keyRng, "Both name and names", "Docker refuses an entry with both: use either name or names.")
		} else {
			s.Names = r.strList(names.val, "names", `"read"`)
		}
	}
	if !hasName && !hasNames {
		r.errorf(v.rng, "Missing names", "A syscalls entry names its syscalls: \"names\": [\"read\", \"write\"].")
	}
	if f, ok := fields["action"]; ok {
		s.Action, _ = r.str(f.val, "action", `"SCMP_ACT_ALLOW"`)
	} else {
		r.errorf(v.rng, "Missing action", "A syscalls entry has an action, such as \"SCMP_ACT_ALLOW\".")
	}
	if f, ok := fields["errnoRet"]; ok && !isNull(f.val) {
		if n, ok := r.num(f.val, "errnoRet", math.MaxUint32); ok {
			s.ErrnoRet = &n
		}
	}
	if f, ok := fields["comment"]; ok && !isNull(f.val) {
		if c, ok := r.str(f.val, "comment", `"why"`); ok {
			s.Comment = c.V
		}
	}
	if f, ok := fields["args"]; ok {
		for _, it := range r.list(f.val, "args") {
			if a, ok := r.arg(it); ok {
				s.Args = append(s.Args, a)
			}
		}
	}
	for key, dst := range map[string]**Filter{"includes": &s.Includes, "excludes": &s.Excludes} {
		if f, ok := fields[key]; ok && !isNull(f.val) {
			*dst = r.filter(f.val, key)
		}
	}
	return s
}

func (r *reader) arg(v value) (Arg, bool) {
	fields, ok := r.object(v, "An args entry", argKeys)
	if !ok {
		return Arg{}, false
	}
	a := Arg{Rng: v.rng}
	ok = true
	if f, has := fields["index"]; has {
		a.Index, ok = r.num(f.val, "index", 5)
	} else {
		r.errorf(v.rng, "Missing index", "An args entry says which argument it compares: \"index\": 0 to 5.")
		ok = false
	}
	for key, dst := range map[string]*Num{"value": &a.Value, "valueTwo": &a.ValueTwo} {
		if f, has := fields[key]; has {
			n, good := r.num(f.val, key, math.MaxUint64)
			*dst, ok = n, ok && good
		}
	}
	if f, has := fields["op"]; has {
		s, good := r.str(f.val, "op", `"SCMP_CMP_EQ"`)
		a.Op, ok = s, ok && good
	} else {
		r.errorf(v.rng, "Missing op", "An args entry has a comparison, such as \"op\": \"SCMP_CMP_EQ\".")
		ok = false
	}
	return a, ok
}

func (r *reader) filter(v value, what string) *Filter {
	fields, ok := r.object(v, what, filterKeys)
	if !ok {
		return nil
	}
	f := &Filter{Rng: v.rng}
	if x, ok := fields["arches"]; ok {
		f.Arches = r.strList(x.val, what+".arches", `"amd64"`)
	}
	if x, ok := fields["caps"]; ok {
		f.Caps = r.strList(x.val, what+".caps", `"CAP_SYS_ADMIN"`)
	}
	if x, ok := fields["minKernel"]; ok && !isNull(x.val) {
		if s, ok := r.str(x.val, what+".minKernel", `"4.8"`); ok {
			f.MinKernel = &s
		}
	}
	return f
}
