package unitfile

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// ErrMasked is returned (wrapped) by Fragments for a masked unit: its unit
// file is empty or a symbolic link to /dev/null.
var ErrMasked = errors.New("unit is masked")

// ErrNotFound is returned (wrapped) by Fragments when no directory of the
// search path has the unit.
var ErrNotFound = errors.New("unit not found")

// unitTypes are systemd's unit type suffixes.
var unitTypes = map[string]bool{
	"service": true, "socket": true, "target": true, "device": true, "mount": true,
	"automount": true, "swap": true, "timer": true, "path": true, "slice": true, "scope": true,
}

// CheckName reports whether name is a valid unit name (systemd's
// unit_name_is_valid): "prefix.type", "prefix@.type" (a template) or
// "prefix@instance.type", made of ASCII letters, digits and ":-_.\",
// with "@" only as the separator, at most 255 bytes. It rules out "/" and
// therefore any path traversal.
func CheckName(name string) error {
	if len(name) == 0 || len(name) > 255 {
		return fmt.Errorf("unit name %q: must be 1 to 255 bytes long", name)
	}
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 || !unitTypes[name[dot+1:]] {
		return fmt.Errorf("unit name %q: does not end in a unit type such as .service", name)
	}
	stem := name[:dot]
	for i := 0; i < len(stem); i++ {
		c := stem[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(":-_.\\@", c) >= 0) {
			return fmt.Errorf("unit name %q: invalid character %q", name, c)
		}
	}
	if at := strings.IndexByte(stem, '@'); at >= 0 {
		if at == 0 {
			return fmt.Errorf("unit name %q: empty prefix before @", name)
		}
		if strings.IndexByte(stem[at+1:], '@') >= 0 {
			return fmt.Errorf("unit name %q: more than one @", name)
		}
	}
	return nil
}

// splitName returns a unit name's prefix, instance (with its "@", "" for
// a non-template or "@" for a template) and type.
func splitName(name string) (prefix, instance, typ string) {
	dot := strings.LastIndexByte(name, '.')
	stem, typ := name[:dot], name[dot+1:]
	if at := strings.IndexByte(stem, '@'); at >= 0 {
		return stem[:at], stem[at:], typ
	}
	return stem, "", typ
}

// dropinNames lists the names whose "<name>.d" directories hold drop-ins for
// unit, in systemd's order (unit_file_expand_dropin_names): the name itself,
// for an instance its template, then the names of its dash prefixes
// ("foo-bar-baz.service" → "foo-bar-.service", "foo-.service"), each
// expanded the same way. For "foo-bar@x.service" that is foo-bar@x,
// foo-bar@, foo- (the template's prefix), foo-@x and foo-@.
func dropinNames(name string) []string {
	out := []string{name}
	prefix, instance, typ := splitName(name)
	if len(instance) > 1 {
		out = append(out, dropinNames(prefix+"@."+typ)...)
	}
	chopped := false
	for {
		dash := strings.LastIndexByte(prefix, '-')
		if dash <= 0 {
			return out
		}
		if dash+1 < len(prefix) || chopped {
			prefix = prefix[:dash+1]
			break
		}
		prefix = prefix[:dash]
		chopped = true
	}
	// A template's prefix is built without "@" (systemd passes no
	// instance): "foo-bar@.service" → "foo-.service".
	if len(instance) == 1 {
		instance = ""
	}
	return append(out, dropinNames(prefix+instance+"."+typ)...)
}

// Fragments finds a unit's files the way systemd 252 does, given the
// unit search path in its order of precedence (first wins): the unit file
// is the first "<dir>/<unit>" that exists, for an instance
// "foo@bar.service" without its own file the template "foo@.service"; then
// its drop-ins: every "*.conf" (not hidden) in "<dir>/<name>.d" for every
// directory of the search path and every name of dropinNames, then in the
// type-wide "<dir>/service.d". A file name seen in an earlier directory
// masks the same name in later ones; the drop-ins are returned sorted by
// file name, after the unit file. Drop-ins for which skip returns true
// (fencer's own) are left out. read reads a file (following a final
// symbolic link); readDir lists a directory's names; both report a missing
// path with an error satisfying errors.Is(err, fs.ErrNotExist).
//
// A unit whose file is empty or a link to /dev/null is masked: the error
// wraps ErrMasked. A unit found nowhere wraps ErrNotFound. Drop-ins of
// alias names (symbolic links between unit names) are not followed.
func Fragments(read func(path string) ([]byte, error), readDir func(path string) ([]string, error), searchPath []string, unit string, skip func(path string) bool) ([]Fragment, error) {
	if err := CheckName(unit); err != nil {
		return nil, err
	}
	candidates := []string{unit}
	if prefix, instance, typ := splitName(unit); len(instance) > 1 {
		candidates = append(candidates, prefix+"@."+typ)
	}
	var unitFile *Fragment
	for _, name := range candidates {
		for _, dir := range searchPath {
			p := dir + "/" + name
			data, err := read(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("unit %s: %w", unit, err)
			}
			if len(data) == 0 {
				return nil, fmt.Errorf("unit %s: %s is empty or a link to /dev/null: %w", unit, p, ErrMasked)
			}
			unitFile = &Fragment{Path: p, Data: data}
			break
		}
		if unitFile != nil {
			break
		}
	}
	if unitFile == nil {
		return nil, fmt.Errorf("%s: %w in %s", unit, ErrNotFound, strings.Join(searchPath, ":"))
	}

	var dirs []string
	seenDir := map[string]bool{}
	addDir := func(d string) {
		if !seenDir[d] {
			seenDir[d] = true
			dirs = append(dirs, d)
		}
	}
	names := dropinNames(unit)
	for _, dir := range searchPath {
		for _, n := range names {
			addDir(dir + "/" + n + ".d")
		}
	}
	_, _, typ := splitName(unit)
	for _, dir := range searchPath {
		addDir(dir + "/" + typ + ".d")
	}

	byName := map[string]string{}
	for _, d := range dirs {
		entries, err := readDir(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("unit %s: drop-ins: %w", unit, err)
		}
		for _, e := range entries {
			if !strings.HasSuffix(e, ".conf") || strings.HasPrefix(e, ".") {
				continue
			}
			if _, ok := byName[e]; !ok {
				byName[e] = d + "/" + e
			}
		}
	}
	order := make([]string, 0, len(byName))
	for n := range byName {
		order = append(order, n)
	}
	sort.Strings(order)

	out := []Fragment{*unitFile}
	for _, n := range order {
		p := byName[n]
		if skip != nil && skip(p) {
			continue
		}
		data, err := read(p)
		if err != nil {
			return nil, fmt.Errorf("unit %s: drop-in: %w", unit, err)
		}
		out = append(out, Fragment{Path: p, Data: data})
	}
	return out, nil
}
