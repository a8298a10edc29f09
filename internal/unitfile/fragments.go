package unitfile

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// ErrMasked is returned (wrapped) by Lookup.Unit for a masked unit: its
// unit file is empty or a symbolic link to /dev/null.
var ErrMasked = errors.New("unit is masked")

// MaskedError is the error of Lookup.Unit for a masked unit; it satisfies
// errors.Is(err, ErrMasked).
type MaskedError struct {
	// Unit is the unit name asked for; Path the file that masks it; How
	// says what it is ("is empty", "is a link to /dev/null").
	Unit, Path, How string
	// Target is the link's target when Path is a link, "" when it is an
	// empty file.
	Target string
}

func (e *MaskedError) Error() string {
	return fmt.Sprintf("unit %s: %s %s: %v", e.Unit, e.Path, e.How, ErrMasked)
}

// Is makes errors.Is(err, ErrMasked) hold.
func (e *MaskedError) Is(target error) bool { return target == ErrMasked }

// ErrNotFound is returned (wrapped) by Lookup.Unit when no directory of
// the search path has the unit.
var ErrNotFound = errors.New("unit not found")

// unitTypes are systemd's unit type suffixes.
var unitTypes = map[string]bool{
	"service": true, "socket": true, "target": true, "device": true, "mount": true,
	"automount": true, "swap": true, "timer": true, "path": true, "slice": true, "scope": true,
}

// nameKind is what unit_name_is_valid calls the name's type: a plain
// name, an instance ("foo@bar.service") or a template ("foo@.service");
// 0 for an invalid name.
type nameKind int

const (
	namePlain nameKind = 1 + iota
	nameInstance
	nameTemplate
)

// classify is systemd's unit_name_is_valid: "prefix.type" with a known
// type, at most 255 bytes, the characters before the type ASCII letters,
// digits and ":-_.\@", not starting with "@". The first "@" separates the
// prefix from the instance (which may hold more of them); nothing between
// it and the type makes a template.
func classify(name string) nameKind {
	if len(name) == 0 || len(name) > 255 {
		return 0
	}
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 || !unitTypes[name[dot+1:]] {
		return 0
	}
	at := -1
	for i := 0; i < dot; i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(":-_.\\@", c) >= 0) {
			return 0
		}
		if c == '@' && at < 0 {
			at = i
		}
	}
	switch {
	case at == 0:
		return 0
	case at < 0:
		return namePlain
	case dot > at+1:
		return nameInstance
	}
	return nameTemplate
}

// CheckName reports whether name is a valid unit name (systemd's
// unit_name_is_valid): "prefix.type", "prefix@.type" (a template) or
// "prefix@instance.type", made of ASCII letters, digits and ":-_.\@", not
// starting with "@", at most 255 bytes. It rules out "/" and therefore any
// path traversal.
func CheckName(name string) error {
	if classify(name) != 0 {
		return nil
	}
	if len(name) == 0 || len(name) > 255 {
		return fmt.Errorf("unit name %q: must be 1 to 255 bytes long", name)
	}
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 || !unitTypes[name[dot+1:]] {
		return fmt.Errorf("unit name %q: does not end in a unit type such as .service", name)
	}
	if name[0] == '@' {
		return fmt.Errorf("unit name %q: empty prefix before @", name)
	}
	return fmt.Errorf("unit name %q: invalid character (only ASCII letters, digits and \":-_.\\@\")", name)
}

// IsTemplate reports whether name is a valid template name
// ("foo@.service"), which systemd never loads as a unit of its own.
func IsTemplate(name string) bool { return classify(name) == nameTemplate }

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

// templateOf returns the template of an instance name: "foo@bar.service"
// → "foo@.service".
func templateOf(name string) string {
	prefix, _, typ := splitName(name)
	return prefix + "@." + typ
}

// instanceOf returns an instance name's instance, without the "@".
func instanceOf(name string) string {
	_, instance, _ := splitName(name)
	return strings.TrimPrefix(instance, "@")
}

// withInstance returns template with its instance set to instance:
// ("foo@.service", "bar") → "foo@bar.service".
func withInstance(template, instance string) string {
	prefix, _, typ := splitName(template)
	return prefix + "@" + instance + "." + typ
}

// dropinNames lists the names whose "<name>.d" directories hold drop-ins for
// unit, in systemd's order (unit_file_find_dirs): the name itself, for an
// instance its template, then the names of its dash prefixes
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

// mayAlias are the unit types systemd accepts alias links for
// (unit_type_may_alias); mayTemplate those that may be templates
// (unit_type_may_template).
var (
	mayAlias    = map[string]bool{"service": true, "socket": true, "target": true, "device": true, "timer": true, "path": true}
	mayTemplate = map[string]bool{"service": true, "socket": true, "target": true, "timer": true, "path": true}
)

// aliasValid is systemd's unit_validate_alias_symlink_and_warn for a link
// named src in a unit directory whose target, inside the search path, is
// named dst: a type that may have aliases (and be a template, for a
// template or instance), a valid target of the same type and the same kind
// of name (an instance may point at a template), the same instance.
func aliasValid(src, dst string) bool {
	sk, dk := classify(src), classify(dst)
	_, _, st := splitName(src)
	if !mayAlias[st] || (sk != namePlain && !mayTemplate[st]) || dk == 0 {
		return false
	}
	if dk != sk && !(sk == nameInstance && dk == nameTemplate) {
		return false
	}
	if dk == nameInstance && instanceOf(src) != instanceOf(dst) {
		return false
	}
	_, _, dt := splitName(dst)
	return dt == st
}

// Source is how a Lookup reads a host's files. Paths are absolute, clean
// host paths.
type Source struct {
	// ReadFile returns a file's content, following a symbolic link in
	// the last component; a link to /dev/null reads as empty. A missing
	// file is an error satisfying errors.Is(err, fs.ErrNotExist).
	ReadFile func(path string) ([]byte, error)
	// ReadDir lists a directory's entry names; fs.ErrNotExist when it
	// does not exist.
	ReadDir func(path string) ([]string, error)
	// Links returns the symbolic links directly in directory dir, by
	// name, each with its target resolved the way systemd resolves an
	// alias link (chase_symlinks with CHASE_NOFOLLOW|CHASE_NONEXISTENT):
	// an absolute path (a relative target taken from dir), clean, with
	// the links among its directories resolved and the last component as
	// written; "" for a link that cannot be read or resolved, which
	// systemd ignores. fs.ErrNotExist when dir does not exist.
	Links func(dir string) (map[string]string, error)
}

// entry is the file systemd keeps for a unit name: the first of that name
// along the search path (unit_file_build_name_map).
type entry struct {
	name string // the file's name, a unit name
	path string // its path: a unit directory and name
	// target is a link's resolved target, "" for a file.
	target string
	// alias is the unit name an alias link points to, "" for a unit
	// file (a file, or a link out of the search path: a linked unit
	// file or a mask).
	alias string
}

// Lookup is a host's unit search path read the way systemd 252's manager
// reads it on a (re)load: which file of each unit name it keeps, which
// names are aliases of which unit (symbolic links between unit names in
// the unit directories, which is also what enabling a unit with Alias=
// creates), and which drop-ins it applies. Files fencer is about to write
// stand in for the host's (the overlay).
type Lookup struct {
	src     Source
	search  []string
	overlay map[string][]byte
	// ids maps each unit name found to its entry.
	ids map[string]*entry
	// listing holds each unit directory's entry names.
	listing map[string]map[string]bool
	files   map[string]fileRead
	// overlayIn lists the overlay's file names by directory.
	overlayIn map[string][]string
	// toUnit maps each unit name to the names that lead to it, masked
	// ones included (aliasesOf), made on first use.
	toUnit map[string][]string
}

type fileRead struct {
	data []byte
	err  error
}

// NewLookup lists the directories of searchPath (in their order of
// precedence, first wins) and builds systemd's name map. overlay maps
// paths of files fencer will write, in those directories (unit files) or
// in drop-in directories of theirs, to their content: each stands where it
// is written, in its directory's place on the search path, as a file (it
// replaces a link of that name).
func NewLookup(src Source, searchPath []string, overlay map[string][]byte) (*Lookup, error) {
	l := &Lookup{src: src, search: searchPath, overlay: overlay,
		ids: map[string]*entry{}, listing: map[string]map[string]bool{}, files: map[string]fileRead{},
		overlayIn: map[string][]string{}}
	for p := range overlay {
		l.overlayIn[path.Dir(p)] = append(l.overlayIn[path.Dir(p)], path.Base(p))
	}
	for _, dir := range searchPath {
		if _, done := l.listing[dir]; done {
			continue
		}
		names, err := src.ReadDir(dir)
		missing := errors.Is(err, fs.ErrNotExist)
		if err != nil && !missing {
			return nil, fmt.Errorf("reading unit directory %s: %w", dir, err)
		}
		var links map[string]string
		if !missing {
			if links, err = src.Links(dir); err != nil {
				return nil, fmt.Errorf("reading unit directory %s: %w", dir, err)
			}
		}
		set := map[string]bool{}
		for _, n := range names {
			set[n] = true
		}
		for p := range overlay {
			switch {
			case path.Dir(p) == dir:
				set[path.Base(p)] = true
				delete(links, path.Base(p))
			case path.Dir(path.Dir(p)) == dir:
				set[path.Base(path.Dir(p))] = true
			}
		}
		l.listing[dir] = set
		sorted := make([]string, 0, len(set))
		for n := range set {
			sorted = append(sorted, n)
		}
		sort.Strings(sorted)
		for _, n := range sorted {
			if classify(n) == 0 || l.ids[n] != nil {
				continue
			}
			e := &entry{name: n, path: dir + "/" + n}
			if t, ok := links[n]; ok {
				if t == "" {
					continue // unreadable: systemd ignores it
				}
				e.target = t
				if underSearchPath(t, searchPath) {
					dst := path.Base(t)
					// An invalid alias is ignored, and so is a link to
					// the same name: a later file of the name counts.
					if !aliasValid(n, dst) || dst == n {
						continue
					}
					e.alias = dst
				}
			}
			l.ids[n] = e
		}
	}
	return l, nil
}

// underSearchPath reports whether p lies in (or is) one of the
// directories (path_startswith_strv).
func underSearchPath(p string, dirs []string) bool {
	for _, d := range dirs {
		d = strings.TrimRight(d, "/")
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// readFile reads a file once, from the overlay or the host.
func (l *Lookup) readFile(p string) ([]byte, error) {
	if b, ok := l.overlay[p]; ok {
		return b, nil
	}
	if r, ok := l.files[p]; ok {
		return r.data, r.err
	}
	b, err := l.src.ReadFile(p)
	l.files[p] = fileRead{b, err}
	return b, err
}

// Names returns every unit name of the search path that ends in suffix
// (".socket"), sorted.
func (l *Lookup) Names(suffix string) []string {
	var out []string
	for n := range l.ids {
		if strings.HasSuffix(n, suffix) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Resolution failures of resolve (unit_ids_map_get's ENOENT, ENXIO and
// ELOOP).
var (
	errNoEntry  = errors.New("no such unit name")
	errDangling = errors.New("alias of a unit that is not found")
	errLoop     = errors.New("too many levels of aliases")
)

// resolve follows name's alias links to the entry of its unit file
// (unit_ids_map_get): at most 8 of them, an alias of an instance falling
// back on its template.
func (l *Lookup) resolve(name string) (*entry, error) {
	id := name
	for n := 0; n < 8; n++ {
		e := l.ids[id]
		if e == nil {
			if id == name {
				return nil, errNoEntry
			}
			if classify(id) != nameInstance {
				return nil, errDangling
			}
			if e = l.ids[templateOf(id)]; e == nil {
				return nil, errDangling
			}
		}
		if e.alias == "" {
			return e, nil
		}
		id = e.alias
	}
	return nil, errLoop
}

// empty reports whether the file at p is empty or a link to /dev/null,
// systemd's null_or_empty_path (an unreadable file counts as such too:
// systemd skips it).
func (l *Lookup) empty(p string) bool {
	b, err := l.readFile(p)
	return err != nil || len(b) == 0
}

// aliasesOf lists the names that lead to the unit name dst: systemd's
// reverse name map (unit_names_map), built from every name whose unit file
// is not masked, for a name leading to a template's file with its
// instance.
func (l *Lookup) aliasesOf(dst string) []string {
	if l.toUnit == nil {
		// Once for the host, not once a unit: a host has thousands.
		l.toUnit = map[string][]string{}
		for src := range l.ids {
			e, err := l.resolve(src)
			if err != nil {
				continue
			}
			d := e.name
			if classify(d) == nameTemplate && classify(src) == nameInstance {
				d = withInstance(d, instanceOf(src))
			}
			l.toUnit[d] = append(l.toUnit[d], src)
		}
	}
	var out []string
	for _, src := range l.toUnit[dst] {
		// Only now read the file: every unit file of the host would
		// be read otherwise.
		if e, _ := l.resolve(src); !l.empty(e.path) {
			out = append(out, src)
		}
	}
	sort.Strings(out)
	return out
}

// addNames adds name and its aliases to names, as systemd's add_names:
// kind and instance are those of the unit name asked for; fragmentName,
// when set, is the name of the unit file found for it. An alias that is a
// template counts, for an instance, with the instance, unless that name
// leads to another unit file.
func (l *Lookup) addNames(names map[string]bool, kind nameKind, instance, fragmentName, name string) error {
	if kind != nameTemplate {
		names[name] = true
	}
	for _, a := range l.aliasesOf(name) {
		if kind == nameInstance && classify(a) == nameTemplate {
			inst := withInstance(a, instance)
			e, err := l.resolve(inst)
			if errors.Is(err, errLoop) {
				return fmt.Errorf("%s: %w", inst, err)
			}
			if e != nil && e.name != fragmentName {
				continue
			}
			names[inst] = true
			continue
		}
		names[a] = true
	}
	return nil
}

// Unit is what systemd loads for a unit name.
type Unit struct {
	// Name is the name asked for.
	Name string
	// ID is the name systemd gives the loaded unit: that of its unit
	// file, for a template's the instance asked for. It differs from
	// Name when Name is an alias.
	ID string
	// Names are all the names of the unit (systemctl show -p Names),
	// sorted, ID among them.
	Names []string
	// Link, when Name is an alias, is the link in a unit directory
	// that makes it one (for an instance, maybe its template's), and
	// LinkTo the unit name it points to.
	Link, LinkTo string
	// Fragments are the unit file, then the drop-ins in the order
	// systemd applies them (sorted by file name).
	Fragments []Fragment
}

// Unit finds what systemd loads for name, the way systemd 252 does
// (unit_file_find_fragment, load-dropin.c): the unit file is the file
// name leads to through the name map (for an instance without one of its
// own, its template's), and the unit's names are name, the name of that
// file and every alias of either. The drop-ins are every "*.conf" (not
// hidden) in "<dir>/<n>.d" for each name n the drop-in search expands a
// unit name to (its template and dash prefixes, dropinNames), first for
// the unit's ID across every directory of the search path, then for each
// other name, then in the type-wide "<dir>/<type>.d"; a file name seen
// before masks the same name later. systemd takes the other names in the
// order of a hash table: when two of them have drop-ins of the same file
// name, which one it reads cannot be known, and Unit fails naming both.
//
// A unit whose file is empty or a link to /dev/null is masked: the error
// wraps ErrMasked. A unit found nowhere wraps ErrNotFound.
func (l *Lookup) Unit(name string) (*Unit, error) {
	kind := classify(name)
	if kind == 0 {
		return nil, CheckName(name)
	}
	instance := ""
	if kind == nameInstance {
		instance = instanceOf(name)
	}
	names := map[string]bool{}
	if err := l.addNames(names, kind, instance, "", name); err != nil {
		return nil, err
	}
	e, err := l.resolve(name)
	if e == nil && kind == nameInstance && !errors.Is(err, errLoop) {
		e, err = l.resolve(templateOf(name))
	}
	if errors.Is(err, errLoop) {
		return nil, fmt.Errorf("unit %s: %w (%s)", name, err, l.linkOf(name))
	}
	if e == nil {
		what := fmt.Sprintf("no file %s", name)
		if kind == nameInstance {
			what += " nor " + templateOf(name)
		}
		if link := l.linkOf(name); link != "" {
			what = fmt.Sprintf("the alias %s leads to no unit file", link)
		}
		return nil, fmt.Errorf("%s: %w: %s in the unit search path %s", name, ErrNotFound, what, strings.Join(l.search, ":"))
	}
	u := &Unit{Name: name, ID: e.name}
	if kind == nameInstance && classify(e.name) == nameTemplate {
		u.ID = withInstance(e.name, instance)
	}
	if e.name != name {
		if err := l.addNames(names, kind, instance, e.name, e.name); err != nil {
			return nil, err
		}
	}
	if u.ID != name {
		if a := l.aliasEntry(name); a != nil {
			u.Link, u.LinkTo = a.path, a.alias
		}
	}
	data, err := l.readFile(e.path)
	if err != nil {
		return nil, fmt.Errorf("unit %s: %w", name, err)
	}
	if len(data) == 0 {
		how := "is empty"
		if e.target != "" {
			how = "is a link to " + e.target
		}
		return nil, &MaskedError{Unit: name, Path: e.path, How: how, Target: e.target}
	}
	u.Fragments = []Fragment{{Path: e.path, Data: data}}

	// Merged into one unit, template names take the instance.
	all := map[string]bool{u.ID: true}
	for n := range names {
		if instance != "" && classify(n) == nameTemplate {
			n = withInstance(n, instance)
		}
		all[n] = true
	}
	for n := range all {
		u.Names = append(u.Names, n)
	}
	sort.Strings(u.Names)

	dropIns, err := l.dropIns(u)
	if err != nil {
		return nil, err
	}
	u.Fragments = append(u.Fragments, dropIns...)
	return u, nil
}

// aliasEntry returns the alias link name (or, for an instance, its
// template) has in the name map, nil when it has none.
func (l *Lookup) aliasEntry(name string) *entry {
	e := l.ids[name]
	if e == nil && classify(name) == nameInstance {
		e = l.ids[templateOf(name)]
	}
	if e == nil || e.alias == "" {
		return nil
	}
	return e
}

// linkOf describes the alias link of name ("PATH → NAME"), "" when it
// has none.
func (l *Lookup) linkOf(name string) string {
	if e := l.aliasEntry(name); e != nil {
		return e.path + " → " + e.alias
	}
	return ""
}

// dropIns finds the unit's drop-ins (see Unit).
func (l *Lookup) dropIns(u *Unit) ([]Fragment, error) {
	// firstIn returns, for each file name, the first file of that name
	// in the drop-in directories of unit name n.
	firstIn := func(n string) (map[string]string, error) {
		out := map[string]string{}
		for _, dir := range l.search {
			for _, dn := range dropinNames(n) {
				if err := l.confFiles(dir, dn+".d", out); err != nil {
					return nil, fmt.Errorf("unit %s: drop-ins: %w", u.Name, err)
				}
			}
		}
		return out, nil
	}
	byName, err := firstIn(u.ID)
	if err != nil {
		return nil, err
	}
	// The other names, in an order systemd does not fix: a file name
	// decided by two of them differently is ambiguous.
	from := map[string]string{}
	others := map[string]string{}
	for _, n := range u.Names {
		if n == u.ID {
			continue
		}
		files, err := firstIn(n)
		if err != nil {
			return nil, err
		}
		for base, p := range files {
			if _, ok := byName[base]; ok {
				continue
			}
			if q, ok := others[base]; ok && q != p {
				return nil, fmt.Errorf("unit %s: the drop-ins %s (for its name %s) and %s (for its name %s) have the same file name, and systemd reads only one of them, in an order of the unit's names that cannot be known; rename or remove one of them",
					u.Name, q, from[base], p, n)
			}
			others[base], from[base] = p, n
		}
	}
	for base, p := range others {
		byName[base] = p
	}
	_, _, typ := splitName(u.ID)
	for _, dir := range l.search {
		if err := l.confFiles(dir, typ+".d", byName); err != nil {
			return nil, fmt.Errorf("unit %s: drop-ins: %w", u.Name, err)
		}
	}

	order := make([]string, 0, len(byName))
	for n := range byName {
		order = append(order, n)
	}
	sort.Strings(order)
	var out []Fragment
	for _, n := range order {
		p := byName[n]
		data, err := l.readFile(p)
		if err != nil {
			return nil, fmt.Errorf("unit %s: drop-in: %w", u.Name, err)
		}
		out = append(out, Fragment{Path: p, Data: data})
	}
	return out, nil
}

// confFiles adds to files the "*.conf" files (not hidden) of drop-in
// directory sub of unit directory dir whose names it does not have yet.
// systemd looks only at drop-in directories its listing of the unit
// directory found.
func (l *Lookup) confFiles(dir, sub string, files map[string]string) error {
	if !l.listing[dir][sub] {
		return nil
	}
	d := dir + "/" + sub
	entries, err := l.src.ReadDir(d)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	entries = append(entries, l.overlayIn[d]...)
	sort.Strings(entries)
	for _, e := range entries {
		if !strings.HasSuffix(e, ".conf") || strings.HasPrefix(e, ".") {
			continue
		}
		if _, ok := files[e]; !ok {
			files[e] = d + "/" + e
		}
	}
	return nil
}
