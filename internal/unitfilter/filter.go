// Package unitfilter reads a systemd unit's seccomp settings —
// SystemCallFilter=, SystemCallErrorNumber=, SystemCallArchitectures= —
// as systemd 252 does (src/core/load-fragment.c,
// src/shared/seccomp-util.c), and writes what they enforce as a fencer
// configuration: fencer import systemd.
//
// systemd's rules, which Evaluate follows: an empty SystemCallFilter=
// resets the list. The first assignment after a reset decides the mode:
// without `~` an allow-list, to which systemd adds its @default group,
// with `~` a deny-list. Further assignments in the same mode add their
// names, in the other mode remove them. A group (`@name`) stands for its
// names, from the host's `systemd-analyze syscall-filter`; a group or name
// systemd does not know is ignored with a warning. `NAME:ERRNO` (or
// `NAME:kill`) gives a deny-listed name its own action, which takes
// precedence over SystemCallErrorNumber=; an allow-listed name with one is
// ignored with a warning. A name a later assignment adds again takes its
// action. SystemCallErrorNumber= (the last assignment that parses; empty
// or `kill` for the default) is the action of every call the filter
// refuses: an errno, or killing the process. SystemCallArchitectures=
// accumulates systemd's architecture names (`native` is the host's), an
// empty assignment resetting it. A name that is not a syscall on an
// architecture is skipped there.
package unitfilter

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/syscallgroups"
	"github.com/fencer-dev/fencer/internal/unitfile"
	"github.com/hashicorp/hcl/v2"
	"golang.org/x/sys/unix"
)

// ErrnoKill is the errno value of a name whose action is `kill`, and of
// SystemCallErrorNumber= when it kills (SECCOMP_ERROR_NUMBER_KILL).
const ErrnoKill = -2

// noErrno is a name's errno when it has none of its own.
const noErrno = -1

// Settings are the assignments of a unit's seccomp settings in its
// [Service] section, in the order systemd reads them.
type Settings struct {
	Filter, ErrorNumber, Archs, Log []unitfile.Setting
}

// Read returns the settings of the unit file and drop-ins.
func Read(frags []unitfile.Fragment) (Settings, error) {
	var s Settings
	for _, x := range []struct {
		key string
		to  *[]unitfile.Setting
	}{{"SystemCallFilter", &s.Filter}, {"SystemCallErrorNumber", &s.ErrorNumber},
		{"SystemCallArchitectures", &s.Archs}, {"SystemCallLog", &s.Log}} {
		as, err := unitfile.Assignments(frags, "Service", x.key)
		if err != nil {
			return s, err
		}
		*x.to = as
	}
	return s, nil
}

// Name is a name of the effective filter.
type Name struct {
	// Errno is its own action in a deny-list: an errno, ErrnoKill, or -1
	// for SystemCallErrorNumber='s.
	Errno int
	// Source is what brought it in: the group as the unit names it
	// ("@system-service"), "@default" for the group systemd adds to an
	// allow-list, or "" for a name listed itself.
	Source string
	// At is the assignment that brought it in.
	At unitfile.Setting
}

// Effective is what systemd enforces.
type Effective struct {
	// AllowList says the names are allowed and every other syscall
	// refused; otherwise the names are refused and every other allowed.
	// Meaningless when Names is empty: no filter.
	AllowList bool
	// Names are the filter's syscall names, Order them in the order they
	// came in.
	Names map[string]*Name
	Order []string
	// Errno is SystemCallErrorNumber='s: an errno, or ErrnoKill.
	Errno int
	// Arches are SystemCallArchitectures='s as fencer names them, native
	// resolved; empty when it is not set (or lists none fencer knows).
	Arches []string
	// Diags are warnings about what systemd ignores, at the assignment.
	Diags hcl.Diagnostics
	// started is set once an assignment made the list (systemd's
	// syscall_filter hashmap exists): its mode is fixed until a reset.
	started bool
}

// Evaluate computes what the settings enforce, with the host's groups
// (systemd-analyze syscall-filter), whether systemd resolves a syscall
// name (known), and the host's architecture for `native`.
func Evaluate(s Settings, groups *syscallgroups.Groups, known func(string) bool, native string) *Effective {
	e := &Effective{Names: map[string]*Name{}, Errno: ErrnoKill}
	for _, a := range s.Filter {
		e.filterAssignment(a, groups, known)
	}
	for _, a := range s.ErrorNumber {
		switch v := a.Value; {
		case v == "" || v == "kill":
			e.Errno = ErrnoKill
		default:
			if n, ok := ParseErrno(v); ok && n > 0 {
				e.Errno = n
			} else {
				e.warn(a, "Invalid SystemCallErrorNumber=", fmt.Sprintf("systemd ignores %q: not an errno name or a number from 1 to 4095.", v))
			}
		}
	}
	e.readArches(s.Archs, native)
	for _, a := range s.Log {
		if a.Value != "" {
			e.warn(a, "SystemCallLog= is not imported", "fencer writes no log rules for SystemCallLog=: add rules with action = log for the syscalls to log.")
			break
		}
	}
	return e
}

func (e *Effective) warn(a unitfile.Setting, summary, detail string) {
	e.Diags = append(e.Diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: detail, Subject: at(a).Ptr()})
}

// at is an assignment's line.
func at(a unitfile.Setting) hcl.Range {
	p := hcl.Pos{Line: a.Line, Column: 1}
	return hcl.Range{Filename: a.Path, Start: p, End: p}
}

// filterAssignment applies one SystemCallFilter= assignment.
func (e *Effective) filterAssignment(a unitfile.Setting, groups *syscallgroups.Groups, known func(string) bool) {
	v := a.Value
	if v == "" {
		e.Names, e.Order, e.AllowList, e.started = map[string]*Name{}, nil, false, false
		return
	}
	invert := strings.HasPrefix(v, "~")
	v = strings.TrimPrefix(v, "~")
	if !e.started {
		e.started, e.AllowList = true, !invert
		if !invert {
			e.apply("@default", noErrno, true, "@default", a, groups, known, false)
		}
	}
	for _, word := range strings.Fields(v) {
		name, num, ok := splitErrno(word)
		if !ok {
			e.warn(a, "Invalid SystemCallFilter= entry", fmt.Sprintf("systemd ignores %q: the errno after the colon is not an errno name, a number from 0 to 4095, or kill.", word))
			continue
		}
		if !invert && num != noErrno {
			e.warn(a, "Allow-listed syscall with an errno", fmt.Sprintf("systemd ignores %q: an allow-listed syscall cannot take an error number.", word))
			continue
		}
		src := ""
		if strings.HasPrefix(name, "@") {
			src = name
		}
		e.apply(name, num, invert != e.AllowList, src, a, groups, known, true)
	}
}

// apply adds (add) or removes name, a syscall or a group, as
// seccomp_parse_syscall_filter does; log warns about what systemd ignores.
func (e *Effective) apply(name string, num int, add bool, src string, a unitfile.Setting, groups *syscallgroups.Groups, known func(string) bool, log bool) {
	if strings.HasPrefix(name, "@") {
		members, ok := groups.Members[name]
		if !ok {
			if log {
				e.warn(a, "Unknown syscall group", fmt.Sprintf("systemd ignores %s: systemd-analyze syscall-filter on this host lists no such group.", name))
			}
			return
		}
		for _, m := range members {
			e.apply(m, num, add, src, a, groups, known, false)
		}
		return
	}
	if !known(name) {
		if log {
			e.warn(a, "Unknown syscall", fmt.Sprintf("systemd ignores %s: it is not a syscall name this host's systemd knows.", name))
		}
		return
	}
	if !add {
		if _, ok := e.Names[name]; ok {
			delete(e.Names, name)
			for i, n := range e.Order {
				if n == name {
					e.Order = append(e.Order[:i:i], e.Order[i+1:]...)
					break
				}
			}
		}
		return
	}
	if n, ok := e.Names[name]; ok {
		n.Errno = num
		return
	}
	e.Names[name] = &Name{Errno: num, Source: src, At: a}
	e.Order = append(e.Order, name)
}

// splitErrno splits "name:errno" as parse_syscall_and_errno does.
func splitErrno(word string) (name string, num int, ok bool) {
	name, errStr, found := strings.Cut(word, ":")
	if !found {
		return word, noErrno, true
	}
	if errStr == "kill" {
		return name, ErrnoKill, true
	}
	n, ok := ParseErrno(errStr)
	return name, n, ok
}

// ParseErrno reads an errno name (EPERM) or a number from 0 to 4095, as
// systemd's parse_errno does.
func ParseErrno(s string) (int, bool) {
	if strings.HasPrefix(s, "E") {
		x86, _ := arch.Lookup("x86_64")
		v, ok := x86.Const(s)
		if !ok || v == 0 || v > 4095 {
			return 0, false
		}
		return int(v), unix.ErrnoName(syscall.Errno(v)) == s || errnoAliases[s]
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && n <= 4095
}

// errnoAliases are errno names Linux defines as another's value.
var errnoAliases = map[string]bool{"EWOULDBLOCK": true, "EDEADLOCK": true, "ENOTSUP": true}

// systemdArches are systemd's architecture names (seccomp_arch_from_string)
// for the architectures fencer knows.
var systemdArches = map[string]string{
	"x86-64": "x86_64", "x86": "i386", "arm64": "aarch64", "arm": "arm",
	"ppc64-le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
}

// readArches reads SystemCallArchitectures=.
func (e *Effective) readArches(as []unitfile.Setting, native string) {
	seen := map[string]bool{}
	for _, a := range as {
		if a.Value == "" {
			e.Arches, seen = nil, map[string]bool{}
			continue
		}
		for _, w := range strings.Fields(a.Value) {
			name := systemdArches[w]
			if w == "native" {
				name = native
			}
			if name == "" {
				e.warn(a, "Architecture left out", fmt.Sprintf("%s is not an architecture fencer compiles for (or not one systemd knows): the service is not for it.", w))
				continue
			}
			if !seen[name] {
				seen[name] = true
				e.Arches = append(e.Arches, name)
			}
		}
	}
}
