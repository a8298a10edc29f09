package host

import (
	"context"

	"github.com/fencer-dev/fencer/internal/unitfile"
)

// UnitLookup reads r's unit search path the way systemd's manager reads
// it (unitfile.NewLookup), through r: what plan reads of a unit, and
// fencer import systemd too. overlay's files stand in for the host's.
func UnitLookup(ctx context.Context, r Reader, searchPath []string, overlay map[string][]byte) (*unitfile.Lookup, error) {
	src := unitfile.Source{
		ReadFile: func(p string) ([]byte, error) {
			b, _, err := r.ReadFile(ctx, p)
			return b, err
		},
		ReadDir: func(p string) ([]string, error) { return r.ReadDir(ctx, p) },
		Links:   func(p string) (map[string]string, error) { return r.Links(ctx, p) },
	}
	return unitfile.NewLookup(src, searchPath, overlay)
}
