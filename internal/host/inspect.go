package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/procseccomp"
)

// Analyze runs systemd-analyze for the host's scope with args.
func (h *LocalHost) Analyze(ctx context.Context, args ...string) ([]byte, error) {
	out, err := runCommand(ctx, h.cmd, "systemd-analyze", append(h.scopeArgs(), args...)...)
	if err != nil {
		return out, fmt.Errorf("host %s: %w", h.name, err)
	}
	return out, nil
}

// Analyze runs this machine's systemd-analyze with args, as for the
// system scope: a tree has no systemd of its own, and is verified and
// probed with this machine's.
func (h *RootHost) Analyze(ctx context.Context, args ...string) ([]byte, error) {
	out, err := runCommand(ctx, commandEnv(h.env, ScopeSystem), "systemd-analyze", args...)
	if err != nil {
		return out, fmt.Errorf("host %s: %w", h.name, err)
	}
	return out, nil
}

// The processes of this machine (Processes), read from /proc, with ptrace
// and from its own files.

// Status reads /proc/PID/status.
func (h *LocalHost) Status(ctx context.Context, pid int) (procseccomp.Status, error) {
	if err := ctxErr(ctx, h.name); err != nil {
		return procseccomp.Status{}, err
	}
	return procseccomp.ReadStatus(pid)
}

// Filters reads the process's filters with ptrace, newest first.
func (h *LocalHost) Filters(ctx context.Context, pid int) ([]bpf.Program, error) {
	if err := ctxErr(ctx, h.name); err != nil {
		return nil, err
	}
	return procseccomp.Filters(pid)
}

// StartTime reads when the process started.
func (h *LocalHost) StartTime(ctx context.Context, pid int) (time.Time, error) {
	if err := ctxErr(ctx, h.name); err != nil {
		return time.Time{}, err
	}
	return procseccomp.StartTime(pid)
}

// Exe reads /proc/PID/exe.
func (h *LocalHost) Exe(ctx context.Context, pid int) (string, error) {
	if err := ctxErr(ctx, h.name); err != nil {
		return "", err
	}
	p, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return "", fmt.Errorf("read the program of pid %d: %w", pid, err)
	}
	return p, nil
}

// ExecFn reads the process's AT_EXECFN string.
func (h *LocalHost) ExecFn(ctx context.Context, pid int) (string, error) {
	if err := ctxErr(ctx, h.name); err != nil {
		return "", err
	}
	return procseccomp.ExecFn(pid)
}

// Resolve follows the symbolic links of path on this machine.
func (h *LocalHost) Resolve(ctx context.Context, path string) (string, error) {
	if err := ctxErr(ctx, h.name); err != nil {
		return "", err
	}
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	return p, nil
}

// Head reads the first n bytes of a regular file of this machine. The
// file is opened without blocking, so a FIFO put in its place cannot hang
// verify, and refused unless it is a regular file.
func (h *LocalHost) Head(ctx context.Context, path string, n int) ([]byte, error) {
	if err := ctxErr(ctx, h.name); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file, so execve would refuse it", path)
	}
	buf := make([]byte, n)
	m, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return buf[:m], nil
}

// FileSum hashes a regular file of this machine and reads its ctime.
func (h *LocalHost) FileSum(ctx context.Context, path string) (string, time.Time, error) {
	if err := ctxErr(ctx, h.name); err != nil {
		return "", time.Time{}, err
	}
	return fileSum(path)
}

func fileSum(path string) (string, time.Time, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return "", time.Time{}, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return "", time.Time{}, fmt.Errorf("%s is not a regular file", path)
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", time.Time{}, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(sum.Sum(nil)), time.Unix(st.Ctim.Unix()), nil
}

var selfSum struct {
	once sync.Once
	sum  string
	err  error
}

// Fencer hashes this program's own executable: the loader this machine
// gets is fencer itself.
func (h *LocalHost) Fencer(ctx context.Context) (string, error) {
	if err := ctxErr(ctx, h.name); err != nil {
		return "", err
	}
	selfSum.once.Do(func() {
		p, err := os.Executable()
		if err != nil {
			selfSum.err = fmt.Errorf("find fencer's own executable: %w", err)
			return
		}
		selfSum.sum, _, selfSum.err = fileSum(p)
	})
	return selfSum.sum, selfSum.err
}

// noProcesses is the error of every process inspection of a tree.
func (h *RootHost) noProcesses(what string) error {
	return fmt.Errorf("host %s: %s: %w: -root=%s is a directory tree, which runs no processes", h.name, what, ErrNotLive, h.dir)
}

// Status fails: a tree runs no processes.
func (h *RootHost) Status(ctx context.Context, pid int) (procseccomp.Status, error) {
	return procseccomp.Status{}, h.noProcesses(fmt.Sprintf("pid %d", pid))
}

// Filters fails: a tree runs no processes.
func (h *RootHost) Filters(ctx context.Context, pid int) ([]bpf.Program, error) {
	return nil, h.noProcesses(fmt.Sprintf("pid %d", pid))
}

// StartTime fails: a tree runs no processes.
func (h *RootHost) StartTime(ctx context.Context, pid int) (time.Time, error) {
	return time.Time{}, h.noProcesses(fmt.Sprintf("pid %d", pid))
}

// Exe fails: a tree runs no processes.
func (h *RootHost) Exe(ctx context.Context, pid int) (string, error) {
	return "", h.noProcesses(fmt.Sprintf("pid %d", pid))
}

// ExecFn fails: a tree runs no processes.
func (h *RootHost) ExecFn(ctx context.Context, pid int) (string, error) {
	return "", h.noProcesses(fmt.Sprintf("pid %d", pid))
}

// Resolve fails: what a tree's processes would execute is not inspected.
func (h *RootHost) Resolve(ctx context.Context, path string) (string, error) {
	return "", h.noProcesses("resolve " + path)
}

// Head fails: what a tree's processes would execute is not inspected.
func (h *RootHost) Head(ctx context.Context, path string, n int) ([]byte, error) {
	return nil, h.noProcesses("read " + path)
}

// FileSum fails: what a tree's processes would execute is not inspected.
func (h *RootHost) FileSum(ctx context.Context, path string) (string, time.Time, error) {
	return "", time.Time{}, h.noProcesses("read " + path)
}

// Fencer fails: a tree runs no loader.
func (h *RootHost) Fencer(ctx context.Context) (string, error) {
	return "", h.noProcesses("the loader")
}
