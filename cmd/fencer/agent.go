package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/fencer-dev/fencer/internal/agent"
	"github.com/fencer-dev/fencer/internal/host"
)

var agentCommand = &command{
	name:     "agent",
	synopsis: "What fencer runs on a host over SSH (not for people)",
	help: `Usage: fencer agent -name=NAME -scope=SCOPE

  What fencer starts on a host it reaches over SSH (a host block with an
  address): it serves that host, this machine in SCOPE, to the fencer at
  the other end of the SSH session, in fencer's own protocol on standard
  input and output, and exits when its standard input closes. It is not
  for people to run: plan, apply, verify and destroy start it themselves.

  Every operation runs here with the code fencer runs on its own machine:
  atomic writes, the host's lock (held by this process, and so released
  when it exits), systemctl and systemd-analyze. Under sudo, in user
  scope, the user manager is found at $XDG_RUNTIME_DIR, by default
  /run/user/UID.

Options:

  -name=NAME         The host's name in the configuration, for messages.

  -scope=SCOPE       "system" (the default) or "user".

` + noColorHelp,
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		var name, scope string
		fs.StringVar(&name, "name", "", "")
		fs.StringVar(&scope, "scope", host.ScopeSystem, "")
		return func(c *cli, args []string) int {
			if len(args) > 0 {
				return c.fail(usagef("agent takes no arguments, got %s", quoteAll(args)))
			}
			if name == "" {
				return c.fail(usagef("missing -name"))
			}
			return c.runAgent(name, scope)
		}
	},
}

// runAgent serves this machine as host name on standard input and output.
func (c *cli) runAgent(name, scope string) int {
	t, err := host.LocalEnv(name, scope, agentEnv(c.environ, scope))
	if err != nil {
		return c.fail(err)
	}
	if err := agent.Serve(context.Background(), c.stdin, c.stdout, t); err != nil {
		return c.fail(fmt.Errorf("host %s: %w", name, err))
	}
	return exitOK
}

// agentEnv completes the environment of an agent that sudo started with
// one of its own: HOME from the user's entry when it is missing, and in
// user scope XDG_RUNTIME_DIR, /run/user/UID, where the user's manager
// listens.
func agentEnv(env []string, scope string) []string {
	has := func(k string) bool {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, k+"="); ok && filepath.IsAbs(v) {
				return true
			}
		}
		return false
	}
	out := append([]string(nil), env...)
	if !has("HOME") {
		if u, err := user.Current(); err == nil && filepath.IsAbs(u.HomeDir) {
			out = append(out, "HOME="+u.HomeDir)
		}
	}
	if scope == host.ScopeUser && !has("XDG_RUNTIME_DIR") {
		out = append(out, fmt.Sprintf("XDG_RUNTIME_DIR=/run/user/%d", os.Getuid()))
	}
	return out
}
