package plan

import (
	"fmt"
	"path"
	"sort"
	"strings"

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
	// kind: "hidden" (an empty or inaccessible directory, a private tmp),
	// "other" (a bind of another host path over it), "same" (the host's
	// own path, bound in place), "noexec", "exec".
	kind string
	// why is the setting, "Key=value (file:line)".
	why string
	// fix says what to do about it.
	fix string
}

// under reports whether p is at or below dir.
func under(p, dir string) bool {
	dir = strings.TrimSuffix(dir, "/")
	return p == dir || strings.HasPrefix(p, dir+"/") || dir == ""
}

// sandboxMounts reads the unit's settings that change what its service
// sees of the host's files (theirs: the unit file and drop-ins without
// fencer's).
func sandboxMounts(theirs []unitfile.Fragment) (mounts []sandboxMount, root *sandboxMount, err error) {
	where := func(a unitfile.Setting, key string) string {
		return fmt.Sprintf("%s=%s (%s:%d)", key, a.Value, a.Path, a.Line)
	}
	// last returns the last assignment valid for parse, the empty one
	// resetting to nothing.
	last := func(key string, valid func(string) bool) (*unitfile.Setting, error) {
		as, err := unitfile.Assignments(theirs, "Service", key)
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
	isBool := func(v string) bool { _, ok := unitfile.ParseBool(v); return ok }
	truthy := func(s *unitfile.Setting) bool {
		if s == nil {
			return false
		}
		b, _ := unitfile.ParseBool(s.Value)
		return b
	}
	// list returns the words of a list setting since its last reset.
	list := func(key string) ([]string, []unitfile.Setting, error) {
		as, err := unitfile.Assignments(theirs, "Service", key)
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
			ws, err := unitfile.Words(a.Value)
			if err != nil {
				continue // systemd ignores the line with a warning
			}
			for _, w := range ws {
				words = append(words, w)
				from = append(from, a)
			}
		}
		return words, from, nil
	}

	private, err := last("PrivateTmp", isBool)
	if err != nil {
		return nil, nil, err
	}
	dynamic, err := last("DynamicUser", isBool)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case truthy(dynamic):
		// DynamicUser=yes implies PrivateTmp=yes, whatever it says.
		for _, d := range []string{"/tmp", "/var/tmp"} {
			mounts = append(mounts, sandboxMount{at: d, kind: "hidden", why: where(*dynamic, "DynamicUser") + ", which implies PrivateTmp=yes,",
				fix: "keep fencer_path and the filter out of /tmp and /var/tmp"})
		}
	case truthy(private):
		for _, d := range []string{"/tmp", "/var/tmp"} {
			mounts = append(mounts, sandboxMount{at: d, kind: "hidden", why: where(*private, "PrivateTmp"),
				fix: "keep fencer_path and the filter out of /tmp and /var/tmp"})
		}
	}
	home, err := last("ProtectHome", func(v string) bool { return isBool(v) || v == "read-only" || v == "tmpfs" })
	if err != nil {
		return nil, nil, err
	}
	if home != nil && (truthy(home) || home.Value == "tmpfs") {
		for _, d := range []string{"/home", "/root", "/run/user"} {
			mounts = append(mounts, sandboxMount{at: d, kind: "hidden", why: where(*home, "ProtectHome"),
				fix: "keep fencer_path and the filter out of /home, /root and /run/user, or use ProtectHome=read-only"})
		}
	}
	words, from, err := list("TemporaryFileSystem")
	if err != nil {
		return nil, nil, err
	}
	for i, w := range words {
		p, _, _ := strings.Cut(w, ":")
		mounts = append(mounts, sandboxMount{at: path.Clean(p), kind: "hidden", why: where(from[i], "TemporaryFileSystem"),
			fix: "bind the path back with BindReadOnlyPaths=, or keep fencer's files out of it"})
	}
	words, from, err = list("InaccessiblePaths")
	if err != nil {
		return nil, nil, err
	}
	for i, w := range words {
		p := strings.TrimLeft(w, "-+")
		mounts = append(mounts, sandboxMount{at: path.Clean(p), kind: "hidden", why: where(from[i], "InaccessiblePaths"),
			fix: "keep fencer's files out of the inaccessible path"})
	}
	for _, key := range []string{"BindPaths", "BindReadOnlyPaths"} {
		words, from, err = list(key)
		if err != nil {
			return nil, nil, err
		}
		for i, w := range words {
			w = strings.TrimPrefix(w, "-")
			src, rest, _ := strings.Cut(w, ":")
			dst, _, _ := strings.Cut(rest, ":")
			if dst == "" {
				dst = src
			}
			kind := "other"
			if path.Clean(src) == path.Clean(dst) {
				kind = "same"
			}
			mounts = append(mounts, sandboxMount{at: path.Clean(dst), kind: kind, why: where(from[i], key),
				fix: "bind the host's own path there, or keep fencer's files out of it"})
		}
	}
	for _, key := range []string{"NoExecPaths", "ExecPaths"} {
		words, from, err = list(key)
		if err != nil {
			return nil, nil, err
		}
		kind := map[string]string{"NoExecPaths": "noexec", "ExecPaths": "exec"}[key]
		for i, w := range words {
			mounts = append(mounts, sandboxMount{at: path.Clean(strings.TrimLeft(w, "-+")), kind: kind, why: where(from[i], key),
				fix: "allow executing the loader with ExecPaths=, or put fencer_path elsewhere"})
		}
	}
	for _, key := range []string{"RootDirectory", "RootImage"} {
		s, err := last(key, func(string) bool { return true })
		if err != nil {
			return nil, nil, err
		}
		if s != nil {
			root = &sandboxMount{at: s.Value, kind: "root", why: where(*s, key),
				fix: "bind the loader and the filter into it in place with BindReadOnlyPaths=PATH"}
		}
	}
	// Deepest last: for a path, the last mount above it decides.
	sort.SliceStable(mounts, func(i, j int) bool {
		return strings.Count(mounts[i].at, "/") < strings.Count(mounts[j].at, "/")
	})
	return mounts, root, nil
}

// sandboxProblems says, for each of fencer's files the service needs at
// start (files: what it is, "the loader" or "the filter", by host path),
// which setting of the unit hides it from the service; exec lists the
// files that are executed (the loader), which NoExecPaths= also breaks.
func sandboxProblems(theirs []unitfile.Fragment, files [][2]string, exec map[string]bool) ([]Override, error) {
	mounts, root, err := sandboxMounts(theirs)
	if err != nil {
		return nil, err
	}
	var out []Override
	for _, f := range files {
		what, p := f[0], f[1]
		var seen, execMount *sandboxMount
		for i := range mounts {
			m := &mounts[i]
			if !under(p, m.at) {
				continue
			}
			switch m.kind {
			case "noexec", "exec":
				execMount = m
			default:
				seen = m
			}
		}
		problem := func(m *sandboxMount, format string) {
			out = append(out, Override{Path: p, Problem: fmt.Sprintf(format+", so systemd could not start the service (status 203/EXEC) or the loader would refuse to: %s",
				m.why, what, p, m.fix)})
		}
		switch {
		case seen != nil && seen.kind == "hidden":
			problem(seen, "%s hides %s (%s) from the service")
		case seen != nil && seen.kind == "other":
			problem(seen, "%s puts another host path over %s (%s) for the service")
		case root != nil && (seen == nil || seen.kind != "same"):
			problem(root, "%s gives the service a root directory of its own, into which %s (%s) is not bound")
		case exec[p] && execMount != nil && execMount.kind == "noexec":
			problem(execMount, "%s forbids the service to execute %s (%s)")
		}
	}
	return out, nil
}
