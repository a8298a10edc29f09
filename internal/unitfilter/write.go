package unitfilter

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"syscall"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/syscallgroups"
	"golang.org/x/sys/unix"
)

// ErrNoFilter is returned by Write for a unit whose SystemCallFilter=
// leaves no filter.
var ErrNoFilter = errors.New("no SystemCallFilter=")

// WriteOptions say what Write names and says.
type WriteOptions struct {
	// Service is the service's name, Unit its unit.
	Service, Unit string
	// Header is the file's first comment lines.
	Header []string
	// Native is the host's architecture: the service's when
	// SystemCallArchitectures= says none.
	Native string
	// Groups says where the groups came from (its Version).
	Groups *syscallgroups.Groups
}

// Write renders what e enforces as a fencer configuration: one service
// for the unit, on SystemCallArchitectures='s architectures (else the
// host's), whose rules allow, for an allow-list, the names of each group
// the unit names (and @default, which systemd adds), one rule per group,
// and the names listed one by one, with SystemCallErrorNumber= as the
// default action; for a deny-list, refuse the names (their own errno,
// else SystemCallErrorNumber='s), a rule per group and action, and allow
// every other syscall of the architecture. A name that is a syscall on
// some architectures only gets its rule's `arch`; on none, a comment.
func Write(e *Effective, opt WriteOptions) ([]byte, error) {
	if len(e.Names) == 0 {
		return nil, ErrNoFilter
	}
	names := e.Arches
	if len(names) == 0 {
		names = []string{opt.Native}
	}
	var arches []*arch.Arch
	for _, n := range names {
		a, ok := arch.Lookup(n)
		if !ok {
			return nil, fmt.Errorf("no architecture %s", n)
		}
		arches = append(arches, a)
	}
	var b strings.Builder
	for _, h := range opt.Header {
		fmt.Fprintf(&b, "# %s\n", h)
	}
	fmt.Fprintf(&b, "\nservice %q {\n  unit           = %q\n", opt.Service, opt.Unit)
	fmt.Fprintf(&b, "  arch           = [%s]\n", quoteJoin(names))
	def := "kill_process"
	if e.AllowList {
		def = errnoAction(e.Errno)
	}
	fmt.Fprintf(&b, "  default_action = %s\n", def)
	for _, g := range e.groups() {
		writeGroup(&b, e, g, arches, opt)
	}
	if !e.AllowList {
		writeRest(&b, e, arches)
	}
	b.WriteString("}\n")
	return []byte(b.String()), nil
}

// group is the names of one source with one errno.
type group struct {
	source string
	errno  int
	names  []string
}

// groups sorts the names by source (and errno), in order.
func (e *Effective) groups() []*group {
	var out []*group
	idx := map[[2]string]*group{}
	for _, n := range e.Order {
		nm := e.Names[n]
		errno := nm.Errno
		if e.AllowList || errno == noErrno {
			errno = e.Errno
			if e.AllowList {
				errno = 0
			}
		}
		k := [2]string{nm.Source, fmt.Sprint(errno)}
		g := idx[k]
		if g == nil {
			g = &group{source: nm.Source, errno: errno}
			idx[k] = g
			out = append(out, g)
		}
		g.names = append(g.names, n)
	}
	return out
}

// writeGroup writes a group's rules.
func writeGroup(b *strings.Builder, e *Effective, g *group, arches []*arch.Arch, opt WriteOptions) {
	sort.Strings(g.names)
	at := e.Names[g.names[0]].At
	where := fmt.Sprintf("SystemCallFilter= at %s:%d", at.Path, at.Line)
	var doc, name string
	switch g.source {
	case "@default":
		doc, name = "@default, which systemd adds to every allow-list", "default"
	case "":
		doc, name = "the names "+where+" lists", "listed"
	default:
		doc = g.source + ", from " + where
		name = strings.ReplaceAll(strings.TrimPrefix(g.source, "@"), "-", "_")
	}
	if strings.HasPrefix(g.source, "@") && opt.Groups != nil && opt.Groups.Version != "" {
		doc += ", as systemd-analyze syscall-filter of " + opt.Groups.Version + " lists it"
	}
	action := ""
	if !e.AllowList {
		action = errnoAction(g.errno)
		name = "deny_" + name
		if g.errno != e.Errno {
			name += "_" + strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(action, "errno("), ")"))
		}
		doc = "Refused: " + doc
	} else {
		doc = "Allowed: " + doc
	}
	writeSplit(b, "  # "+doc+".\n", name, action, g.names, arches)
}

// writeRest writes a deny-list's allowed names: every syscall of the
// architectures it does not refuse.
func writeRest(b *strings.Builder, e *Effective, arches []*arch.Arch) {
	set := map[string]bool{}
	for _, a := range arches {
		for _, n := range a.SyscallNames() {
			if e.Names[n] == nil {
				set[n] = true
			}
		}
	}
	var names []string
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	writeSplit(b, "  # Allowed: every other syscall, as systemd's deny-list allows it. Narrow it down.\n", "everything_else", "", names, arches)
}

// writeSplit writes a rule for names on every architecture, one for
// those on some, and a comment for those on none.
func writeSplit(b *strings.Builder, doc, name, action string, names []string, arches []*arch.Arch) {
	all, some, none := syscallgroups.Split(names, arches)
	if len(all) > 0 {
		syscallgroups.WriteRule(b, doc, name, action, nil, all)
		doc = ""
	}
	keys := make([]string, 0, len(some))
	for k := range some {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		syscallgroups.WriteRule(b, doc, name+"_on_"+strings.ReplaceAll(k, " ", "_"), action, strings.Fields(k), some[k])
		doc = ""
	}
	if len(none) > 0 {
		b.WriteString("\n" + doc)
		syscallgroups.WriteWrapped(b, "  # Not a syscall on "+archList(arches)+", which systemd skips: ", "  #   ", none, false)
	}
}

func archList(arches []*arch.Arch) string {
	var n []string
	for _, a := range arches {
		n = append(n, a.Name)
	}
	return strings.Join(n, ", ")
}

// errnoAction is the fencer action of an errno value.
func errnoAction(n int) string {
	if n == ErrnoKill {
		return "kill_process"
	}
	if name := unix.ErrnoName(syscall.Errno(n)); name != "" {
		return "errno(" + name + ")"
	}
	return fmt.Sprintf("errno(%d)", n)
}

func quoteJoin(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
