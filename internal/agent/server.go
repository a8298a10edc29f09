package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/readlimit"
)

// maxCalls bounds the calls a server runs at once: the next request is
// read only when one of them is done, so what a client sends cannot grow
// the server's memory past maxCalls messages.
const maxCalls = 32

// server is one stream's server.
type server struct {
	t   host.Target
	w   io.Writer
	wmu sync.Mutex

	mu       sync.Mutex
	calls    map[uint64]context.CancelFunc
	locks    map[uint64]func() error
	nextLock uint64
	ended    bool
	running  sync.WaitGroup
}

// endWait bounds how long Serve waits, once its input ended, for the
// calls it cancelled to return.
const endWait = 5 * time.Second

// Serve answers the requests read from r with t, writing the replies to
// w, until r ends (nil) or breaks the protocol, or ctx is done (its
// error). When it returns it has cancelled the calls still running and
// released every lock it took; `fencer agent` then exits, so that a call
// that does not stop at once ends with the process.
func Serve(ctx context.Context, r io.Reader, w io.Writer, t host.Target) error {
	ctx, cancel := context.WithCancel(ctx)
	s := &server{t: t, w: w, calls: map[uint64]context.CancelFunc{}, locks: map[uint64]func() error{}}
	defer s.end(cancel)
	if _, err := io.WriteString(w, Magic); err != nil {
		return fmt.Errorf("agent: hello: %w", err)
	}
	if err := s.send(hello{Agent: "fencer", Protocol: Protocol, Pid: os.Getpid()}); err != nil {
		return fmt.Errorf("agent: hello: %w", err)
	}
	errc := make(chan error, 1)
	sem := make(chan struct{}, maxCalls)
	go func() { errc <- s.read(ctx, r, sem) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// read reads requests and starts each in a goroutine of its own.
func (s *server) read(ctx context.Context, r io.Reader, sem chan struct{}) error {
	for {
		b, err := readFrame(r, MaxFrame)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("agent: reading a request: %w", err)
		}
		var req request
		if err := decode(b, &req); err != nil {
			return fmt.Errorf("agent: reading a request: %w", err)
		}
		if req.Method == "cancel" {
			s.mu.Lock()
			if c := s.calls[req.Args.ID]; c != nil {
				c()
			}
			s.mu.Unlock()
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		var cctx context.Context
		var cancel context.CancelFunc
		if req.Timeout > 0 {
			cctx, cancel = context.WithTimeout(ctx, time.Duration(req.Timeout))
		} else {
			cctx, cancel = context.WithCancel(ctx)
		}
		s.mu.Lock()
		s.calls[req.ID] = cancel
		s.mu.Unlock()
		s.running.Add(1)
		go func() {
			defer s.running.Done()
			defer func() { <-sem }()
			res, err := s.call(cctx, req)
			s.mu.Lock()
			delete(s.calls, req.ID)
			s.mu.Unlock()
			cancel()
			if err := s.send(reply{ID: req.ID, Result: res, Err: toWire(err)}); errors.Is(err, ErrProtocol) {
				// Too large to send: say so, rather than leave the
				// caller waiting.
				_ = s.send(reply{ID: req.ID, Err: toWire(fmt.Errorf("host %s: %s: %w", s.t.Name(), req.Method, err))})
			}
		}()
	}
}

// end cancels every call, waits for them a while, and releases every
// lock.
func (s *server) end(cancel context.CancelFunc) {
	cancel()
	stopped := make(chan struct{})
	go func() { s.running.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(endWait):
	}
	s.mu.Lock()
	s.ended = true
	locks := s.locks
	s.locks = map[uint64]func() error{}
	s.mu.Unlock()
	for _, unlock := range locks {
		_ = unlock()
	}
}

// send writes one message.
func (s *server) send(v any) error {
	b, err := encodeFrame(v)
	if err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err = s.w.Write(b)
	return err
}

// call does one request.
func (s *server) call(ctx context.Context, req request) (result, error) {
	a := req.Args
	switch req.Method {
	case "facts":
		f, err := s.t.Facts(ctx)
		return result{Facts: f}, err
	case "lock":
		return s.lock(ctx)
	case "unlock":
		return result{}, s.unlock(a.Lock)
	case "write-file":
		return result{}, s.t.WriteFile(ctx, a.Path, a.Data, a.Mode)
	case "write-self":
		data, err := selfContent(a.SHA256)
		if err != nil {
			return result{}, err
		}
		return result{}, s.t.WriteFile(ctx, a.Path, data, a.Mode)
	case "remove":
		return result{}, s.t.Remove(ctx, a.Path)
	case "systemctl":
		out, err := s.t.Systemctl(ctx, a.Args...)
		return result{Data: out}, err
	case "verify":
		return result{}, s.t.Verify(ctx, a.Args...)
	case "analyze":
		out, err := s.t.Analyze(ctx, a.Args...)
		return result{Data: out}, err
	}
	if res, err, ok := s.read1(ctx, req.Method, a); ok {
		return res, err
	}
	return s.process(ctx, req.Method, a)
}

// read1 does the calls of host.Reader and ModTime; ok is false for
// another method.
func (s *server) read1(ctx context.Context, method string, a args) (res result, err error, ok bool) {
	switch method {
	case "read-file":
		res.Data, res.Mode, err = s.t.ReadFile(ctx, a.Path)
	case "file-mode":
		res.Mode, err = s.t.FileMode(ctx, a.Path)
	case "read-dir":
		res.Names, err = s.t.ReadDir(ctx, a.Path)
	case "links":
		res.Links, err = s.t.Links(ctx, a.Path)
	case "mod-time":
		res.Time, err = s.t.ModTime(ctx, a.Path)
	default:
		return res, nil, false
	}
	return res, err, true
}

// process does the calls of host.Processes.
func (s *server) process(ctx context.Context, method string, a args) (res result, err error) {
	switch method {
	case "status":
		st, err := s.t.Status(ctx, a.PID)
		return result{Status: &st}, err
	case "filters":
		res.Filters, err = s.t.Filters(ctx, a.PID)
	case "start-time":
		res.Time, err = s.t.StartTime(ctx, a.PID)
	case "exe":
		res.Text, err = s.t.Exe(ctx, a.PID)
	case "exec-fn":
		res.Text, err = s.t.ExecFn(ctx, a.PID)
	case "resolve":
		res.Text, err = s.t.Resolve(ctx, a.Path)
	case "head":
		if a.N < 0 || a.N > MaxHead {
			return res, fmt.Errorf("agent: head of %d bytes: the limit is %d", a.N, MaxHead)
		}
		res.Data, err = s.t.Head(ctx, a.Path, a.N)
	case "file-sum":
		res.Text, res.Time, err = s.t.FileSum(ctx, a.Path)
	case "fencer":
		res.Text, err = s.t.Fencer(ctx)
	default:
		return res, fmt.Errorf("agent: no method %q in protocol %d", method, Protocol)
	}
	return res, err
}

// lock takes the host's lock and keeps its unlock under a new id.
func (s *server) lock(ctx context.Context) (result, error) {
	unlock, err := s.t.Lock(ctx)
	if err != nil {
		return result{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		// Served no more: nobody would release it. (A client that
		// gave up on the call releases a lock that comes late.)
		_ = unlock()
		return result{}, fmt.Errorf("host %s: lock: %w", s.t.Name(), context.Canceled)
	}
	s.nextLock++
	s.locks[s.nextLock] = unlock
	return result{Lock: s.nextLock}, nil
}

// unlock releases the lock of id; an unknown id is no error (released
// already).
func (s *server) unlock(id uint64) error {
	s.mu.Lock()
	unlock := s.locks[id]
	delete(s.locks, id)
	s.mu.Unlock()
	if unlock == nil {
		return nil
	}
	return unlock()
}

// selfContent returns the content of the agent's own executable, which
// must have the SHA-256 sum (hex): what write-self writes, so that the
// loader, the same fencer, need not be sent again.
func selfContent(sum string) ([]byte, error) {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("agent: its own executable: %w", err)
	}
	defer f.Close()
	data, err := readlimit.All(f, "/proc/self/exe", host.MaxHostFileBytes, "the agent's executable")
	if err != nil {
		return nil, fmt.Errorf("agent: its own executable: %w", err)
	}
	got := sha256.Sum256(data)
	if hex.EncodeToString(got[:]) != sum {
		return nil, fmt.Errorf("agent: its own executable has SHA-256 %x, not %s", got, sum)
	}
	return data, nil
}
