package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/fencer-dev/fencer/internal/arch"
)

// LocalHost is the machine fencer runs on, in system or user scope.
type LocalHost struct {
	name  string
	scope string
	env   []string // the environment the host's paths come from
	cmd   []string // the environment commands run with
	files          // ReadFile, ReadDir, WriteFile, Remove, Links, ModTime
}

// Local returns this machine as host name in scope "system" or "user",
// with this process's environment (HOME, XDG_CONFIG_HOME, XDG_RUNTIME_DIR,
// ... decide the user scope's paths and manager).
func Local(name, scope string) (*LocalHost, error) {
	return LocalEnv(name, scope, os.Environ())
}

// LocalEnv is Local with the environment env instead of this process's;
// tests use it with the environment of a user manager they started.
func LocalEnv(name, scope string, env []string) (*LocalHost, error) {
	if scope != ScopeSystem && scope != ScopeUser {
		return nil, fmt.Errorf("host %s: scope %q is neither %q nor %q", name, scope, ScopeSystem, ScopeUser)
	}
	h := &LocalHost{name: name, scope: scope, env: env, cmd: commandEnv(env, scope)}
	h.files = files{host: name, chown: scope == ScopeSystem}
	if home := h.getenv("HOME"); scope == ScopeUser && !filepath.IsAbs(home) {
		return nil, fmt.Errorf("host %s: user scope needs $HOME (an absolute path), have %q", name, home)
	}
	h.files.trust(h.defaultUnitSearchPath())
	return h, nil
}

func (h *LocalHost) getenv(k string) string {
	for i := len(h.env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(h.env[i], k+"="); ok {
			return v
		}
	}
	return ""
}

// Name is the host's name in the configuration.
func (h *LocalHost) Name() string { return h.name }

// Scope is "system" or "user".
func (h *LocalHost) Scope() string { return h.scope }

// configHome is $XDG_CONFIG_HOME, or ~/.config.
func (h *LocalHost) configHome() string {
	if v := h.getenv("XDG_CONFIG_HOME"); filepath.IsAbs(v) {
		return filepath.Clean(v)
	}
	return filepath.Join(h.getenv("HOME"), ".config")
}

func (h *LocalHost) dataHome() string {
	if v := h.getenv("XDG_DATA_HOME"); filepath.IsAbs(v) {
		return filepath.Clean(v)
	}
	return filepath.Join(h.getenv("HOME"), ".local", "share")
}

func (h *LocalHost) runtimeDir() string {
	if v := h.getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(v) {
		return filepath.Clean(v)
	}
	return fmt.Sprintf("/run/user/%d", os.Getuid())
}

// scopeArgs are the arguments selecting the scope for systemctl and
// systemd-analyze.
func (h *LocalHost) scopeArgs() []string {
	if h.scope == ScopeUser {
		return []string{"--user"}
	}
	return nil
}

// Facts reads the machine's architecture (uname -m), systemd's version
// (systemctl --version), the scope's paths, the unit search path
// (systemd-analyze unit-paths, or systemd 252's default when that does not
// run) and whether a manager runs for the scope.
func (h *LocalHost) Facts(ctx context.Context) (*Facts, error) {
	if err := ctxErr(ctx, h.name); err != nil {
		return nil, err
	}
	a, err := machineArch()
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", h.name, err)
	}
	f := &Facts{Arch: a, Scope: h.scope, SystemdVersion: h.systemdVersion(ctx), Paths: h.paths()}
	f.UnitSearchPath = h.unitSearchPath(ctx)
	h.files.trust(f.UnitSearchPath)
	f.Live = h.live(ctx)
	f.Systemd = probeSystemd(ctx, h.cmd, a)
	// Commands the context cut short said nothing: facts read so are
	// not facts.
	if err := ctxErr(ctx, h.name); err != nil {
		return nil, err
	}
	return f, nil
}

// machineArch maps uname -m to fencer's architecture name.
func machineArch() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", fmt.Errorf("uname: %w", err)
	}
	m := unix.ByteSliceToString(u.Machine[:])
	a, ok := arch.Lookup(m)
	if !ok {
		return "", fmt.Errorf("machine architecture %q is not one fencer supports (%s)", m, strings.Join(arch.Names(), ", "))
	}
	return a.Name, nil
}

// systemdVersion parses "systemd 252 (252.38-1~deb12u1)"; 0 when unknown.
func (h *LocalHost) systemdVersion(ctx context.Context) int {
	out, err := runCommand(ctx, h.cmd, "systemctl", "--version")
	if err != nil {
		return 0
	}
	return parseVersion(string(out))
}

func parseVersion(out string) int {
	first, _, _ := strings.Cut(out, "\n")
	fields := strings.Fields(first)
	if len(fields) < 2 || fields[0] != "systemd" {
		return 0
	}
	v, err := strconv.Atoi(fields[1])
	if err != nil {
		return 0
	}
	return v
}

// paths are where fencer writes on the host, for its scope.
func (h *LocalHost) paths() Paths {
	if h.scope == ScopeUser {
		return UserPaths(h.configHome())
	}
	return SystemPaths
}

// unitSearchPath is the host's unit search path as systemd-analyze
// unit-paths says it, or where that does not run, the default one.
func (h *LocalHost) unitSearchPath(ctx context.Context) []string {
	out, err := h.Analyze(ctx, "unit-paths")
	if err == nil {
		var paths []string
		for _, l := range strings.Split(string(out), "\n") {
			if l = strings.TrimSpace(l); filepath.IsAbs(l) {
				paths = append(paths, l)
			}
		}
		if len(paths) > 0 {
			return paths
		}
	}
	return h.defaultUnitSearchPath()
}

// defaultUnitSearchPath is systemd 252's unit search path for the host's
// scope and environment.
func (h *LocalHost) defaultUnitSearchPath() []string {
	if h.scope == ScopeUser {
		return userUnitSearchPath(h.configHome(), h.runtimeDir(), h.dataHome())
	}
	return slices.Clone(SystemUnitSearchPath)
}

// managerSign is the file whose existence says a manager runs for the
// scope: /run/systemd/system (booted with systemd) or the user manager's
// private socket.
func (h *LocalHost) managerSign() string {
	if h.scope == ScopeUser {
		return filepath.Join(h.runtimeDir(), "systemd", "private")
	}
	return "/run/systemd/system"
}

// live reports whether a manager runs for the scope: its sign exists and
// `systemctl is-system-running` answers a state other than offline.
func (h *LocalHost) live(ctx context.Context) bool {
	if _, err := os.Stat(h.managerSign()); err != nil {
		return false
	}
	out, _ := runCommand(ctx, h.cmd, "systemctl", append(h.scopeArgs(), "is-system-running")...)
	switch strings.TrimSpace(string(out)) {
	case "initializing", "starting", "running", "degraded", "maintenance", "stopping":
		return true
	}
	return false
}

// LockPath is the host's lock file: /run/fencer.lock in system scope (not
// in world-writable /run/lock, where any user could create it first and
// hold it), $XDG_RUNTIME_DIR/fencer.lock in user scope.
func (h *LocalHost) LockPath() string {
	if h.scope == ScopeUser {
		return filepath.Join(h.runtimeDir(), "fencer.lock")
	}
	return "/run/fencer.lock"
}

// Lock takes the host's fencer lock (Target.Lock).
func (h *LocalHost) Lock(ctx context.Context) (func() error, error) {
	return lockFile(ctx, h.name, h.LockPath())
}

// Systemctl runs systemctl [--user] --no-pager ARGS (Target.Systemctl).
func (h *LocalHost) Systemctl(ctx context.Context, args ...string) ([]byte, error) {
	if _, err := os.Stat(h.managerSign()); err != nil {
		return nil, fmt.Errorf("host %s: systemctl %s: %w for the %s scope (%s is missing)", h.name, strings.Join(args, " "), ErrNotLive, h.scope, h.managerSign())
	}
	a := append(h.scopeArgs(), "--no-pager")
	if h.scope == ScopeSystem {
		a = append(a, "--no-ask-password")
	}
	out, err := runCommand(ctx, h.cmd, "systemctl", append(a, args...)...)
	if err != nil {
		return out, fmt.Errorf("host %s: %w", h.name, err)
	}
	return out, nil
}

// verifyArgs check only the named units (not their dependencies, which
// may be broken for reasons of their own) and no man pages (Documentation=
// would fail on hosts without man).
var verifyArgs = []string{"verify", "--recursive-errors=no", "--man=no"}

// Verify runs systemd-analyze [--user] verify on units (Target.Verify).
// It does not need a running manager.
func (h *LocalHost) Verify(ctx context.Context, units ...string) error {
	if len(units) == 0 {
		return nil
	}
	args := append(append(h.scopeArgs(), verifyArgs...), units...)
	if _, err := runCommand(ctx, h.cmd, "systemd-analyze", args...); err != nil {
		return fmt.Errorf("host %s: %w", h.name, err)
	}
	return nil
}
