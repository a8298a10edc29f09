package sshhost

import (
	"context"
	"errors"
	"io/fs"
	"sync"
	"time"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/procseccomp"
)

// setupTimeout bounds, on top of the connect timeout, what Lazy's
// connection does once logged in: uname, uploading fencer, starting the
// agent.
const setupTimeout = 10 * time.Minute

// Lazy is a host reached over SSH that connects on its first call: a
// host that is never used is never connected to, and one that cannot be
// reached fails each of its calls with the error of connecting, which
// names it (Dial), while the other hosts go on. Connecting is bounded by
// the host's connect timeout and setupTimeout, not by the context of the
// call that connects. It is safe for concurrent use.
type Lazy struct {
	cfg Config

	mu     sync.Mutex
	h      *Host
	err    error
	closed bool
}

var _ host.Target = (*Lazy)(nil)

// NewLazy returns the host of cfg, not connected yet.
func NewLazy(cfg Config) *Lazy { return &Lazy{cfg: cfg} }

// Name is the host's name in the configuration.
func (l *Lazy) Name() string { return l.cfg.Name }

// Host connects, once, and returns the connected host.
func (l *Lazy) Host(ctx context.Context) (*Host, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.h != nil:
		return l.h, nil
	case l.err != nil:
		return nil, l.err
	case l.closed:
		return nil, errors.New("host " + l.cfg.Name + ": closed")
	}
	// The connection outlives the call that makes it: a lock tried
	// once has no time left, and is no reason to connect in no time.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.connectTimeout()+setupTimeout)
	defer cancel()
	h, err := Dial(dctx, l.cfg)
	if err != nil {
		l.err = err
		return nil, err
	}
	l.h = h
	return h, nil
}

// Close closes the connection, if there is one.
func (l *Lazy) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.h != nil {
		return l.h.Close()
	}
	return nil
}

// Facts is host.Target's Facts, on the connected host.
func (l *Lazy) Facts(ctx context.Context) (*host.Facts, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return nil, err
	}
	return h.Facts(ctx)
}

// ReadFile is host.Target's ReadFile, on the connected host.
func (l *Lazy) ReadFile(ctx context.Context, path string) ([]byte, fs.FileMode, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return nil, 0, err
	}
	return h.ReadFile(ctx, path)
}

// FileMode is host.Target's FileMode, on the connected host.
func (l *Lazy) FileMode(ctx context.Context, path string) (fs.FileMode, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return 0, err
	}
	return h.FileMode(ctx, path)
}

// ReadDir is host.Target's ReadDir, on the connected host.
func (l *Lazy) ReadDir(ctx context.Context, path string) ([]string, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return nil, err
	}
	return h.ReadDir(ctx, path)
}

// Links is host.Target's Links, on the connected host.
func (l *Lazy) Links(ctx context.Context, path string) (map[string]string, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return nil, err
	}
	return h.Links(ctx, path)
}

// ModTime is host.Target's ModTime, on the connected host.
func (l *Lazy) ModTime(ctx context.Context, path string) (time.Time, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return h.ModTime(ctx, path)
}

// Lock is host.Target's Lock, on the connected host.
func (l *Lazy) Lock(ctx context.Context) (func() error, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return nil, err
	}
	return h.Lock(ctx)
}

// WriteFile is host.Target's WriteFile, on the connected host.
func (l *Lazy) WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode) error {
	h, err := l.Host(ctx)
	if err != nil {
		return err
	}
	return h.WriteFile(ctx, path, data, mode)
}

// Remove is host.Target's Remove, on the connected host.
func (l *Lazy) Remove(ctx context.Context, path string) error {
	h, err := l.Host(ctx)
	if err != nil {
		return err
	}
	return h.Remove(ctx, path)
}

// Systemctl is host.Target's Systemctl, on the connected host.
func (l *Lazy) Systemctl(ctx context.Context, args ...string) ([]byte, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return nil, err
	}
	return h.Systemctl(ctx, args...)
}

// Verify is host.Target's Verify, on the connected host.
func (l *Lazy) Verify(ctx context.Context, units ...string) error {
	h, err := l.Host(ctx)
	if err != nil {
		return err
	}
	return h.Verify(ctx, units...)
}

// Analyze is host.Target's Analyze, on the connected host.
func (l *Lazy) Analyze(ctx context.Context, args ...string) ([]byte, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return nil, err
	}
	return h.Analyze(ctx, args...)
}

// Status is host.Target's Status, on the connected host.
func (l *Lazy) Status(ctx context.Context, pid int) (procseccomp.Status, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return procseccomp.Status{}, err
	}
	return h.Status(ctx, pid)
}

// Filters is host.Target's Filters, on the connected host.
func (l *Lazy) Filters(ctx context.Context, pid int) ([]bpf.Program, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return nil, err
	}
	return h.Filters(ctx, pid)
}

// StartTime is host.Target's StartTime, on the connected host.
func (l *Lazy) StartTime(ctx context.Context, pid int) (time.Time, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return h.StartTime(ctx, pid)
}

// Exe is host.Target's Exe, on the connected host.
func (l *Lazy) Exe(ctx context.Context, pid int) (string, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return "", err
	}
	return h.Exe(ctx, pid)
}

// ExecFn is host.Target's ExecFn, on the connected host.
func (l *Lazy) ExecFn(ctx context.Context, pid int) (string, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return "", err
	}
	return h.ExecFn(ctx, pid)
}

// Resolve is host.Target's Resolve, on the connected host.
func (l *Lazy) Resolve(ctx context.Context, path string) (string, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return "", err
	}
	return h.Resolve(ctx, path)
}

// Head is host.Target's Head, on the connected host.
func (l *Lazy) Head(ctx context.Context, path string, n int) ([]byte, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return nil, err
	}
	return h.Head(ctx, path, n)
}

// FileSum is host.Target's FileSum, on the connected host.
func (l *Lazy) FileSum(ctx context.Context, path string) (string, time.Time, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	return h.FileSum(ctx, path)
}

// Fencer is host.Target's Fencer, on the connected host.
func (l *Lazy) Fencer(ctx context.Context) (string, error) {
	h, err := l.Host(ctx)
	if err != nil {
		return "", err
	}
	return h.Fencer(ctx)
}
