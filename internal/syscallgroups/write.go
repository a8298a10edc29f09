package syscallgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/readlimit"
)

// uretprobe is left out: libseccomp 2.5.4, which systemd 252 links with
// here, does not know it, and systemd skips the names libseccomp cannot
// resolve, so systemd's @system-service filter does not allow it.
//
//go:generate go run ./cmd/groupgen -dump testdata/systemd-252.txt -group @system-service -skip uretprobe -out ../../bench/systemservice/system-service.fencer.hcl

// Split sorts a group's names by the architectures fencer knows them on:
// the names known on every architecture of arches, those known on some
// (keyed by the architectures' names joined with spaces), and those known
// on none.
func Split(names []string, arches []*arch.Arch) (all []string, some map[string][]string, none []string) {
	some = map[string][]string{}
	for _, n := range names {
		var on []string
		for _, a := range arches {
			if _, ok := a.Syscall(n); ok {
				on = append(on, a.Name)
			}
		}
		switch len(on) {
		case len(arches):
			all = append(all, n)
		case 0:
			none = append(none, n)
		default:
			k := strings.Join(on, " ")
			some[k] = append(some[k], n)
		}
	}
	return all, some, none
}

// Write renders the group's names as a fencer configuration for arches:
// service NAME (the group without its @) allowing each name whatever its
// arguments, on the architectures it exists on, and killing the process
// for any other syscall; a name that is a syscall on none of arches (as
// systemd skips a name the architecture lacks) is only listed in a
// comment, and so are the names of skip, which systemd's libseccomp does
// not know.
func Write(g *Groups, group string, arches []*arch.Arch, skip []string) ([]byte, error) {
	expanded, err := g.Expand(group)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range expanded {
		if !slices.Contains(skip, n) {
			names = append(names, n)
		}
	}
	svc := strings.TrimPrefix(group, "@")
	all, some, none := Split(names, arches)
	var b strings.Builder
	fmt.Fprintf(&b, "# systemd's %s syscall group as `systemd-analyze syscall-filter` of %s\n", group, g.Version)
	fmt.Fprintf(&b, "# lists it, %d names with the groups it includes expanded, as a fencer configuration: each\n", len(expanded))
	b.WriteString("# syscall of the group allowed whatever its arguments, any other kills the process.\n")
	if len(skip) > 0 {
		fmt.Fprintf(&b, "# Left out, as systemd's libseccomp does not know them and systemd skips them: %s.\n", strings.Join(skip, ", "))
	}
	b.WriteString("# Written by internal/syscallgroups/cmd/groupgen (go generate ./internal/syscallgroups): do not edit.\n\n")
	fmt.Fprintf(&b, "fencer {\n  id = %q\n}\n\n", strings.ReplaceAll(svc, "-", ""))
	fmt.Fprintf(&b, "service %q {\n  unit           = %q\n  default_action = kill_process\n", svc, svc+".service")
	WriteRule(&b, "", strings.ReplaceAll(svc, "-", "_"), "", nil, all)
	keys := make([]string, 0, len(some))
	for k := range some {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(some[keys[i]]) != len(some[keys[j]]) {
			return len(some[keys[i]]) > len(some[keys[j]])
		}
		return keys[i] < keys[j]
	})
	for i, k := range keys {
		doc := ""
		if i == 0 {
			doc = "  # The group's names that are syscalls on some architectures only.\n"
		}
		WriteRule(&b, doc, "on_"+strings.ReplaceAll(k, " ", "_"), "", strings.Fields(k), some[k])
	}
	if len(none) > 0 {
		b.WriteString("\n")
		WriteWrapped(&b, "  # Not a syscall on any architecture: ", "  #   ", none, false)
	}
	b.WriteString("}\n")
	return []byte(b.String()), nil
}

// WriteRule writes one rule of a service: after doc (comment lines,
// indented), rule name for names, with action when it is not "" (allow),
// on archNames when given, its names wrapped at 100 columns.
func WriteRule(b *strings.Builder, doc, name, action string, archNames, names []string) {
	fmt.Fprintf(b, "\n%s  rule %q {\n", doc, name)
	if action != "" {
		fmt.Fprintf(b, "    action   = %s\n", action)
	}
	if len(archNames) > 0 {
		q := make([]string, len(archNames))
		for i, a := range archNames {
			q[i] = fmt.Sprintf("%q", a)
		}
		fmt.Fprintf(b, "    arch     = [%s]\n", strings.Join(q, ", "))
	}
	WriteWrapped(b, "    syscalls = [\n      ", "      ", names, true)
	b.WriteString("    ]\n  }\n")
}

// WriteWrapped writes words after first, wrapped at 100 columns with
// each further line starting with next; quoted when quote is set.
func WriteWrapped(b *strings.Builder, first, next string, words []string, quote bool) {
	line := first
	fresh := true
	for _, w := range words {
		if quote {
			w = fmt.Sprintf("%q,", w)
		}
		if !fresh && len(line)+1+len(w) > 100 {
			b.WriteString(line + "\n")
			line, fresh = next, true
		}
		if !fresh {
			line += " "
		}
		line += w
		fresh = false
	}
	b.WriteString(line + "\n")
}

// MaxDump bounds the dump read.
const MaxDump = 1 << 20

// WriteFile reads the dump, writes the group's configuration for every
// architecture fencer supports to out.
func WriteFile(dump, group, out string, skip []string) error {
	src, err := readlimit.File(dump, MaxDump, "systemd-analyze syscall-filter output")
	if err != nil {
		return err
	}
	g, err := Parse(src)
	if err != nil {
		return fmt.Errorf("%s: %w", dump, err)
	}
	cfg, err := Write(g, group, arch.All(), skip)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, cfg, 0o644)
}
