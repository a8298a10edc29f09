package sshhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/fencer-dev/fencer/internal/agent"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/host"
)

// maxOutput bounds what fencer keeps of a command's output on the host.
const maxOutput = 64 << 10

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// limited keeps the first max bytes written to it and drops the rest.
type limited struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (l *limited) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (l *limited) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.TrimSpace(l.buf.String())
}

// run runs a shell command on the host with stdin and returns its
// standard output; the error carries standard error. It ends the command
// when ctx is done.
func run(ctx context.Context, name string, c *ssh.Client, cmd string, stdin io.Reader) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", fmt.Errorf("host %s: %w: opening a session: %v", name, host.ErrUnreachable, err)
	}
	defer s.Close()
	stdout, stderr := &limited{max: maxOutput}, &limited{max: maxOutput}
	s.Stdout, s.Stderr, s.Stdin = stdout, stderr, stdin
	if err := s.Start(cmd); err != nil {
		return "", fmt.Errorf("host %s: %w: starting %q: %v", name, host.ErrUnreachable, cmd, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		s.Close()
		return "", fmt.Errorf("host %s: %s: %w", name, firstWord(cmd), ctx.Err())
	}
	if err != nil {
		msg := stderr.String()
		if msg == "" {
			msg = stdout.String()
		}
		return stdout.String(), fmt.Errorf("host %s: %s: %v: %s", name, firstWord(cmd), err, msg)
	}
	return stdout.String(), nil
}

// lastLine is the last line of a command's output: what came before it
// may be a shell's startup file talking.
func lastLine(out string) string {
	out = strings.TrimSpace(out)
	return strings.TrimSpace(out[strings.LastIndex(out, "\n")+1:])
}

func firstWord(cmd string) string {
	w, _, _ := strings.Cut(strings.TrimSpace(cmd), " ")
	return w
}

// remoteArch asks the host its architecture (uname -m).
func remoteArch(ctx context.Context, name string, c *ssh.Client) (string, error) {
	out, err := run(ctx, name, c, "uname -m", nil)
	if err != nil {
		return "", err
	}
	m := lastLine(out)
	a, ok := arch.Lookup(m)
	if !ok {
		return "", fmt.Errorf("host %s: machine architecture %q is not one fencer supports (%s)", name, m, strings.Join(arch.Names(), ", "))
	}
	return a.Name, nil
}

// cacheDir is where the agent binaries are kept on the host, in the login
// user's home: one file per content (fencer-<first 16 hex digits of its
// SHA-256>).
const cacheDir = `"$HOME/.cache/fencer"`

// upload puts the fencer binary data, of SHA-256 sum, in the login user's
// cache on the host unless it is there, and returns its path there. The
// file is written under a temporary name, its hash checked on the host
// with sha256sum, then renamed into place: a path in the cache is always
// a whole binary of the hash it names.
func upload(ctx context.Context, name string, c *ssh.Client, data []byte, sum string) (string, error) {
	file := "fencer-" + sum[:16]
	check := fmt.Sprintf(`f=%s/%s; if [ -f "$f" ] && [ -x "$f" ] && printf '%%s  %%s\n' %s "$f" | sha256sum -c --status - 2>/dev/null; then echo "present $f"; else echo "missing $f"; fi`,
		cacheDir, file, sum)
	out, err := run(ctx, name, c, check, nil)
	if err != nil {
		return "", fmt.Errorf("%w (looking for fencer's agent in the login user's ~/.cache/fencer)", err)
	}
	state, path, _ := strings.Cut(lastLine(out), " ")
	if state == "present" && strings.HasPrefix(path, "/") {
		return path, nil
	}
	if state != "missing" || !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("host %s: looking for fencer's agent: unexpected answer %q (a login shell that prints something?)", name, out)
	}
	put := fmt.Sprintf(`set -e; umask 077; d=%s; mkdir -p "$d"; t="$d/.%s.$$"; trap 'rm -f "$t"' EXIT; cat > "$t"; `+
		`printf '%%s  %%s\n' %s "$t" | sha256sum -c --status - || { echo "the copy of fencer's agent does not have the SHA-256 sent" >&2; exit 1; }; `+
		`chmod 0700 "$t"; mv -f "$t" "$d/%s"; trap - EXIT`, cacheDir, file, sum, file)
	if _, err := run(ctx, name, c, put, bytes.NewReader(data)); err != nil {
		return "", fmt.Errorf("%w (uploading fencer's agent to %s)", err, path)
	}
	return path, nil
}

// quote quotes s for the POSIX shell.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// stream is a session's standard input and output, which carry the
// agent's protocol.
type stream struct {
	io.Reader
	io.WriteCloser
	s *ssh.Session
}

func (s *stream) Close() error {
	s.WriteCloser.Close()
	return s.s.Close()
}

// startAgent starts `[sudo -n] PATH agent` on a session and returns the
// client of its protocol.
func startAgent(ctx context.Context, cfg *Config, c *ssh.Client, path string) (*agent.Client, error) {
	s, err := c.NewSession()
	if err != nil {
		return nil, fmt.Errorf("host %s: %w: opening a session: %v", cfg.Name, host.ErrUnreachable, err)
	}
	stdin, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("host %s: %v", cfg.Name, err)
	}
	stdout, err := s.StdoutPipe()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("host %s: %v", cfg.Name, err)
	}
	stderr := &limited{max: maxOutput}
	s.Stderr = stderr
	cmd := fmt.Sprintf("exec %s agent -name=%s -scope=%s", quote(path), quote(cfg.Name), quote(cfg.Scope))
	if cfg.Become == "sudo" {
		cmd = fmt.Sprintf("exec sudo -n %s agent -name=%s -scope=%s", quote(path), quote(cfg.Name), quote(cfg.Scope))
	}
	if err := s.Start(cmd); err != nil {
		s.Close()
		return nil, fmt.Errorf("host %s: %w: starting fencer's agent: %v", cfg.Name, host.ErrUnreachable, err)
	}
	wctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	cl, err := agent.NewClient(wctx, cfg.Name, &stream{Reader: stdout, WriteCloser: stdin, s: s})
	if err == nil {
		return cl, nil
	}
	// Whatever it said before it ended says why.
	ended := make(chan struct{})
	go func() { s.Wait(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(2 * time.Second):
	}
	s.Close()
	return nil, agentError(cfg, c.User(), path, stderr.String(), err)
}

// agentError explains why the agent did not start: sudo wanting a
// password, or what the agent said.
func agentError(cfg *Config, login, path, stderr string, err error) error {
	if cfg.Become == "sudo" && (strings.Contains(stderr, "password is required") || strings.Contains(stderr, "a terminal is required")) {
		return fmt.Errorf("host %s: become = \"sudo\": sudo on %s wants a password for %s, and fencer runs sudo -n, which never asks; "+
			"allow NOPASSWD for %s (in /etc/sudoers.d: %s ALL=(root) NOPASSWD: %s), or log in as root (sudo said: %s)",
			cfg.Name, cfg.Address, login, login, login, path[:strings.LastIndex(path, "-")+1]+"*", stderr)
	}
	if stderr != "" {
		return fmt.Errorf("%w; on the host: %s", err, stderr)
	}
	return err
}
