package plan

import (
	"context"
	"fmt"

	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/unitfile"
)

// SocketFiles is a socket unit that passes its fds to a service, with the
// files systemd reads for it.
type SocketFiles struct {
	Unit      string
	Fragments []unitfile.Fragment
}

// UnitFiles reads what systemd loads for the service unit on host t, the
// way a plan reads it: the unit's file and drop-ins (unitfile.Lookup.Unit
// on the host's unit search path), and every socket unit that passes it
// fds (by Service= or by name), in the order of their names. fencer
// record reads a unit's starting fds from them.
func UnitFiles(ctx context.Context, t host.Reader, facts *host.Facts, unit string) (*unitfile.Unit, []SocketFiles, error) {
	lk, err := hostLookup(ctx, t, facts, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("host %s: %w", t.Name(), err)
	}
	u, err := lk.Unit(unit)
	if err != nil {
		return nil, nil, fmt.Errorf("host %s: reading unit %s: %w", t.Name(), unit, err)
	}
	scan, err := scanSockets(lk, u, "")
	if err != nil {
		return nil, nil, fmt.Errorf("host %s: unit %s: %w", t.Name(), unit, err)
	}
	var socks []SocketFiles
	for _, f := range scan.feeds {
		socks = append(socks, SocketFiles{Unit: f.name, Fragments: f.frags})
	}
	return u, socks, nil
}
