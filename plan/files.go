package plan

import (
	"path"

	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/plan/unittext"
)

// File is one file fencer wants on a host.
type File struct {
	Path    string
	Content []byte
	Mode    uint32
	// Binary files are shown by size and hash, text files by a diff.
	Binary bool
	// Units lists the units whose behaviour the file changes.
	Units []string
	// Role says what the file is, for people: "drop-in", "socket unit",
	// "filter", "unit file", "loader".
	Role string
	// Remove says the file must not exist: it is deleted where it does
	// (a filter a service no longer uses).
	Remove bool
}

// filterPath is where a service's compiled filter goes.
func filterPath(p host.Paths, unit string) string { return path.Join(p.FilterDir, unit+".bpf") }

// dropInPath is fencer's drop-in for a unit.
func dropInPath(p host.Paths, unit string) string {
	return path.Join(p.UnitDir, unit+".d", unittext.DropInName)
}
