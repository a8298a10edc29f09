package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/procseccomp"
)

// unlockTimeout bounds the unlock call of a lock's release function,
// which has no context of its own.
const unlockTimeout = 30 * time.Second

// deadlineMargin is, at most, how much earlier than the caller's
// deadline the server's call ends.
const deadlineMargin = 250 * time.Millisecond

// DefaultCallTimeout bounds a call whose context has no deadline: a host
// whose agent stops answering (a systemctl that hangs, an agent that is
// not fencer's) must not hold its caller, and the fleet waiting for it,
// forever. The SSH keepalives only tell that the connection lives.
const DefaultCallTimeout = 10 * time.Minute

// Client is a host.Target whose every call is done by an agent at the
// other end of a stream. A call ends at its context's deadline, or after
// DefaultCallTimeout when it has none. It is safe for concurrent use.
type Client struct {
	name string
	rwc  io.ReadWriteCloser
	// callTimeout is DefaultCallTimeout (tests shorten it).
	callTimeout time.Duration
	// Pid is the agent's process id on its host.
	Pid int

	out  chan []byte   // frames for the writer
	done chan struct{} // closed once the stream is lost or closed

	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan reply
	methods map[uint64]string // of the pending calls
	// abandoned are the calls whose caller gave up before their reply
	// came, by id, with their method: the one reply each may still get
	// is expected (a lock granted late is released), any other reply
	// for an id nobody waits for breaks the protocol.
	abandoned map[uint64]string
	err       error // why the stream ended, wrapping host.ErrUnreachable

	// self is the content of the agent's executable and selfSum its
	// SHA-256 (hex), when the caller said (Self).
	self    []byte
	selfSum string
}

var _ host.Target = (*Client)(nil)

// NewClient reads the agent's hello from rwc, which must be of this
// protocol, and returns the client of host name (the name its errors
// give). ctx bounds the wait for the hello only. On error rwc is closed.
func NewClient(ctx context.Context, name string, rwc io.ReadWriteCloser) (*Client, error) {
	type got struct {
		h        hello
		preamble []byte
		err      error
	}
	ch := make(chan got, 1)
	go func() {
		var g got
		var err error
		g.preamble, err = skipToMagic(rwc)
		var b []byte
		if err == nil {
			b, err = readFrame(rwc, 4096)
		}
		if err == nil {
			err = decode(b, &g.h)
		}
		g.err = err
		ch <- g
	}()
	var g got
	select {
	case g = <-ch:
	case <-ctx.Done():
		rwc.Close()
		return nil, fmt.Errorf("host %s: waiting for fencer's agent to start: %w", name, ctx.Err())
	}
	said := ""
	if p := strings.TrimSpace(string(g.preamble)); p != "" {
		said = fmt.Sprintf(" (it printed %q)", p[:min(len(p), 200)])
	}
	switch {
	case g.err != nil:
		rwc.Close()
		return nil, fmt.Errorf("host %s: %w: fencer's agent did not start: %v%s", name, host.ErrUnreachable, g.err, said)
	case g.h.Agent != "fencer":
		rwc.Close()
		return nil, fmt.Errorf("host %s: %w: what runs there is not fencer's agent", name, ErrProtocol)
	case g.h.Protocol != Protocol:
		rwc.Close()
		return nil, fmt.Errorf("host %s: fencer's agent there speaks protocol %d, and this fencer protocol %d: install the same fencer on both sides", name, g.h.Protocol, Protocol)
	}
	c := &Client{name: name, rwc: rwc, Pid: g.h.Pid, callTimeout: DefaultCallTimeout, out: make(chan []byte), done: make(chan struct{}),
		pending: map[uint64]chan reply{}, methods: map[uint64]string{}, abandoned: map[uint64]string{}}
	go c.write()
	go c.read()
	return c, nil
}

// Name is the host's name in the configuration.
func (c *Client) Name() string { return c.name }

// Close ends the stream; every pending and later call fails with an
// error wrapping host.ErrUnreachable, and the agent, its input closed,
// releases the host's lock and exits.
func (c *Client) Close() error {
	c.fail(errors.New("the connection was closed"))
	return nil
}

// Done is closed once the stream has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err says why the stream ended, nil while it works.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// fail ends the stream for reason, failing every pending call.
func (c *Client) fail(reason error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = fmt.Errorf("host %s: %w: the connection to fencer's agent ended: %v", c.name, host.ErrUnreachable, reason)
	pending := c.pending
	c.pending, c.methods, c.abandoned = nil, nil, nil
	close(c.done)
	c.mu.Unlock()
	c.rwc.Close()
	for _, ch := range pending {
		close(ch)
	}
}

// write sends the frames of out, one at a time.
func (c *Client) write() {
	for {
		select {
		case b := <-c.out:
			if _, err := c.rwc.Write(b); err != nil {
				c.fail(fmt.Errorf("writing: %w", err))
				return
			}
		case <-c.done:
			return
		}
	}
}

// read hands each reply to its caller. A reply for a call nobody waits
// for, nor gave up on (an id never sent, or answered already), or over
// its method's bounds (decodeReply), ends the connection: a host that
// sends those is not fencer's agent, and what it sends must not cost this
// side more than about one frame at a time.
func (c *Client) read() {
	for {
		b, err := readFrame(c.rwc, MaxFrame)
		if err != nil {
			c.fail(fmt.Errorf("reading: %w", err))
			return
		}
		r, err := c.decodeReply(b)
		if err != nil {
			c.fail(fmt.Errorf("reading: %w", err))
			return
		}
		// Handed over under the lock (ch is buffered), so that a
		// caller giving up (do) finds the reply in ch, or its call
		// moved from pending to abandoned here.
		c.mu.Lock()
		ch, ok := c.pending[r.ID]
		delete(c.pending, r.ID)
		delete(c.methods, r.ID)
		if ok {
			ch <- r
		}
		method, late := c.abandoned[r.ID]
		delete(c.abandoned, r.ID)
		c.mu.Unlock()
		switch {
		case late:
			c.release(method, r)
		case !ok:
			c.fail(fmt.Errorf("%w: a reply for call %d, which is not waiting for one", ErrProtocol, r.ID))
			return
		}
	}
}

// Bounds of a reply's parts besides the frame's: JSON turns a few bytes
// into many (["","",...] is 16 bytes of memory for every 3), so a reply
// that carries no file or command output, and an error, are kept small.
const (
	maxSmallResult = 4 << 20
	maxErrorReply  = 1 << 20
)

// dataMethods are the calls whose result carries a file or a command's
// output (base64, smaller in memory than on the wire): up to MaxFrame.
var dataMethods = map[string]bool{"read-file": true, "head": true, "systemctl": true, "analyze": true}

// decodeReply decodes a reply frame, for a call that waits for it or was
// given up on, within the bounds of its method.
func (c *Client) decodeReply(b []byte) (reply, error) {
	var env struct {
		ID     uint64          `json:"id"`
		Result json.RawMessage `json:"result"`
		Err    json.RawMessage `json:"error"`
	}
	if err := decode(b, &env); err != nil {
		return reply{}, err
	}
	c.mu.Lock()
	method, ok := c.methods[env.ID]
	if !ok {
		method, ok = c.abandoned[env.ID]
	}
	c.mu.Unlock()
	switch {
	case !ok:
		return reply{}, fmt.Errorf("%w: a reply for call %d, which is not waiting for one", ErrProtocol, env.ID)
	case len(env.Err) > maxErrorReply:
		return reply{}, fmt.Errorf("%w: an error of %d bytes for a %s call, over the limit of %d", ErrProtocol, len(env.Err), method, maxErrorReply)
	case !dataMethods[method] && len(env.Result) > maxSmallResult:
		return reply{}, fmt.Errorf("%w: a result of %d bytes for a %s call, over the limit of %d", ErrProtocol, len(env.Result), method, maxSmallResult)
	}
	r := reply{ID: env.ID}
	switch {
	case len(env.Result) == 0:
	case dataMethods[method]:
		// Only the fields these calls return: the others, skipped,
		// cost nothing however long.
		var d struct {
			Data []byte      `json:"data"`
			Mode fs.FileMode `json:"mode"`
		}
		if err := decode(env.Result, &d); err != nil {
			return reply{}, err
		}
		r.Result = result{Data: d.Data, Mode: d.Mode}
	default:
		if err := decode(env.Result, &r.Result); err != nil {
			return reply{}, err
		}
	}
	if len(env.Err) > 0 && string(env.Err) != "null" {
		r.Err = &wireError{}
		if err := decode(env.Err, r.Err); err != nil {
			return reply{}, err
		}
	}
	return r, nil
}

// release unlocks the lock a lock call got after its caller gave up:
// nobody else would.
func (c *Client) release(method string, r reply) {
	if method == "lock" && r.Err == nil && r.Result.Lock != 0 {
		go c.send(context.Background(), request{Method: "unlock", Args: args{Lock: r.Result.Lock}})
	}
}

// send queues a request without waiting for a reply.
func (c *Client) send(ctx context.Context, req request) error {
	b, err := encodeFrame(req)
	if err != nil {
		return fmt.Errorf("host %s: %s: %w", c.name, req.Method, err)
	}
	select {
	case c.out <- b:
		return nil
	case <-c.done:
		return c.Err()
	case <-ctx.Done():
		return fmt.Errorf("host %s: %s: %w", c.name, req.Method, ctx.Err())
	}
}

// call does one request and waits for its reply, or until ctx is done
// (then the server is told to cancel the call), or the stream ends.
func (c *Client) call(ctx context.Context, method string, a args) (result, error) {
	if err := ctx.Err(); err != nil {
		return result{}, fmt.Errorf("host %s: %s: %w", c.name, method, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		bounded, cancel := context.WithTimeout(ctx, c.callTimeout)
		defer cancel()
		r, err := c.do(bounded, request{Method: method, Args: a})
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("host %s: %s: fencer's agent did not answer within %s: %w", c.name, method, c.callTimeout, context.DeadlineExceeded)
		}
		return r, err
	}
	return c.do(ctx, request{Method: method, Args: a})
}

// do sends req, with the time left before ctx's deadline, and waits for
// its reply.
func (c *Client) do(ctx context.Context, req request) (result, error) {
	method := req.Method
	if d, ok := ctx.Deadline(); ok && req.Timeout == 0 {
		// The server's deadline comes a little earlier, so that its
		// error (which says who holds a lock) arrives before the
		// caller's own deadline ends the wait.
		left := time.Until(d)
		req.Timeout = max(int64(left-min(left/4, deadlineMargin)), 1)
	}
	ch := make(chan reply, 1)
	c.mu.Lock()
	if c.err != nil {
		defer c.mu.Unlock()
		return result{}, c.err
	}
	c.next++
	req.ID = c.next
	c.pending[req.ID] = ch
	c.methods[req.ID] = method
	c.mu.Unlock()
	if err := c.send(ctx, req); err != nil {
		// Not sent: no reply will come.
		c.mu.Lock()
		delete(c.pending, req.ID)
		delete(c.methods, req.ID)
		c.mu.Unlock()
		return result{}, err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return result{}, c.Err()
		}
		return r.Result, fromWire(r.Err)
	case <-ctx.Done():
		c.mu.Lock()
		_, waiting := c.pending[req.ID]
		if waiting {
			delete(c.pending, req.ID)
			delete(c.methods, req.ID)
			c.abandoned[req.ID] = method
		}
		c.mu.Unlock()
		if waiting {
			go c.send(context.Background(), request{Method: "cancel", Args: args{ID: req.ID}})
		} else if r, ok := <-ch; ok {
			// It came as the caller gave up (or the stream ended,
			// and ch is closed).
			c.release(method, r)
		}
		return result{}, fmt.Errorf("host %s: %s: %w", c.name, method, ctx.Err())
	}
}

// Facts reads the host's facts, as its own transport reads them.
func (c *Client) Facts(ctx context.Context) (*host.Facts, error) {
	r, err := c.call(ctx, "facts", args{})
	if err == nil && r.Facts == nil {
		err = fmt.Errorf("host %s: facts: %w: the agent sent none", c.name, ErrProtocol)
	}
	return r.Facts, err
}

// ReadFile returns a file's content and mode (host.Reader).
func (c *Client) ReadFile(ctx context.Context, path string) ([]byte, fs.FileMode, error) {
	r, err := c.call(ctx, "read-file", args{Path: path})
	return r.Data, r.Mode, err
}

// FileMode returns a file's mode without reading it (host.Reader).
func (c *Client) FileMode(ctx context.Context, path string) (fs.FileMode, error) {
	r, err := c.call(ctx, "file-mode", args{Path: path})
	return r.Mode, err
}

// ReadDir lists a directory's entries (host.Reader).
func (c *Client) ReadDir(ctx context.Context, path string) ([]string, error) {
	r, err := c.call(ctx, "read-dir", args{Path: path})
	return r.Names, err
}

// Links returns the symbolic links in a directory (host.Reader).
func (c *Client) Links(ctx context.Context, path string) (map[string]string, error) {
	r, err := c.call(ctx, "links", args{Path: path})
	if err == nil && r.Links == nil {
		r.Links = map[string]string{}
	}
	return r.Links, err
}

// ModTime returns when the file at path was last written.
func (c *Client) ModTime(ctx context.Context, path string) (time.Time, error) {
	r, err := c.call(ctx, "mod-time", args{Path: path})
	return r.Time, err
}

// Lock takes the host's lock in the agent; unlock releases it there. The
// agent releases it too when the connection ends. Like the host's own
// Lock, it tries once even when ctx is done already (the agent's call
// then has no time to wait), so that the error says who holds it.
func (c *Client) Lock(ctx context.Context) (func() error, error) {
	var r result
	var err error
	if ctx.Err() != nil {
		once, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
		defer cancel()
		r, err = c.do(once, request{Method: "lock", Timeout: 1})
	} else {
		r, err = c.call(ctx, "lock", args{})
	}
	if err != nil {
		return nil, err
	}
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
			defer cancel()
			_, uerr = c.call(ctx, "unlock", args{Lock: r.Lock})
		})
		return uerr
	}, nil
}

// Self tells the client the content of the executable its agent runs
// (the fencer binary copied to the host) and its SHA-256 in hex, before
// any call: WriteFile of exactly that content — the loader — then asks
// the agent to write its own executable, which it checks against that
// SHA-256, instead of carrying the whole binary over the connection
// again.
func (c *Client) Self(data []byte, sha256 string) {
	c.self, c.selfSum = data, sha256
}

// WriteFile replaces path atomically on the host (host.Target). The
// agent's own executable (Self) is written from the host's copy; when
// the agent cannot (its executable is not that content), the content is
// sent.
func (c *Client) WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode) error {
	if data == nil {
		data = []byte{}
	}
	if len(c.self) > 0 && bytes.Equal(data, c.self) {
		_, err := c.call(ctx, "write-self", args{Path: path, Mode: mode, SHA256: c.selfSum})
		if err == nil || errors.Is(err, host.ErrUnreachable) || ctx.Err() != nil {
			return err
		}
	}
	_, err := c.call(ctx, "write-file", args{Path: path, Data: data, Mode: mode})
	return err
}

// Remove deletes path on the host (host.Target).
func (c *Client) Remove(ctx context.Context, path string) error {
	_, err := c.call(ctx, "remove", args{Path: path})
	return err
}

// Systemctl runs systemctl on the host (host.Target).
func (c *Client) Systemctl(ctx context.Context, a ...string) ([]byte, error) {
	r, err := c.call(ctx, "systemctl", args{Args: a})
	return r.Data, err
}

// Verify runs systemd-analyze verify on the host (host.Target).
func (c *Client) Verify(ctx context.Context, units ...string) error {
	_, err := c.call(ctx, "verify", args{Args: units})
	return err
}

// Analyze runs systemd-analyze on the host (host.Target).
func (c *Client) Analyze(ctx context.Context, a ...string) ([]byte, error) {
	r, err := c.call(ctx, "analyze", args{Args: a})
	return r.Data, err
}

// Status reads a process's seccomp status (host.Processes).
func (c *Client) Status(ctx context.Context, pid int) (procseccomp.Status, error) {
	r, err := c.call(ctx, "status", args{PID: pid})
	if r.Status == nil {
		return procseccomp.Status{}, err
	}
	return *r.Status, err
}

// Filters reads a process's seccomp filters back (host.Processes).
func (c *Client) Filters(ctx context.Context, pid int) ([]bpf.Program, error) {
	r, err := c.call(ctx, "filters", args{PID: pid})
	return r.Filters, err
}

// StartTime is when the process started (host.Processes).
func (c *Client) StartTime(ctx context.Context, pid int) (time.Time, error) {
	r, err := c.call(ctx, "start-time", args{PID: pid})
	return r.Time, err
}

// Exe is the program the process runs (host.Processes).
func (c *Client) Exe(ctx context.Context, pid int) (string, error) {
	r, err := c.call(ctx, "exe", args{PID: pid})
	return r.Text, err
}

// ExecFn is the file name of the process's last execve (host.Processes).
func (c *Client) ExecFn(ctx context.Context, pid int) (string, error) {
	r, err := c.call(ctx, "exec-fn", args{PID: pid})
	return r.Text, err
}

// Resolve follows path's links on the host (host.Processes).
func (c *Client) Resolve(ctx context.Context, path string) (string, error) {
	r, err := c.call(ctx, "resolve", args{Path: path})
	return r.Text, err
}

// Head returns the first n bytes (at most MaxHead) of a file on the host
// (host.Processes).
func (c *Client) Head(ctx context.Context, path string, n int) ([]byte, error) {
	if n < 0 || n > MaxHead {
		return nil, fmt.Errorf("host %s: read the first %d bytes of %s: the limit is %d", c.name, n, path, MaxHead)
	}
	r, err := c.call(ctx, "head", args{Path: path, N: n})
	return r.Data, err
}

// FileSum hashes a file on the host (host.Processes).
func (c *Client) FileSum(ctx context.Context, path string) (string, time.Time, error) {
	r, err := c.call(ctx, "file-sum", args{Path: path})
	return r.Text, r.Time, err
}

// Fencer hashes the agent's own executable (host.Processes).
func (c *Client) Fencer(ctx context.Context) (string, error) {
	r, err := c.call(ctx, "fencer", args{})
	return r.Text, err
}
