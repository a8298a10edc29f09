package main

import (
	"fmt"
	"os"
	"slices"
	"testing"
)

// TestAgentEnv: under sudo, which resets the environment, the agent
// finds its home and, in user scope, the user manager's runtime directory.
func TestAgentEnv(t *testing.T) {
	env := agentEnv([]string{"PATH=/usr/bin"}, "user")
	if !slices.Contains(env, fmt.Sprintf("XDG_RUNTIME_DIR=/run/user/%d", os.Getuid())) {
		t.Errorf("user scope without XDG_RUNTIME_DIR: %q", env)
	}
	home := false
	for _, kv := range env {
		home = home || len(kv) > 6 && kv[:6] == "HOME=/"
	}
	if !home {
		t.Errorf("no HOME: %q", env)
	}
	env = agentEnv([]string{"HOME=/h", "XDG_RUNTIME_DIR=/r"}, "user")
	if !slices.Equal(env, []string{"HOME=/h", "XDG_RUNTIME_DIR=/r"}) {
		t.Errorf("an environment that has both: %q", env)
	}
	if env := agentEnv([]string{"HOME=/h"}, "system"); !slices.Equal(env, []string{"HOME=/h"}) {
		t.Errorf("system scope: %q", env)
	}
}
