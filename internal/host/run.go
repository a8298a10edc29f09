package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// defaultPath is used when the environment has no PATH.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// commandEnv builds the environment systemctl and systemd-analyze run
// with: from env only PATH, HOME, USER and LOGNAME, and for the user scope
// XDG_RUNTIME_DIR, XDG_CONFIG_HOME, XDG_DATA_HOME and
// DBUS_SESSION_BUS_ADDRESS (how systemctl --user finds the manager and its
// unit paths); plus settings that keep the output plain.
func commandEnv(env []string, scope string) []string {
	keep := map[string]bool{"PATH": true, "HOME": true, "USER": true, "LOGNAME": true}
	if scope == ScopeUser {
		for _, k := range []string{"XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "DBUS_SESSION_BUS_ADDRESS"} {
			keep[k] = true
		}
	}
	out := []string{"LC_ALL=C", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "SYSTEMD_LOG_COLOR=0"}
	hasPath := false
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if keep[k] {
			out = append(out, kv)
			hasPath = hasPath || k == "PATH"
		}
	}
	if !hasPath {
		out = append(out, "PATH="+defaultPath)
	}
	return out
}

// runCommand runs a command with env and returns its standard output; the error
// names the command and carries its standard error, and wraps the
// context's error when the context ended it. The output is returned with
// an error too.
func runCommand(ctx context.Context, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			// Killed for its context: say so, and let callers tell.
			err = fmt.Errorf("%w (%w)", err, cerr)
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		if msg != "" {
			return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
		}
		return stdout.Bytes(), fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return stdout.Bytes(), nil
}

// ctxErr is the error for a call made with a context that is done (its
// deadline passed, or it was cancelled), naming the host; nil otherwise.
func ctxErr(ctx context.Context, host string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("host %s: %w", host, err)
	}
	return nil
}
