package sshhost

import (
	"bytes"
	"context"
	"errors"
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

// watchdog closes c unless the stop it returns is called within timeout
// and before ctx ends: x/crypto/ssh's NewSession and Session.Start take
// no context, and a host that never answers them would hold fencer
// forever. stop reports whether it came in time.
func watchdog(ctx context.Context, c *ssh.Client, timeout time.Duration) (stop func() bool) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	after := context.AfterFunc(ctx, func() { c.Close() })
	return func() bool {
		ok := after()
		cancel()
		return ok
	}
}

// openSession opens a session on c, set up by setup, and starts cmd on
// it, within timeout (the connect timeout) and ctx; what names it in
// errors.
func openSession(ctx context.Context, name string, c *ssh.Client, timeout time.Duration, cmd, what string, setup func(*ssh.Session) error) (*ssh.Session, error) {
	stop := watchdog(ctx, c, timeout)
	s, err := c.NewSession()
	if err == nil {
		if err = setup(s); err == nil {
			err = s.Start(cmd)
		}
		if err != nil {
			s.Close()
		}
	}
	if !stop() {
		return nil, fmt.Errorf("host %s: %w: %s: no answer within connect_timeout %s", name, host.ErrUnreachable, what, timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("host %s: %w: %s: %v", name, host.ErrUnreachable, what, err)
	}
	return s, nil
}

// run runs a shell command on the host with stdin and returns its
// standard output; the error carries standard error. Opening the session
// and starting the command must take less than open; it ends the command
// when ctx is done.
func run(ctx context.Context, name string, c *ssh.Client, open time.Duration, cmd string, stdin io.Reader) (string, error) {
	stdout, stderr := &limited{max: maxOutput}, &limited{max: maxOutput}
	s, err := openSession(ctx, name, c, open, cmd, "starting "+firstWord(cmd), func(s *ssh.Session) error {
		s.Stdout, s.Stderr, s.Stdin = stdout, stderr, stdin
		return nil
	})
	if err != nil {
		return "", err
	}
	defer s.Close()
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
		return stdout.String(), fmt.Errorf("host %s: %s: %v: %s", name, firstWord(cmd), err, agent.Printable(msg))
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
func remoteArch(ctx context.Context, name string, c *ssh.Client, open time.Duration) (string, error) {
	out, err := run(ctx, name, c, open, "uname -m", nil)
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

// safeCache is the shell that defines bad (a path another user than the
// login user and root could change: group- or world-writable, or owned by
// someone else; a symbolic link is judged by its target; one whose owner
// and mode stat cannot say, too) and d, the
// cache directory, and says "unsafe PATH" and exits when the home, its
// .cache or d is bad, or d is a symbolic link. Whoever can write there
// can replace fencer's agent between its check and its start, and under
// become = "sudo" the agent runs as root.
const safeCache = `u=$(id -u); d=` + cacheDir + `; ` +
	`bad() { o=$(stat -L -c %u "$1" 2>/dev/null) && m=$(stat -L -c %a "$1" 2>/dev/null) || return 0; ` +
	`[ "$o" = "$u" ] || [ "$o" = 0 ] || return 0; [ $(( (m / 10 % 10 | m % 10) & 2 )) -ne 0 ]; }; ` +
	`if [ -L "$d" ]; then echo "unsafe $d"; exit 0; fi; ` +
	`for p in "$HOME" "$HOME/.cache" "$d"; do if [ -e "$p" ] && bad "$p"; then echo "unsafe $p"; exit 0; fi; done; `

// upload puts the fencer binary data, of SHA-256 sum, in the login user's
// cache on the host unless it is there, and returns its path there. The
// file is written under a temporary name, its hash checked on the host
// with sha256sum, then renamed into place: a path in the cache is always
// a whole binary of the hash it names. A cache that another user could
// change is refused (safeCache); a copy there that is a link, or that
// another user could change, is replaced.
func upload(ctx context.Context, name string, c *ssh.Client, open time.Duration, data []byte, sum string) (string, error) {
	file := "fencer-" + sum[:16]
	check := safeCache + fmt.Sprintf(`f="$d/%s"; if [ -f "$f" ] && [ ! -L "$f" ] && [ -x "$f" ] && ! bad "$f" && `+
		`printf '%%s  %%s\n' %s "$f" | sha256sum -c --status - 2>/dev/null; then echo "present $f"; else echo "missing $f"; fi`,
		file, sum)
	out, err := run(ctx, name, c, open, posix(check), nil)
	if err != nil {
		return "", fmt.Errorf("%w (looking for fencer's agent in the login user's ~/.cache/fencer)", err)
	}
	state, path, _ := strings.Cut(lastLine(out), " ")
	switch {
	case state == "present" && strings.HasPrefix(path, "/"):
		return path, nil
	case state == "unsafe":
		return "", unsafeCache(name, path)
	case state != "missing" || !strings.HasPrefix(path, "/"):
		return "", fmt.Errorf("host %s: looking for fencer's agent: unexpected answer %q (a login shell that prints something?)", name, out)
	}
	put := safeCache + fmt.Sprintf(`set -e; umask 077; mkdir -p "$d"; t="$d/.%s.$$"; trap 'rm -f "$t"' EXIT; cat > "$t"; `+
		`printf '%%s  %%s\n' %s "$t" | sha256sum -c --status - || { echo "the copy of fencer's agent does not have the SHA-256 sent" >&2; exit 1; }; `+
		`chmod 0700 "$t"; mv -fT "$t" "$d/%s"; trap - EXIT; echo done`, file, sum, file)
	out, err = run(ctx, name, c, open, posix(put), bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("%w (uploading fencer's agent to %s)", err, path)
	}
	if state, path, _ := strings.Cut(lastLine(out), " "); state == "unsafe" {
		return "", unsafeCache(name, path)
	}
	if lastLine(out) != "done" {
		return "", fmt.Errorf("host %s: uploading fencer's agent to %s: the cache changed under fencer (%s)", name, path, lastLine(out))
	}
	return path, nil
}

// unsafeCache is the error for a cache whose path another user could
// change.
func unsafeCache(name, path string) error {
	return fmt.Errorf("host %s: %w: %s on the host is a symbolic link, or another user than the login user (and root) could change it: "+
		"that user could replace fencer's agent there (run as root with become = \"sudo\"); fencer will not use it. "+
		"Make it the login user's, not writable by group or others (chown; chmod go-w), and ~/.cache/fencer a directory, not a link",
		name, ErrUnsafeCache, path)
}

// ErrUnsafeCache is wrapped by the error for a cache of fencer's agent on
// a host that another user could change.
var ErrUnsafeCache = errors.New("fencer's agent cache is unsafe")

// posix is the command that runs script with /bin/sh, whatever the login
// user's shell (fish, csh and zsh, which does not split words, do not
// run POSIX sh's syntax): the login shell only runs exec with one quoted
// argument.
func posix(script string) string {
	return "exec /bin/sh -c " + quote(script)
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
	cmd := fmt.Sprintf("exec %s agent -name=%s -scope=%s", quote(path), quote(cfg.Name), quote(cfg.Scope))
	if cfg.Become == "sudo" {
		cmd = fmt.Sprintf("exec sudo -n %s agent -name=%s -scope=%s", quote(path), quote(cfg.Name), quote(cfg.Scope))
	}
	var stdin io.WriteCloser
	var stdout io.Reader
	stderr := &limited{max: maxOutput}
	s, err := openSession(ctx, cfg.Name, c, cfg.ConnectTimeout, cmd, "starting fencer's agent", func(s *ssh.Session) error {
		var err error
		if stdin, err = s.StdinPipe(); err != nil {
			return err
		}
		if stdout, err = s.StdoutPipe(); err != nil {
			return err
		}
		s.Stderr = stderr
		return nil
	})
	if err != nil {
		return nil, err
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
	return nil, agentError(cfg, c.User(), path, agent.Printable(stderr.String()), err)
}

// agentError explains why the agent did not start: sudo wanting a
// password, or what the agent said.
func agentError(cfg *Config, login, path, stderr string, err error) error {
	if cfg.Become == "sudo" && (strings.Contains(stderr, "password is required") || strings.Contains(stderr, "a terminal is required")) {
		return fmt.Errorf("host %s: become = \"sudo\": sudo on %s wants a password for %s, and fencer runs sudo -n, which never asks; "+
			"allow NOPASSWD for %s (in /etc/sudoers.d: %s ALL=(root) NOPASSWD: %s), or log in as root (sudo said: %s)",
			cfg.Name, cfg.Address, login, login, login, path[:strings.LastIndex(path, "-")+1]+"*", stderr)
	}
	if cfg.Become == "sudo" && strings.Contains(stderr, "must have a tty") {
		return fmt.Errorf("host %s: become = \"sudo\": sudo on %s requires a terminal for %s (requiretty), and fencer's agent talks over a pipe; "+
			"allow it without one (in /etc/sudoers.d: Defaults:%s !requiretty), or log in as root (sudo said: %s)",
			cfg.Name, cfg.Address, login, login, stderr)
	}
	if stderr != "" {
		return fmt.Errorf("%w; on the host: %s", err, stderr)
	}
	return err
}
