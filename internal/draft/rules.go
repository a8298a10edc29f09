package draft

import (
	"fmt"
	"sort"
	"strings"
)

// cond is what Write puts on one syscall besides its name: a condition
// that every recorded call meets, or an action other than allow.
type cond struct {
	when   string
	action string
	// notes explain the condition, for the rule's comments.
	notes []string
	// label names the rule after its condition, "" when the syscalls
	// name it better.
	label string
}

// key says which syscalls can share a rule: the same condition and
// action.
func (c cond) key() string { return c.when + "\x00" + c.action }

// buildRules groups the recorded syscalls into rules.
func (d *doc) buildRules() {
	byGroup := map[string][]string{}
	names := d.an.names
	if d.cloneFallback() && d.an.stats["clone"] == nil {
		names = append(append([]string{}, names...), "clone")
	}
	for _, name := range names {
		if name == "execve" && d.an.laterExecs() == 0 {
			continue // the loader's exec: exec once lets it through
		}
		g := d.groupOf(name)
		byGroup[g.name] = append(byGroup[g.name], name)
	}
	all := append(append([]group{}, groups...), otherGroup, group{startupGroup,
		"Start-up only: seen before the first wait for work and never after. The filter cannot tell start-up from " +
			"the steady state: these stay allowed for the process's whole life.", nil})
	used := map[string]bool{}
	for _, g := range all {
		d.groupRules(g, byGroup[g.name], used)
	}
}

// groupOf is the group the syscall's rule goes in.
func (d *doc) groupOf(name string) group {
	// clone3 answered ENOSYS is not allowed at start-up or after: it
	// stays with clone.
	fails := name == "clone3" && d.cloneFallback()
	if s := d.an.stats[name]; s != nil && s.steady == 0 && d.an.boundary < len(d.rec.Calls) && !fails {
		return group{name: startupGroup}
	}
	if i, ok := groupOf[name]; ok {
		return groups[i]
	}
	return otherGroup
}

// groupRules writes the rules of one group: its unconditional syscalls in
// one rule named after the group, and each set of syscalls with the same
// condition in a rule of its own.
func (d *doc) groupRules(g group, names []string, used map[string]bool) {
	if len(names) == 0 {
		return
	}
	conds := map[string]cond{}
	var keys []string
	members := map[string][]string{}
	for _, n := range names {
		c := d.condition(n)
		k := c.key()
		if _, ok := conds[k]; !ok {
			conds[k] = c
			keys = append(keys, k)
		}
		members[k] = append(members[k], n)
	}
	// The unconditional rule first, then the others in the order of their
	// first syscall.
	sort.SliceStable(keys, func(i, j int) bool { return keys[i] == cond{}.key() && keys[j] != cond{}.key() })
	for n, k := range keys {
		c := conds[k]
		r := &rule{syscalls: members[k], when: c.when, action: c.action}
		r.name = g.name
		if k != (cond{}).key() {
			switch {
			case c.label != "" && !used[g.name+"_"+c.label]:
				r.name = g.name + "_" + c.label
			case len(members[k]) <= 3:
				r.name = g.name + "_" + strings.Join(members[k], "_")
			default:
				r.name = g.name + "_" + members[k][0]
			}
		}
		r.name = unique(r.name, used)
		if n == 0 && g.about != "" {
			r.comments = append(r.comments, g.about)
		}
		for _, s := range members[k] {
			r.comments = append(r.comments, d.statLines(s)...)
		}
		r.comments = append(r.comments, c.notes...)
		d.rules = append(d.rules, r)
	}
}

// statLines say how often the syscall was seen, and for opens which
// paths.
func (d *doc) statLines(name string) []string {
	s := d.an.stats[name]
	if s == nil {
		return []string{name + ": not recorded; glibc's fallback when clone3 fails."}
	}
	when := ""
	switch {
	case s.steady == 0:
		when = "all at start-up"
	case s.startup == 0:
		when = "all after start-up"
	default:
		when = fmt.Sprintf("%d at start-up, %d after", s.startup, s.steady)
	}
	line := fmt.Sprintf("%s: %s, %s", name, plural(len(s.idx), "call"), when)
	if s.failed > 0 {
		line += fmt.Sprintf(", %d failed", s.failed)
	}
	if n := d.an.omitted[name]; n > 0 {
		line += fmt.Sprintf("; %d more counted, not kept", n)
	}
	out := []string{line + "."}
	if p := d.paths(name); p != "" {
		out = append(out, "  "+p)
	}
	return out
}

// pathArg is the argument that names a path, by syscall, for comments.
var pathArg = map[string]int{
	"open": 0, "openat": 1, "openat2": 1, "creat": 0, "stat": 0, "lstat": 0, "newfstatat": 1,
	"fstatat64": 1, "statx": 1, "access": 0, "faccessat": 1, "faccessat2": 1, "readlink": 0,
	"readlinkat": 1, "execve": 0, "execveat": 1, "mkdir": 0, "mkdirat": 1, "unlink": 0,
	"unlinkat": 1, "chdir": 0, "statfs": 0, "rename": 0, "renameat": 1, "renameat2": 1,
	"connect": -1, "bind": -1, "inotify_add_watch": 1, "chmod": 0, "fchmodat": 1, "truncate": 0,
}

// maxPaths is how many paths a comment lists.
const maxPaths = 8

// paths lists the paths the syscall named, most frequent first.
func (d *doc) paths(name string) string {
	arg, ok := pathArg[name]
	if !ok || arg < 0 {
		return ""
	}
	count := map[string]int{}
	for _, i := range d.callsOf(name) {
		if p := d.rec.Calls[i].Text[arg]; p != "" {
			count[p]++
		}
	}
	if len(count) == 0 {
		return ""
	}
	ps := make([]string, 0, len(count))
	for p := range count {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool {
		if count[ps[i]] != count[ps[j]] {
			return count[ps[i]] > count[ps[j]]
		}
		return ps[i] < ps[j]
	})
	more := ""
	if len(ps) > maxPaths {
		more = fmt.Sprintf(" and %d more", len(ps)-maxPaths)
		ps = ps[:maxPaths]
	}
	for i, p := range ps {
		if count[p] > 1 {
			ps[i] = fmt.Sprintf("%s (%d)", p, count[p])
		}
	}
	return "paths: " + strings.Join(ps, ", ") + more
}

// fdUseComment says which syscalls used the inherited fd i.
func (d *doc) fdUseComment(i int) []string {
	count := map[string]int{}
	for ci, uses := range d.an.fds.uses {
		for _, u := range uses {
			if u.origin == i {
				count[d.an.calls[ci].name]++
			}
		}
	}
	if len(count) == 0 {
		return []string{"No recorded call used it."}
	}
	var names []string
	for n := range count {
		names = append(names, n)
	}
	sort.Strings(names)
	for k, n := range names {
		names[k] = fmt.Sprintf("%s %d", n, count[n])
	}
	out := []string{"Used by " + strings.Join(names, ", ") + "."}
	if d.an.fds.lost[i] {
		out = append(out, "The program closed or replaced it: its number later held other files.")
	}
	return out
}
