package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/observe"
	"github.com/fencer-dev/fencer/internal/recorder"
	"github.com/fencer-dev/fencer/plan"
)

// recordUnit records the unit -unit names under its manager (the
// system's, or with -user the user's), reading its files and socket units
// as plan does.
func (o *recordOptions) recordUnit(ctx context.Context, c *cli) (*observe.Recording, error) {
	unit := o.unit
	if !strings.Contains(unit, ".") {
		unit += ".service"
	}
	if !strings.HasSuffix(unit, ".service") {
		return nil, usagef("-unit=%s: only a service can be recorded", o.unit)
	}
	scope := host.ScopeSystem
	if o.user {
		scope = host.ScopeUser
	}
	h, err := host.LocalEnv("local", scope, c.environ)
	if err != nil {
		return nil, err
	}
	facts, err := h.Facts(ctx)
	if err != nil {
		return nil, err
	}
	if !facts.Live {
		return nil, fmt.Errorf("no systemd manager runs for the %s scope here: -unit records a unit its manager runs", scope)
	}
	u, socks, err := plan.UnitFiles(ctx, h, facts, unit)
	if err != nil {
		return nil, err
	}
	uo := recorder.UnitOptions{Unit: u.ID, Fragments: u.Fragments, Systemd: h,
		DropInDir: "/run/systemd/system", FifoDir: "/run"}
	if scope == host.ScopeUser {
		rt := envValue(c.environ, "XDG_RUNTIME_DIR")
		if !filepath.IsAbs(rt) {
			return nil, fmt.Errorf("-user needs XDG_RUNTIME_DIR, the user manager's runtime directory")
		}
		uo.DropInDir, uo.FifoDir = filepath.Join(rt, "systemd", "user"), rt
	}
	if !slices.Contains(facts.UnitSearchPath, uo.DropInDir) {
		return nil, fmt.Errorf("the %s manager does not read %s (its unit search path is %s): fencer record puts its temporary drop-in there", scope, uo.DropInDir, strings.Join(facts.UnitSearchPath, ":"))
	}
	for _, s := range socks {
		uo.Sockets = append(uo.Sockets, recorder.SocketUnit{Name: s.Unit, Fragments: s.Fragments})
	}
	if uo.Strace, err = exec.LookPath("strace"); err != nil {
		return nil, fmt.Errorf("strace is needed to record (Debian: apt-get install strace): %w", err)
	}
	if uo.Strace, err = filepath.Abs(uo.Strace); err != nil {
		return nil, err
	}
	fmt.Fprintf(c.stderr, "fencer record: restarting %s under strace; it is put back as it was when the recording ends\n", u.ID)
	return recorder.Unit(ctx, uo)
}

// envValue is the value of k in environ, "" when unset.
func envValue(environ []string, k string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], k+"="); ok {
			return v
		}
	}
	return ""
}
