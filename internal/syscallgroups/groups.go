// Package syscallgroups reads systemd's syscall groups (@system-service,
// @default, ...) as `systemd-analyze syscall-filter` prints them, expands a
// group with the groups it includes, and writes it as a fencer
// configuration that allows exactly its syscalls (Write): the benchmark's
// @system-service.
package syscallgroups

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// Groups are the groups of one systemd version.
type Groups struct {
	// Version is the first line of the dump when it is a comment (the
	// systemd version it was taken from), without its `#`.
	Version string
	// Members lists each group's entries in order: syscall names and
	// "@group" names.
	Members map[string][]string
}

// Parse reads the output of `systemd-analyze syscall-filter`: a line
// `@name` starts a group, the indented lines under it are its members
// (`# ...` describes it), and a comment in the first column ends the
// groups (the lists of ungrouped and unlisted syscalls that follow).
func Parse(dump []byte) (*Groups, error) {
	g := &Groups{Members: map[string][]string{}}
	sc := bufio.NewScanner(bytes.NewReader(dump))
	cur, n := "", 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case n == 1 && strings.HasPrefix(line, "#"):
			g.Version = strings.TrimSpace(strings.TrimPrefix(line, "#"))
		case trimmed == "":
		case strings.HasPrefix(line, "@"):
			cur = trimmed
			if _, dup := g.Members[cur]; dup {
				return nil, fmt.Errorf("line %d: group %s listed twice", n, cur)
			}
			g.Members[cur] = nil
		case strings.HasPrefix(line, "#"):
			cur = ""
		case strings.HasPrefix(trimmed, "#"):
		case cur == "":
			return nil, fmt.Errorf("line %d: %q is in no group", n, trimmed)
		default:
			g.Members[cur] = append(g.Members[cur], trimmed)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(g.Members) == 0 {
		return nil, fmt.Errorf("no groups: not the output of systemd-analyze syscall-filter")
	}
	return g, nil
}

// Expand returns the syscall names of group, the groups it includes
// expanded, sorted and each once.
func (g *Groups) Expand(group string) ([]string, error) {
	set := map[string]bool{}
	if err := g.expand(group, set, map[string]bool{}); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func (g *Groups) expand(group string, set, active map[string]bool) error {
	members, ok := g.Members[group]
	if !ok {
		return fmt.Errorf("no group %s", group)
	}
	if active[group] {
		return fmt.Errorf("group %s includes itself", group)
	}
	active[group] = true
	defer delete(active, group)
	for _, m := range members {
		if strings.HasPrefix(m, "@") {
			if err := g.expand(m, set, active); err != nil {
				return err
			}
			continue
		}
		set[m] = true
	}
	return nil
}
