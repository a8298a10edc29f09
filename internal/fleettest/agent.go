package fleettest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// agent is an ssh-agent the fleet started.
type agent struct {
	sock string
	cmd  *exec.Cmd
	done chan struct{}
}

// Agent starts an ssh-agent (OpenSSH's) holding the keys at the paths
// given (unencrypted private keys, such as Identity or one of
// NewIdentity's without a passphrase) and returns its socket, for
// SSH_AUTH_SOCK. Stop stops it. Each call starts another agent.
func (f *Fleet) Agent(keys ...string) (string, error) {
	f.agentsMu.Lock()
	defer f.agentsMu.Unlock()
	a := &agent{sock: filepath.Join(f.Dir, fmt.Sprintf("agent%d.sock", len(f.agents)+1)), done: make(chan struct{})}
	var log bytes.Buffer
	a.cmd = exec.Command("ssh-agent", "-D", "-a", a.sock)
	a.cmd.Stdout, a.cmd.Stderr = &log, &log
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := a.cmd.Start(); err != nil {
		return "", fmt.Errorf("fleettest: ssh-agent: %w", err)
	}
	f.agents = append(f.agents, a)
	go func() {
		a.cmd.Wait()
		close(a.done)
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(a.sock); err == nil {
			break
		}
		select {
		case <-a.done:
			return "", fmt.Errorf("fleettest: ssh-agent exited: %s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("fleettest: ssh-agent: no socket after 10s")
		}
	}
	for _, key := range keys {
		add := exec.Command("ssh-add", key)
		add.Env = []string{"SSH_AUTH_SOCK=" + a.sock, "PATH=/usr/bin:/bin"}
		if out, err := add.CombinedOutput(); err != nil {
			return "", fmt.Errorf("fleettest: ssh-add %s: %w: %s", key, err, bytes.TrimSpace(out))
		}
	}
	return a.sock, nil
}

// stopAgents kills the agents the fleet started.
func (f *Fleet) stopAgents() {
	f.agentsMu.Lock()
	defer f.agentsMu.Unlock()
	for _, a := range f.agents {
		_ = a.cmd.Process.Kill()
		<-a.done
	}
	f.agents = nil
}
