package plan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/plan/unittext"
)

// OriginalPath is where fencer keeps the original of host file p when it
// takes it over: p's path below the unit directory, under OriginalDir
// (/etc/systemd/system/m.service -> /etc/fencer/originals/m.service).
// It returns "" for a path outside the unit directory, which fencer never
// takes over.
func OriginalPath(ps host.Paths, p string) string {
	rel, ok := strings.CutPrefix(p, ps.UnitDir+"/")
	if !ok || rel == "" || path.Clean(rel) != rel || strings.HasPrefix(rel, "../") {
		return ""
	}
	return path.Join(ps.OriginalDir, rel)
}

// OriginalOf is OriginalPath backwards: the host file whose original is
// kept at orig, or "" when orig is not in OriginalDir.
func OriginalOf(ps host.Paths, orig string) string {
	rel, ok := strings.CutPrefix(orig, ps.OriginalDir+"/")
	if !ok || rel == "" || path.Clean(rel) != rel || strings.HasPrefix(rel, "../") {
		return ""
	}
	return path.Join(ps.UnitDir, rel)
}

// KeepMode is the mode fencer keeps a file with that it takes over: its
// permission bits, 0644 for what is not a regular file (/dev/null, which
// masks a unit, is kept as an empty file, which masks it too).
func KeepMode(mode fs.FileMode) uint32 {
	if !mode.IsRegular() {
		return 0o644
	}
	return uint32(mode.Perm())
}

// takeOver marks ch, the update of a file that is not the configuration's
// (cur, with mode), as a take-over, and returns the change that keeps the
// file at its OriginalPath first.
func takeOver(ctx context.Context, t host.Reader, ps host.Paths, ch *Change, cur []byte, mode fs.FileMode) (*Change, error) {
	orig := OriginalPath(ps, ch.Path)
	if orig == "" {
		return nil, fmt.Errorf("%s is not fencer's, and fencer keeps originals only of files in %s", ch.Path, ps.UnitDir)
	}
	ch.TakeOver, ch.Original = true, orig
	if h, ok := unittext.ParseHeader(cur); ok {
		ch.Owner = h.Config
	}
	keep := &Change{Path: orig, Role: RoleOriginal, Binary: true, Mode: KeepMode(mode), Content: cur, NewSHA256: Hash(cur), Action: Create}
	old, oldMode, err := t.ReadFile(ctx, orig)
	switch {
	case err == nil:
		// An earlier take-over kept the file as it was then.
		keep.PriorSHA256, keep.PriorSize, keep.PriorMode = Hash(old), len(old), uint32(oldMode.Perm())
		keep.Action = Update
		switch {
		case string(old) == string(cur) && KeepMode(oldMode) == keep.Mode:
			keep.Action = NoOp
		case unittext.Managed(cur):
			// The file is another configuration's (or this one's
			// under its former id): the kept copy is the file from
			// before fencer, which destroy must put back, and that
			// configuration's file is not worth losing it for.
			keep.Content, keep.NewSHA256, keep.Mode, keep.Action = old, Hash(old), KeepMode(oldMode), NoOp
		}
		// Otherwise someone wrote the file again since: this is the
		// one to keep.
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("reading %s: %w", orig, err)
	}
	return keep, nil
}

// removal returns the changes that remove ch's file, the configuration's:
// its deletion, or, when fencer took it over, the original put back in
// its place and then removed from where it was kept.
func removal(ctx context.Context, t host.Reader, ps host.Paths, ch *Change) ([]*Change, error) {
	orig := ""
	if !ch.Binary {
		orig = OriginalPath(ps, ch.Path)
	}
	if orig == "" {
		ch.Action = Delete
		return []*Change{ch}, nil
	}
	b, mode, err := t.ReadFile(ctx, orig)
	if errors.Is(err, fs.ErrNotExist) {
		ch.Action = Delete
		return []*Change{ch}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", orig, err)
	}
	ch.Action, ch.Restore, ch.Original = Update, true, orig
	ch.Content, ch.NewSHA256, ch.Mode = b, Hash(b), uint32(mode.Perm())
	del := &Change{Path: orig, Action: Delete, Role: RoleOriginal, Binary: true, Mode: uint32(mode.Perm()),
		PriorSHA256: Hash(b), PriorSize: len(b), PriorMode: uint32(mode.Perm())}
	return []*Change{ch, del}, nil
}

// orphans finds, in the host's unit directory, the files of the
// configuration (id) that the plan does not want — those of a unit that
// was renamed, or whose service left the configuration or this host —
// with the filter of each such unit: the files to remove. Links are not
// fencer's files, and the file's name must be what the header says it is
// for (m.service's drop-in in m.service.d, its socket unit m.socket), so
// that a file of fencer's under another name (an alias) is not taken for
// one. Files of a
// unit still planned (services) are not removed but noted: planning the
// unit read them as the unit's. Neither are files of fencer's from before
// configurations had ids, which may be any configuration's. A destroy
// plan removes every file of the configuration.
//
// A configuration whose id is the default, its directory's name (declared
// false), removes no such file: another configuration in a directory of
// the same name has that id too, and its files would look like this one's.
// They are noted, with the fix: declaring the id says they are this
// configuration's.
func orphans(ctx context.Context, t host.Reader, ps host.Paths, want []*File, services []*hclspec.Service, id string, declared, destroy bool) ([]*File, []Note, error) {
	names, err := t.ReadDir(ctx, ps.UnitDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("listing %s: %w", ps.UnitDir, err)
	}
	// fencer writes regular files: a link (an alias of a unit, say) is
	// not one of them, whatever it points to.
	links, err := t.Links(ctx, ps.UnitDir)
	if err != nil {
		return nil, nil, fmt.Errorf("listing %s: %w", ps.UnitDir, err)
	}
	wanted := map[string]bool{}
	for _, f := range want {
		wanted[f.Path] = true
	}
	planned := map[string]bool{}
	for _, svc := range services {
		planned[svc.Unit] = true
	}
	var gone []*File
	var notes []Note
	units := map[string]bool{}
	for _, n := range names {
		p := path.Join(ps.UnitDir, n)
		if strings.HasSuffix(n, ".service.d") {
			p = path.Join(p, unittext.DropInName)
		} else if !strings.HasSuffix(n, ".service") && !strings.HasSuffix(n, ".socket") {
			continue
		}
		if _, link := links[n]; link || wanted[p] {
			continue
		}
		// fencer writes regular files, which it can read: what it
		// cannot (a link out of the search path, a FIFO) is not one of
		// them.
		b, _, err := t.ReadFile(ctx, p)
		if err != nil {
			continue
		}
		h, ok := unittext.ParseHeader(b)
		if !ok || (h.Config != "" && h.Config != id) {
			continue
		}
		if h.Config == "" {
			notes = append(notes, Note{Kind: NoteLegacyHeader, Path: p})
			continue
		}
		role, ok := entryRole(n, h.Unit)
		if !ok {
			continue
		}
		if planned[h.Unit] && !destroy {
			notes = append(notes, Note{Kind: NoteNoLongerPlanned, Path: p, Role: role, Unit: h.Unit})
			continue
		}
		if !declared {
			notes = append(notes, Note{Kind: NoteDefaultID, Path: p, Role: role, Unit: h.Unit, ID: id})
			continue
		}
		units[h.Unit] = true
		gone = append(gone, &File{Path: p, Role: role, Mode: role.Mode(), Units: []string{role.Unit(h.Unit)}})
	}
	var sorted []string
	for u := range units {
		sorted = append(sorted, u)
	}
	sort.Strings(sorted)
	for _, u := range sorted {
		f := RoleFilter.Path(ps, u)
		if wanted[f] {
			continue
		}
		// compare leaves it, with a note, when another configuration's
		// drop-in runs it.
		gone = append(gone, &File{Path: f, Role: RoleFilter, Mode: RoleFilter.Mode(), Binary: true, Units: []string{u}})
	}
	return gone, notes, nil
}

// foreignDropIn returns the path of fencer's drop-in for unit on the host
// when it exists and is not the configuration's (id), and the
// configuration it belongs to ("" for none: it has no header of fencer's);
// "" otherwise.
func foreignDropIn(ctx context.Context, t host.Reader, ps host.Paths, unit, id string) (string, string, error) {
	d := RoleDropIn.Path(ps, unit)
	b, _, err := t.ReadFile(ctx, d)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", "", nil
	case err != nil:
		return "", "", fmt.Errorf("reading %s: %w", d, err)
	case unittext.OwnedBy(b, id):
		return "", "", nil
	}
	return d, unittext.Owner(b), nil
}

// keptCopy returns the deletion of the original fencer kept of the file at
// p when the file is that original again (cur): a removal that put it
// back and stopped before it removed the copy. nil when there is none.
func keptCopy(ctx context.Context, t host.Reader, ps host.Paths, p string, cur []byte) (*Change, error) {
	orig := OriginalPath(ps, p)
	if orig == "" {
		return nil, nil
	}
	b, mode, err := t.ReadFile(ctx, orig)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", orig, err)
	case string(b) != string(cur):
		return nil, nil
	}
	return &Change{Path: orig, Action: Delete, Role: RoleOriginal, Binary: true, Mode: uint32(mode.Perm()),
		PriorSHA256: Hash(b), PriorSize: len(b), PriorMode: uint32(mode.Perm())}, nil
}

// KeepsEarlier reports whether the take-over ch leaves in place the
// original fencer kept of its file before (another configuration's file is
// replaced, and the file from before fencer stays kept): the plan does not
// change the original, which is not ch's file.
func KeepsEarlier(h *HostPlan, ch *Change) bool {
	if !ch.TakeOver {
		return false
	}
	for _, o := range h.Changes {
		if o.Path == ch.Original {
			return o.Action == NoOp && o.NewSHA256 != ch.PriorSHA256
		}
	}
	return false
}
