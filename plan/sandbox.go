package plan

import (
	"sort"
	"strings"

	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/unitfile"
)

// A unit's sandboxing settings build a mount namespace for the service, in
// which systemd then execs ExecStart=: the loader, which reads the filter
// file. A setting that hides either from that namespace makes the service
// fail to start (203/EXEC, or the loader's refusal), so plan must see it.
// sandboxView models what systemd 252 mounts (src/core/namespace.c): every
// setting becomes mounts at paths, and for a path the deepest mount above it
// decides what the service sees there, as systemd applies them sorted by
// depth.

// sandboxMount is one path of the service's namespace and what is there.
type sandboxMount struct {
	at string
	// re is set instead of at for a path with specifiers fencer does not
	// expand (the manager's directories, the host's names): it stands for
	// every path the setting's path may be on a host; unknown names those
	// specifiers ("%E").
	re      wildcard
	unknown string
	// kind: "hidden" (an empty or inaccessible directory, a private tmp),
	// "other" (other files over it: a bind of another host path, an
	// image, a system extension), "same" (the host's own path, bound in
	// place), "noexec", "exec".
	kind string
	// perhaps is set when it may leave the path as it is (a system
	// extension puts only the files it has).
	perhaps bool
	// key is the setting's name and set its assignment.
	key string
	set unitfile.Setting
}

// under reports whether p is at or below dir.
func under(p, dir string) bool {
	dir = strings.TrimSuffix(dir, "/")
	return p == dir || strings.HasPrefix(p, dir+"/") || dir == ""
}

// covers reports whether m's path is at or above p.
func (m *sandboxMount) covers(p string) bool {
	if m.re != nil {
		// p, or a directory above it, may be the path.
		if m.re.match("/") {
			return true
		}
		for i := 1; i <= len(p); i++ {
			if (i == len(p) || p[i] == '/') && m.re.match(p[:i]) {
				return true
			}
		}
		return false
	}
	return under(p, m.at)
}

// pathSpecifiers are the specifiers of systemd 252's unit_full_printf,
// which it expands in these settings' paths, that fencer leaves unknown:
// the manager's directories (%h, %t, %E, %S, %C, %L, %T, %V, %d), the
// host's and the manager's user's names and ids, the unit file's path
// (%y, %Y), the cgroup paths and the name's unescaped forms. A path that
// uses one may be anywhere.
const pathSpecifiers = "abcdfghlmoqrstuvwyABCEGHIJLMNPRSTUVWY"

// mountAt makes the mount of a setting's path word w, as systemd 252 reads
// it for unit (unit_path_printf, then path_simplify_and_warn): ok is false
// for a word systemd ignores (an unknown specifier, a relative path, a
// ".." component).
func mountAt(w, unit string, known map[byte]string, m sandboxMount) (sandboxMount, bool) {
	x, used, ok := expand(w, unit, known, pathSpecifiers)
	if !ok {
		return m, false
	}
	var parts []string
	for _, c := range strings.Split(x, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return m, false
		}
		parts = append(parts, c)
	}
	switch {
	case strings.HasPrefix(x, "/"):
		x = "/" + strings.Join(parts, "/")
	case strings.HasPrefix(x, unknownText):
		x = strings.Join(parts, "/")
	default:
		return m, false
	}
	if used == "" {
		m.at = x
	} else {
		m.re, m.unknown = newWildcard(x), used
	}
	return m, true
}

// sandboxMounts reads the unit's settings that change what its service
// sees of the host's files (theirs: the unit file and drop-ins without
// fencer's; unit: its name, and known the specifiers the host's scope
// fixes, for specifiers), as systemd 252 parses them.
func sandboxMounts(theirs []unitfile.Fragment, unit string, known map[byte]string) (mounts []sandboxMount, root *sandboxMount, err error) {
	r := &mountReader{theirs: theirs, unit: unit, known: known}
	for _, step := range []func() error{r.tmp, r.home, r.temporaryFileSystem, r.inaccessible, r.binds, r.execPaths, r.extensions, r.images, r.root} {
		if err := step(); err != nil {
			return nil, nil, err
		}
	}
	// Deepest last: for a path, the last mount above it decides. A path
	// fencer does not know has no depth; sandboxProblems takes it apart.
	sort.SliceStable(r.mounts, func(i, j int) bool {
		return strings.Count(r.mounts[i].at, "/") < strings.Count(r.mounts[j].at, "/")
	})
	return r.mounts, r.rootMount, nil
}

// mountReader reads the mounts of a unit's sandbox (sandboxMounts): each
// method reads one kind of setting.
type mountReader struct {
	theirs    []unitfile.Fragment
	unit      string
	known     map[byte]string
	mounts    []sandboxMount
	rootMount *sandboxMount
}

// last returns the last assignment of key valid for valid, the empty one
// resetting to nothing.
func (r *mountReader) last(key string, valid func(string) bool) (*unitfile.Setting, error) {
	as, err := unitfile.Assignments(r.theirs, "Service", key)
	if err != nil {
		return nil, err
	}
	var out *unitfile.Setting
	for i := range as {
		switch {
		case as[i].Value == "":
			out = nil
		case valid(as[i].Value):
			out = &as[i]
		}
	}
	return out, nil
}

// list returns the words of key's list of paths since its last reset,
// each with the assignment it is in.
func (r *mountReader) list(key string) ([]string, []unitfile.Setting, error) {
	as, err := unitfile.Assignments(r.theirs, "Service", key)
	if err != nil {
		return nil, nil, err
	}
	var words []string
	var from []unitfile.Setting
	for _, a := range as {
		if a.Value == "" {
			words, from = nil, nil
			continue
		}
		for _, w := range unitfile.PathWords(a.Value) {
			words = append(words, w)
			from = append(from, a)
		}
	}
	return words, from, nil
}

// each calls add for each value of key since its last reset: the
// mounts it adds are the setting's.
func (r *mountReader) each(key string, add func(a unitfile.Setting, mounts *[]sandboxMount)) error {
	as, err := unitfile.Assignments(r.theirs, "Service", key)
	if err != nil {
		return err
	}
	var mounts []sandboxMount
	for _, a := range as {
		if a.Value == "" {
			mounts = nil
			continue
		}
		add(a, &mounts)
	}
	r.mounts = append(r.mounts, mounts...)
	return nil
}

// add adds the mount m at word w, when systemd takes it.
func (r *mountReader) add(w string, m sandboxMount) {
	if m, ok := mountAt(w, r.unit, r.known, m); ok {
		r.mounts = append(r.mounts, m)
	}
}

// hide adds hidden mounts of dirs for the setting s of key.
func (r *mountReader) hide(dirs []string, key string, s unitfile.Setting) {
	for _, d := range dirs {
		r.mounts = append(r.mounts, sandboxMount{at: d, kind: "hidden", key: key, set: s})
	}
}

func isBool(v string) bool { _, ok := unitfile.ParseBool(v); return ok }

func truthy(s *unitfile.Setting) bool {
	if s == nil {
		return false
	}
	b, _ := unitfile.ParseBool(s.Value)
	return b
}

// prefixed strips a path list word's "-" and "+" prefixes, in the only
// order systemd accepts them.
func prefixed(w string) string {
	w = strings.TrimPrefix(w, "-")
	return strings.TrimPrefix(w, "+")
}

// tmp reads PrivateTmp= and DynamicUser=, which implies PrivateTmp=yes,
// whatever it says.
func (r *mountReader) tmp() error {
	private, err := r.last("PrivateTmp", isBool)
	if err != nil {
		return err
	}
	dynamic, err := r.last("DynamicUser", isBool)
	if err != nil {
		return err
	}
	switch {
	case truthy(dynamic):
		r.hide([]string{"/tmp", "/var/tmp"}, "DynamicUser", *dynamic)
	case truthy(private):
		r.hide([]string{"/tmp", "/var/tmp"}, "PrivateTmp", *private)
	}
	return nil
}

// home reads ProtectHome=.
func (r *mountReader) home() error {
	home, err := r.last("ProtectHome", func(v string) bool { return isBool(v) || v == "read-only" || v == "tmpfs" })
	if err != nil {
		return err
	}
	if home != nil && (truthy(home) || home.Value == "tmpfs") {
		r.hide([]string{"/home", "/root", "/run/user"}, "ProtectHome", *home)
	}
	return nil
}

// temporaryFileSystem reads TemporaryFileSystem=.
func (r *mountReader) temporaryFileSystem() error {
	words, from, err := r.list("TemporaryFileSystem")
	if err != nil {
		return err
	}
	for i, w := range words {
		if p, ok := unitfile.TemporaryPath(w); ok {
			r.add(p, sandboxMount{kind: "hidden", key: "TemporaryFileSystem", set: from[i]})
		}
	}
	return nil
}

// inaccessible reads InaccessiblePaths=.
func (r *mountReader) inaccessible() error {
	words, from, err := r.list("InaccessiblePaths")
	if err != nil {
		return err
	}
	for i, w := range words {
		r.add(prefixed(w), sandboxMount{kind: "hidden", key: "InaccessiblePaths", set: from[i]})
	}
	return nil
}

// binds reads BindPaths= and BindReadOnlyPaths=: a bind of a path onto
// itself leaves it the same.
func (r *mountReader) binds() error {
	for _, key := range []string{"BindPaths", "BindReadOnlyPaths"} {
		err := r.each(key, func(a unitfile.Setting, binds *[]sandboxMount) {
			for _, e := range unitfile.BindPaths(a.Value) {
				src := strings.TrimPrefix(e.Source, "-")
				dst := e.Dest
				if dst == "" {
					dst = src
				}
				s, ok := mountAt(src, r.unit, r.known, sandboxMount{})
				if !ok {
					continue
				}
				m, ok := mountAt(dst, r.unit, r.known, sandboxMount{kind: "other", key: key, set: a})
				if !ok {
					continue
				}
				if s.at == m.at && s.re == nil && m.re == nil || s.re != nil && m.re != nil && strings.Join(s.re, unknownText) == strings.Join(m.re, unknownText) {
					m.kind = "same"
				}
				*binds = append(*binds, m)
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// execPaths reads NoExecPaths= and ExecPaths=.
func (r *mountReader) execPaths() error {
	for _, key := range []string{"NoExecPaths", "ExecPaths"} {
		words, from, err := r.list(key)
		if err != nil {
			return err
		}
		kind := map[string]string{"NoExecPaths": "noexec", "ExecPaths": "exec"}[key]
		for i, w := range words {
			r.add(prefixed(w), sandboxMount{kind: kind, key: key, set: from[i]})
		}
	}
	return nil
}

// extensions reads ExtensionDirectories= and ExtensionImages=: system
// extensions are merged over /usr and /opt (systemd-sysext's
// hierarchies), their files taking the place of the host's there.
func (r *mountReader) extensions() error {
	for _, key := range []string{"ExtensionDirectories", "ExtensionImages"} {
		words, from, err := r.list(key)
		if err != nil {
			return err
		}
		if len(words) > 0 {
			for _, d := range []string{"/usr", "/opt"} {
				r.mounts = append(r.mounts, sandboxMount{at: d, kind: "other", perhaps: true, key: key, set: from[len(from)-1]})
			}
		}
	}
	return nil
}

// images reads MountImages=.
func (r *mountReader) images() error {
	return r.each("MountImages", func(a unitfile.Setting, images *[]sandboxMount) {
		for _, dst := range unitfile.MountImages(a.Value) {
			if m, ok := mountAt(dst, r.unit, r.known, sandboxMount{kind: "other", key: "MountImages", set: a}); ok {
				*images = append(*images, m)
			}
		}
	})
}

// root reads RootDirectory= and RootImage=.
func (r *mountReader) root() error {
	for _, key := range []string{"RootDirectory", "RootImage"} {
		s, err := r.last(key, func(string) bool { return true })
		if err != nil {
			return err
		}
		if s != nil {
			r.rootMount = &sandboxMount{at: s.Value, kind: "root", key: key, set: *s}
		}
	}
	return nil
}

// scopeSpecifiers returns the specifiers of the manager's directories
// that the host's scope fixes (unit_full_printf): all of the system
// manager's, and a user manager's configuration directory (%E, whose
// systemd/user is the unit directory fencer writes to).
func scopeSpecifiers(f *host.Facts) map[byte]string {
	if f.Scope == "system" {
		return map[byte]string{'E': "/etc", 't': "/run", 'S': "/var/lib", 'C': "/var/cache", 'L': "/var/log", 'T': "/tmp", 'V': "/var/tmp"}
	}
	if config, ok := strings.CutSuffix(f.Paths.UnitDir, "/systemd/user"); ok && strings.HasPrefix(config, "/") {
		return map[byte]string{'E': config}
	}
	return nil
}

// sandboxProblems says, for each of fencer's files the service needs at
// start (files: which it is, "loader" or "filter", by host path),
// which setting of the unit hides it from the service or may put another
// file in its place; exec lists the files that are executed (the loader),
// which NoExecPaths= also breaks. unit is the unit's name and known the
// specifiers the host's scope fixes (scopeSpecifiers), for the specifiers
// systemd expands in the settings' paths.
func sandboxProblems(theirs []unitfile.Fragment, unit string, known map[byte]string, files [][2]string, exec map[string]bool) ([]Override, error) {
	mounts, root, err := sandboxMounts(theirs, unit, known)
	if err != nil {
		return nil, err
	}
	var out []Override
	for _, f := range files {
		of, p := f[0], f[1]
		var seen, execMount, maybe *sandboxMount
		for i := range mounts {
			m := &mounts[i]
			if !m.covers(p) {
				continue
			}
			switch {
			case m.re != nil:
				// Where it is, and so which mount decides, is
				// unknown: one that may hide or replace the path
				// is a problem, one that may show it proves
				// nothing.
				if m.kind == "hidden" || m.kind == "other" || m.kind == "noexec" && exec[p] {
					maybe = m
				}
			case m.kind == "noexec" || m.kind == "exec":
				execMount = m
			default:
				seen = m
			}
		}
		// The mount that decides what the service sees at p, when that
		// is a problem.
		var m *sandboxMount
		switch {
		case maybe != nil:
			m = maybe
		case seen != nil && (seen.perhaps || seen.kind == "hidden" || seen.kind == "other"):
			m = seen
		case root != nil && (seen == nil || seen.kind != "same"):
			m = root
		case exec[p] && execMount != nil && execMount.kind == "noexec":
			m = execMount
		default:
			continue
		}
		o := Override{Kind: OverrideSandbox, Path: p, Setting: m.key, Value: m.set.Value, File: m.set.Path, Line: m.set.Line,
			Sandbox: &Sandboxed{Of: of, Effect: m.kind, Maybe: m == maybe || m.perhaps}}
		if m == maybe {
			o.Sandbox.Unknown = m.unknown
		}
		out = append(out, o)
	}
	return out, nil
}
