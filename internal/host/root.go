package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/fencer-dev/fencer/internal/arch"
)

// RootHost is a directory tree standing for a host (-root=DIR, as
// systemctl --root): every host path is mapped under the directory. It has
// no systemd manager (Live is false) and needs no privileges: files are
// owned by whoever runs fencer.
type RootHost struct {
	name, dir, arch, scope string
	env                    []string
	files                  // ReadFile, ReadDir, WriteFile, Remove, Links, ModTime
}

// Root returns the tree at dir as host name. arch is the host's
// architecture (any spelling arch.Lookup knows; "" for this machine's).
// In user scope the paths come from this process's $HOME and XDG
// variables, mapped under dir.
func Root(name, dir, archName string, scope string) (*RootHost, error) {
	if scope != ScopeSystem && scope != ScopeUser {
		return nil, fmt.Errorf("host %s: scope %q is neither %q nor %q", name, scope, ScopeSystem, ScopeUser)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("host %s: -root: %w", name, err)
	}
	if st, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("host %s: -root: %w", name, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("host %s: -root: %s is not a directory", name, abs)
	}
	if abs == "/" {
		abs = ""
	}
	if archName == "" {
		if archName, err = machineArch(); err != nil {
			return nil, fmt.Errorf("host %s: %w", name, err)
		}
	}
	a, ok := arch.Lookup(archName)
	if !ok {
		return nil, fmt.Errorf("host %s: architecture %q is not one fencer supports (%s)", name, archName, strings.Join(arch.Names(), ", "))
	}
	h := &RootHost{name: name, dir: abs, arch: a.Name, scope: scope, env: os.Environ()}
	h.files = files{host: name, root: abs}
	if scope == ScopeUser && !filepath.IsAbs(os.Getenv("HOME")) {
		return nil, fmt.Errorf("host %s: user scope needs $HOME (an absolute path)", name)
	}
	h.files.trust(h.local().defaultUnitSearchPath())
	return h, nil
}

// Name is the host's name in the configuration.
func (h *RootHost) Name() string { return h.name }

// Dir is the directory the host's paths are mapped under.
func (h *RootHost) Dir() string { return h.dir }

func (h *RootHost) local() *LocalHost {
	return &LocalHost{name: h.name, scope: h.scope, env: h.env}
}

// Facts are the configured architecture, the scope's paths and systemd
// 252's default unit search path (all host paths, not mapped), Root set to
// the directory, SystemdVersion 0 (unknown) and Live false.
func (h *RootHost) Facts(ctx context.Context) (*Facts, error) {
	if err := ctxErr(ctx, h.name); err != nil {
		return nil, err
	}
	f := &Facts{Arch: h.arch, Scope: h.scope, Root: h.dir}
	if f.Root == "" {
		f.Root = "/"
	}
	l := h.local()
	f.Paths, f.UnitSearchPath = l.paths(), l.defaultUnitSearchPath()
	// The tree is verified with this machine's systemd-analyze.
	f.Systemd = probeSystemd(ctx, commandEnv(h.env, h.scope), h.arch)
	return f, nil
}

// LockPath is DIR/.fencer.lock.
func (h *RootHost) LockPath() string {
	if h.dir == "" {
		return "/.fencer.lock"
	}
	return filepath.Join(h.dir, ".fencer.lock")
}

// Lock takes the tree's fencer lock (Target.Lock).
func (h *RootHost) Lock(ctx context.Context) (func() error, error) {
	return lockFile(ctx, h.name, h.LockPath())
}

// Systemctl fails: a -root host has no manager.
func (h *RootHost) Systemctl(ctx context.Context, args ...string) ([]byte, error) {
	return nil, fmt.Errorf("host %s: systemctl %s: %w: -root=%s is a directory tree, not a running system", h.name, strings.Join(args, " "), ErrNotLive, h.dir)
}

// missingExecutable matches systemd-analyze's complaint about an
// executable that is not in the tree (compiled on first use, not at every
// start of fencer).
var missingExecutable = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\S+: Command .* is not executable: No such file or directory$`)
})

// Verify runs `systemd-analyze verify --root=DIR` (system scope) on units.
// A tree standing for a host usually lacks the programs units run, so
// complaints that an executable does not exist are not failures; every
// other complaint (unknown settings, bad values, unparsable files) is.
// In user scope, and when systemd-analyze is not installed, Verify does
// nothing: systemd 252's systemd-analyze cannot verify user units under
// --root ("Failed to initialize unit search paths").
func (h *RootHost) Verify(ctx context.Context, units ...string) error {
	if len(units) == 0 || h.scope == ScopeUser {
		return nil
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		return nil
	}
	root := h.dir
	if root == "" {
		root = "/"
	}
	args := append(append([]string(nil), verifyArgs...), "--root="+root)
	args = append(args, units...)
	cmd := exec.CommandContext(ctx, "systemd-analyze", args...)
	cmd.Env = commandEnv(h.env, ScopeSystem)
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("host %s: systemd-analyze %s: %w (%w)", h.name, strings.Join(args, " "), err, cerr)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return fmt.Errorf("host %s: systemd-analyze %s: %w", h.name, strings.Join(args, " "), err)
	}
	var bad []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" && !missingExecutable().MatchString(l) {
			bad = append(bad, l)
		}
	}
	if len(bad) == 0 && len(out) > 0 {
		return nil
	}
	return fmt.Errorf("host %s: systemd-analyze %s: %w: %s", h.name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
}
