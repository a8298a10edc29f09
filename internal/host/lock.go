package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lockPoll is how often Lock retries a held lock.
const lockPoll = 20 * time.Millisecond

// lockFile takes an exclusive flock on the file at path (created 0644 when
// missing), retrying until ctx is done, and records this process in it.
func lockFile(ctx context.Context, host, path string) (unlock func() error, err error) {
	fh, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("host %s: lock: %w", host, err)
	}
	began := time.Now()
	for {
		err := unix.Flock(int(fh.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			fh.Close()
			return nil, fmt.Errorf("host %s: lock %s: %w", host, path, err)
		}
		select {
		case <-ctx.Done():
			holder := describeHolder(fh)
			fh.Close()
			waited := ""
			if d := time.Since(began); d >= lockPoll {
				waited = "; gave up after " + d.Round(time.Millisecond).String()
			}
			return nil, &LockHeldError{Host: host, Path: path, Holder: holder, Waited: waited, cause: ctx.Err()}
		case <-time.After(lockPoll):
		}
	}
	info := fmt.Sprintf("pid %d\ncommand %s\nsince %s\n", os.Getpid(), strings.Join(os.Args, " "), time.Now().Format(time.RFC3339))
	if err := fh.Truncate(0); err == nil {
		_, err = fh.WriteAt([]byte(info), 0)
		if err != nil {
			fh.Close()
			return nil, fmt.Errorf("host %s: lock %s: %w", host, path, err)
		}
	}
	unlocked := false
	return func() error {
		if unlocked {
			return nil
		}
		unlocked = true
		_ = fh.Truncate(0)
		err := unix.Flock(int(fh.Fd()), unix.LOCK_UN)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("host %s: unlock %s: %w", host, path, err)
		}
		return nil
	}, nil
}

// LockHeldError is a host's lock another fencer held until the caller
// gave up (its context's deadline, -lock-timeout, or an interruption). Its
// message names the holder and says nothing of contexts; errors.Is still
// finds the context's error (context.DeadlineExceeded or Canceled).
type LockHeldError struct {
	Host, Path string
	// Holder is what the holder wrote in the lock: its pid, command and
	// since when.
	Holder string
	// Waited is "; gave up after D" when the caller waited at all.
	Waited string
	cause  error
}

func (e *LockHeldError) Error() string {
	return fmt.Sprintf("host %s: another fencer holds the lock %s (%s)%s", e.Host, e.Path, e.Holder, e.Waited)
}

// Unwrap returns the context's error that ended the wait.
func (e *LockHeldError) Unwrap() error { return e.cause }

// describeHolder renders what the lock's holder wrote into it.
func describeHolder(fh *os.File) string {
	buf := make([]byte, 4096)
	n, _ := fh.ReadAt(buf, 0)
	var pid, cmd, since string
	for _, line := range strings.Split(string(buf[:n]), "\n") {
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "pid":
			pid = v
		case "command":
			cmd = v
		case "since":
			since = v
		}
	}
	if pid == "" {
		return "holder unknown"
	}
	s := "pid " + pid
	if cmd != "" {
		s += ", command " + cmd
	}
	if since != "" {
		s += ", since " + since
	}
	return s
}
