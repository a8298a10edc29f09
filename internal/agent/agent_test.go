package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/host"
)

// pair serves t on one end of a pipe and returns the client on the other,
// and the server's end, which tests cut.
func pair(t *testing.T, target host.Target) (*Client, net.Conn, chan error) {
	t.Helper()
	cc, sc := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- Serve(context.Background(), sc, sc, target) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := NewClient(ctx, target.Name(), cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); sc.Close() })
	return c, sc, served
}

func rootHost(t *testing.T) (*host.RootHost, string) {
	t.Helper()
	dir := t.TempDir()
	h, err := host.Root("web", dir, "x86_64", host.ScopeSystem)
	if err != nil {
		t.Fatal(err)
	}
	return h, dir
}

func TestFiles(t *testing.T) {
	h, dir := rootHost(t)
	c, _, _ := pair(t, h)
	ctx := context.Background()
	p := "/etc/systemd/system/a.service"
	if err := c.WriteFile(ctx, p, []byte("[Service]\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	data, mode, err := c.ReadFile(ctx, p)
	if err != nil || string(data) != "[Service]\n" || mode.Perm() != 0o640 {
		t.Fatalf("ReadFile = %q, %v, %v", data, mode, err)
	}
	if err := c.WriteFile(ctx, "/etc/empty", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if data, _, err := c.ReadFile(ctx, "/etc/empty"); err != nil || len(data) != 0 {
		t.Fatalf("ReadFile of an empty file = %q, %v", data, err)
	}
	names, err := c.ReadDir(ctx, "/etc/systemd/system")
	if err != nil || strings.Join(names, " ") != "a.service" {
		t.Fatalf("ReadDir = %v, %v", names, err)
	}
	if err := os.Symlink("/dev/null", filepath.Join(dir, "etc/systemd/system/b.service")); err != nil {
		t.Fatal(err)
	}
	links, err := c.Links(ctx, "/etc/systemd/system")
	if err != nil || links["b.service"] != "/dev/null" || len(links) != 1 {
		t.Fatalf("Links = %v, %v", links, err)
	}
	if mode, err := c.FileMode(ctx, p); err != nil || mode.Perm() != 0o640 {
		t.Fatalf("FileMode = %v, %v; want 0640", mode, err)
	}
	want, _ := h.ModTime(ctx, p)
	if got, err := c.ModTime(ctx, p); err != nil || !got.Equal(want) {
		t.Fatalf("ModTime = %v, %v; want %v", got, err, want)
	}
	if err := c.Remove(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(ctx, p); err != nil {
		t.Fatalf("Remove of a missing file: %v", err)
	}
	f, err := c.Facts(ctx)
	if err != nil || f.Arch != "x86_64" || f.Root != dir || f.Paths != host.SystemPaths {
		t.Fatalf("Facts = %+v, %v", f, err)
	}
}

// TestErrors checks that every error keeps its meaning across the wire.
func TestErrors(t *testing.T) {
	h, dir := rootHost(t)
	c, _, _ := pair(t, h)
	ctx := context.Background()
	_, _, err := c.ReadFile(ctx, "/etc/missing")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "host web") {
		t.Errorf("ReadFile of a missing file: %v", err)
	}
	for name, call := range map[string]func() error{
		"ReadDir":  func() error { _, err := c.ReadDir(ctx, "/nope"); return err },
		"Links":    func() error { _, err := c.Links(ctx, "/nope"); return err },
		"ModTime":  func() error { _, err := c.ModTime(ctx, "/nope"); return err },
		"FileMode": func() error { _, err := c.FileMode(ctx, "/nope"); return err },
	} {
		if err := call(); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s of a missing path: %v", name, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "elsewhere"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "etc/systemd/system"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../elsewhere", filepath.Join(dir, "etc/systemd/system/x.service.d")); err != nil {
		t.Fatal(err)
	}
	err = c.WriteFile(ctx, "/etc/systemd/system/x.service.d/fencer.conf", []byte("x"), 0o644)
	if !errors.Is(err, host.ErrSymlink) {
		t.Errorf("WriteFile through a symlinked directory: %v", err)
	}
	if _, err := c.Systemctl(ctx, "daemon-reload"); !errors.Is(err, host.ErrNotLive) {
		t.Errorf("Systemctl on a tree: %v", err)
	}
	if _, err := c.Status(ctx, 1); !errors.Is(err, host.ErrNotLive) {
		t.Errorf("Status on a tree: %v", err)
	}
	if _, err := c.Head(ctx, "/x", MaxHead+1); err == nil {
		t.Error("Head over MaxHead succeeded")
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := c.ReadFile(done, "/etc/missing"); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadFile with a cancelled context: %v", err)
	}
}

// slow is a target whose ReadFile waits for its context, and says when
// it was called and when its context ended.
type slow struct {
	host.Target
	called, ended chan error
}

func (s *slow) ReadFile(ctx context.Context, path string) ([]byte, fs.FileMode, error) {
	s.called <- nil
	<-ctx.Done()
	s.ended <- ctx.Err()
	return nil, 0, fmt.Errorf("host %s: %w", s.Name(), ctx.Err())
}

func newSlow(t *testing.T) *slow {
	h, _ := rootHost(t)
	return &slow{Target: h, called: make(chan error, 10), ended: make(chan error, 10)}
}

// TestTimeout checks that a call gives up at its deadline, and that the
// server's call is cancelled then, by its deadline or by the client.
func TestTimeout(t *testing.T) {
	s := newSlow(t)
	c, _, _ := pair(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, _, err := c.ReadFile(ctx, "/x")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(began) > 2*time.Second {
		t.Errorf("ReadFile past its deadline: %v after %s", err, time.Since(began))
	}
	select {
	case err := <-s.ended:
		if err == nil {
			t.Error("the server's call ended without its context's error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server's call was not cancelled")
	}
	// A cancelled call (no deadline) is cancelled on the server too.
	ctx, cancel = context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, _, err := c.ReadFile(ctx, "/x"); errc <- err }()
	<-s.called
	<-s.called
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ReadFile: %v", err)
	}
	select {
	case err := <-s.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the server's call ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server's call was not cancelled")
	}
	// The connection still works.
	if _, err := c.ReadDir(context.Background(), "/etc"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadDir after a cancelled call: %v", err)
	}
}

// TestCut checks that a connection lost in the middle of a call fails
// that call and every later one with ErrUnreachable naming the host.
func TestCut(t *testing.T) {
	s := newSlow(t)
	c, sc, _ := pair(t, s)
	errc := make(chan error, 1)
	go func() { _, _, err := c.ReadFile(context.Background(), "/x"); errc <- err }()
	<-s.called
	sc.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, host.ErrUnreachable) || !strings.Contains(err.Error(), "host web") {
			t.Errorf("call cut off: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a call cut off did not return")
	}
	if _, err := c.ReadDir(context.Background(), "/etc"); !errors.Is(err, host.ErrUnreachable) {
		t.Errorf("call after the cut: %v", err)
	}
	<-c.Done()
}

// TestLock checks the lock's contention over two connections, its
// release by unlock, and by the end of the connection holding it.
func TestLock(t *testing.T) {
	h, _ := rootHost(t)
	a, aconn, served := pair(t, h)
	b, _, _ := pair(t, h)
	ctx := context.Background()
	unlock, err := a.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	_, err = b.Lock(short)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("Lock held by another: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Errorf("second unlock: %v", err)
	}
	// With a context done already, Lock tries once, as the host's own.
	done, cancel0 := context.WithTimeout(ctx, 0)
	defer cancel0()
	ub, err := b.Lock(done)
	if err != nil {
		t.Fatalf("Lock after unlock, tried once: %v", err)
	}
	if _, err := a.Lock(done); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "another fencer holds the lock") {
		t.Errorf("Lock held, tried once: %v", err)
	}
	if err := ub(); err != nil {
		t.Fatal(err)
	}
	// Held, then the connection ends: the server releases it.
	if _, err := a.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	aconn.Close()
	if err := <-served; err != nil && !errors.Is(err, io.ErrClosedPipe) {
		t.Logf("Serve: %v", err)
	}
	wait, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	ub, err = b.Lock(wait)
	if err != nil {
		t.Fatalf("Lock after the holder's connection ended: %v", err)
	}
	ub()
}

// TestConcurrent runs many calls at once on one connection.
func TestConcurrent(t *testing.T) {
	h, _ := rootHost(t)
	c, _, _ := pair(t, h)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := fmt.Sprintf("/etc/f%d", i)
			content := bytes.Repeat([]byte{byte(i)}, 1000*i)
			if err := c.WriteFile(ctx, p, content, 0o644); err != nil {
				errs <- err
				return
			}
			got, _, err := c.ReadFile(ctx, p)
			if err != nil || !bytes.Equal(got, content) {
				errs <- fmt.Errorf("%s: read back %d bytes, %v", p, len(got), err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestBigFile carries a file of several MiB both ways.
func TestBigFile(t *testing.T) {
	h, _ := rootHost(t)
	c, _, _ := pair(t, h)
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB
	if err := c.WriteFile(ctx, "/usr/local/bin/fencer", big, 0o755); err != nil {
		t.Fatal(err)
	}
	got, _, err := c.ReadFile(ctx, "/usr/local/bin/fencer")
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	if _, err := encodeFrame(request{Args: args{Data: make([]byte, MaxFrame)}}); !errors.Is(err, ErrProtocol) {
		t.Errorf("encoding a message over MaxFrame: %v", err)
	}
}

// TestGarbage sends the server what is not the protocol: it stops with
// an error, without panicking or reserving the memory a length claims.
func TestGarbage(t *testing.T) {
	h, _ := rootHost(t)
	for name, input := range map[string][]byte{
		"huge length": {0xff, 0xff, 0xff, 0xff, 1, 2, 3},
		"not json":    append([]byte{0, 0, 0, 5}, "hello"...),
		"cut short":   {0, 0, 0x10, 0, '{'},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := Serve(context.Background(), bytes.NewReader(input), &out, h)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Error("Serve accepted garbage")
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
				t.Errorf("Serve allocated %d bytes for a message of %d", grew, len(input))
			}
		})
	}
}

// TestBadServer checks the client against servers that break the
// protocol: another version, something other than the agent, garbage.
func TestBadServer(t *testing.T) {
	frame := func(s string) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(s)))
		return append(b, s...)
	}
	for name, tc := range map[string]struct {
		hello []byte
		want  string
	}{
		"version": {append([]byte(Magic), frame(`{"agent":"fencer","protocol":99}`)...), "speaks protocol 99, and this fencer protocol 2"},
		"other":   {append([]byte(Magic), frame(`{"hi":1}`)...), "not fencer's agent"},
		"motd":    {[]byte("Welcome to Debian!\n"), `did not start: EOF (it printed "Welcome to Debian!")`},
		"endless": {bytes.Repeat([]byte("y\n"), maxPreamble), "no fencer agent greeting in the first 65536 bytes"},
		"nothing": {nil, "did not start"},
	} {
		t.Run(name, func(t *testing.T) {
			cc, sc := net.Pipe()
			go func() { sc.Write(tc.hello); sc.Close() }()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := NewClient(ctx, "web", cc)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "host web") {
				t.Errorf("NewClient = %v, want %q", err, tc.want)
			}
		})
	}
	// A reply that is garbage ends the connection.
	cc, sc := net.Pipe()
	go func() {
		sc.Write(append([]byte("motd first\n"+Magic), frame(`{"agent":"fencer","protocol":2}`)...))
		readFrame(sc, MaxFrame)
		sc.Write(frame(`[[[`))
	}()
	c, err := NewClient(context.Background(), "web", cc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ReadDir(context.Background(), "/etc"); !errors.Is(err, host.ErrUnreachable) || !strings.Contains(err.Error(), "agent protocol error") {
		t.Errorf("garbage reply: %v", err)
	}
}

// FuzzServe feeds the server arbitrary input: it must end without
// panicking, whatever it reads.
func FuzzServe(f *testing.F) {
	req, _ := encodeFrame(request{ID: 1, Method: "read-dir", Args: args{Path: "/"}})
	f.Add(req)
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	bad, _ := encodeFrame(request{ID: 2, Method: "head", Args: args{Path: "/x", N: -1}})
	f.Add(bad)
	dir := f.TempDir()
	h, err := host.Root("fuzz", dir, "x86_64", host.ScopeSystem)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// Only reading methods: the fuzzer must not write files.
		var out bytes.Buffer
		_ = Serve(context.Background(), readOnly{bytes.NewReader(in)}, &lockedBuffer{b: &out}, &noWrite{h})
		if _, err := skipToMagic(&out); err != nil {
			t.Fatalf("the server did not greet: %v", err)
		}
		for len(out.Bytes()) > 0 {
			if _, err := readFrame(&out, MaxFrame); err != nil {
				t.Fatalf("the server wrote a broken frame: %v", err)
			}
		}
	})
}

type readOnly struct{ io.Reader }

type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// noWrite refuses the calls that change the tree.
type noWrite struct{ host.Target }

var errNoWrite = errors.New("not while fuzzing")

func (noWrite) WriteFile(context.Context, string, []byte, fs.FileMode) error { return errNoWrite }
func (noWrite) Remove(context.Context, string) error                         { return errNoWrite }
func (noWrite) Lock(context.Context) (func() error, error)                   { return nil, errNoWrite }

// FuzzClient feeds the client arbitrary replies after a good hello: each
// call must end, with a result or an error, and nothing panics.
func FuzzClient(f *testing.F) {
	ok, _ := encodeFrame(reply{ID: 1, Result: result{Names: []string{"a"}}})
	f.Add(ok)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	lock, _ := encodeFrame(reply{ID: 7, Result: result{Lock: 3}})
	f.Add(lock)
	errReply, _ := encodeFrame(reply{ID: 1, Err: &wireError{Msg: "x", Kinds: []string{"not-exist", "bogus"}}})
	f.Add(errReply)
	f.Fuzz(func(t *testing.T, in []byte) {
		cc, sc := net.Pipe()
		defer sc.Close()
		go func() {
			hello, _ := encodeFrame(hello{Agent: "fencer", Protocol: Protocol})
			sc.Write(append([]byte(Magic), hello...))
			go io.Copy(io.Discard, sc)
			sc.Write(in)
		}()
		c, err := NewClient(context.Background(), "fuzz", cc)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Calls of every kind of result, each ending at its deadline.
		for _, call := range []func(context.Context){
			func(ctx context.Context) { c.ReadDir(ctx, "/") },
			func(ctx context.Context) { c.ReadFile(ctx, "/x") },
			func(ctx context.Context) { c.Facts(ctx) },
			func(ctx context.Context) { c.Filters(ctx, 1) },
			func(ctx context.Context) { c.Status(ctx, 1) },
			func(ctx context.Context) { c.Lock(ctx) },
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			call(ctx)
			cancel()
		}
	})
}

// FuzzHandshake feeds the client an arbitrary start of the stream: it
// returns a client or an error by its context's deadline, without
// panicking.
func FuzzHandshake(f *testing.F) {
	hello, _ := encodeFrame(hello{Agent: "fencer", Protocol: Protocol})
	f.Add(append([]byte(Magic), hello...))
	f.Add(append([]byte("motd\n"+Magic), hello...))
	f.Add([]byte(Magic + "\xff\xff\xff\xff"))
	f.Add([]byte(Magic[:5]))
	f.Fuzz(func(t *testing.T, in []byte) {
		cc, sc := net.Pipe()
		defer sc.Close()
		go func() {
			sc.Write(in)
			io.Copy(io.Discard, sc)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		began := time.Now()
		c, err := NewClient(ctx, "fuzz", cc)
		if err == nil {
			c.Close()
		}
		if time.Since(began) > 2*time.Second {
			t.Fatalf("NewClient took %s", time.Since(began))
		}
	})
}

// huge answers every Systemctl with more than a message can carry.
type huge struct{ host.Target }

func (huge) Systemctl(context.Context, ...string) ([]byte, error) {
	return make([]byte, MaxFrame), nil
}

// TestTooLargeAnswer: an answer over the limit comes back as an error,
// not as a call that never returns.
func TestTooLargeAnswer(t *testing.T) {
	h, _ := rootHost(t)
	c, _, _ := pair(t, huge{h})
	_, err := c.Systemctl(context.Background(), "show")
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("Systemctl with a huge answer: %v", err)
	}
}

// lateLock grants the lock only when told, whatever the context, and
// says when it is released.
type lateLock struct {
	host.Target
	grant    chan struct{}
	released chan struct{}
}

func (l *lateLock) Lock(context.Context) (func() error, error) {
	<-l.grant
	return func() error { close(l.released); return nil }, nil
}

// TestLateLock: a lock the agent gets after its caller gave up is
// released, not left held until the connection ends.
func TestLateLock(t *testing.T) {
	h, _ := rootHost(t)
	l := &lateLock{Target: h, grant: make(chan struct{}), released: make(chan struct{})}
	c, _, _ := pair(t, l)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock past its deadline: %v", err)
	}
	close(l.grant)
	select {
	case <-l.released:
	case <-time.After(5 * time.Second):
		t.Fatal("the lock granted late was not released")
	}
}

// TestHostileReplies: a host that sends replies for calls never made (or
// claims locks nobody asked for) ends its connection at the first one,
// and costs the client nothing per reply, even when it reads nothing of
// what the client sends.
func TestHostileReplies(t *testing.T) {
	cc, sc := net.Pipe()
	defer sc.Close()
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		hello, _ := encodeFrame(hello{Agent: "fencer", Protocol: Protocol})
		if _, err := sc.Write(append([]byte(Magic), hello...)); err != nil {
			return
		}
		for i := range 5000 {
			b, _ := encodeFrame(reply{ID: uint64(1000 + i), Result: result{Lock: uint64(i + 1)}})
			if _, err := sc.Write(b); err != nil {
				return
			}
		}
	}()
	before := runtime.NumGoroutine()
	c, err := NewClient(context.Background(), "web", cc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("replies for calls never made did not end the connection")
	}
	if err := c.Err(); !errors.Is(err, host.ErrUnreachable) || !strings.Contains(err.Error(), "call 1000, which is not waiting") {
		t.Errorf("Err = %v", err)
	}
	<-sent
	time.Sleep(50 * time.Millisecond)
	if grew := runtime.NumGoroutine() - before; grew > 20 {
		t.Errorf("%d goroutines more after the hostile replies", grew)
	}
}

// TestLateReplies: the reply to a call its caller gave up on is taken
// (a lock in it released), a second reply for the same id ends the
// connection.
func TestLateReplies(t *testing.T) {
	cc, sc := net.Pipe()
	defer sc.Close()
	reqs := make(chan request, 10)
	go func() {
		hello, _ := encodeFrame(hello{Agent: "fencer", Protocol: Protocol})
		sc.Write(append([]byte(Magic), hello...))
		for {
			b, err := readFrame(sc, MaxFrame)
			if err != nil {
				close(reqs)
				return
			}
			var r request
			decode(b, &r)
			reqs <- r
		}
	}()
	c, err := NewClient(context.Background(), "web", cc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.ReadDir(ctx, "/"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReadDir unanswered: %v", err)
	}
	if r := <-reqs; r.Method != "read-dir" {
		t.Fatalf("first request %+v", r)
	}
	if r := <-reqs; r.Method != "cancel" || r.Args.ID != 1 {
		t.Fatalf("second request %+v, want the cancel of call 1", r)
	}
	// The late reply claims a lock: a read-dir got none, nothing is
	// unlocked; the next request is the next call.
	late, _ := encodeFrame(reply{ID: 1, Result: result{Lock: 9}})
	sc.Write(late)
	got := make(chan error, 1)
	go func() {
		_, err := c.ReadDir(context.Background(), "/x")
		got <- err
	}()
	if r := <-reqs; r.Method != "read-dir" || r.ID != 2 {
		t.Fatalf("after the late reply, request %+v: want call 2, read-dir", r)
	}
	answer, _ := encodeFrame(reply{ID: 2, Result: result{Names: []string{"a"}}})
	sc.Write(answer)
	if err := <-got; err != nil {
		t.Fatalf("ReadDir: %v", err)
	}
	// A second reply for call 1 breaks the protocol.
	sc.Write(late)
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a second reply for a call did not end the connection")
	}
	if err := c.Err(); !strings.Contains(err.Error(), "call 1, which is not waiting") {
		t.Errorf("Err = %v", err)
	}
}

// TestNoDeadline: a call without a deadline, to an agent that never
// answers it, ends after the client's call timeout, and the agent's call
// is cancelled.
func TestNoDeadline(t *testing.T) {
	s := newSlow(t)
	c, _, _ := pair(t, s)
	c.callTimeout = 200 * time.Millisecond
	errc := make(chan error, 1)
	go func() { _, _, err := c.ReadFile(context.Background(), "/x"); errc <- err }()
	select {
	case err := <-errc:
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "did not answer within 200ms") || !strings.Contains(err.Error(), "host web") {
			t.Errorf("ReadFile unanswered: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a call without a deadline waits for ever")
	}
	select {
	case <-s.ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the agent's call was not cancelled")
	}
}

// answerOnce is the client of a server that answers the first request
// with body, whatever it is, and reads the rest.
func answerOnce(t *testing.T, body []byte) *Client {
	t.Helper()
	cc, sc := net.Pipe()
	t.Cleanup(func() { sc.Close() })
	go func() {
		hello, _ := encodeFrame(hello{Agent: "fencer", Protocol: Protocol})
		sc.Write(append([]byte(Magic), hello...))
		if _, err := readFrame(sc, MaxFrame); err != nil {
			return
		}
		go io.Copy(io.Discard, sc)
		sc.Write(binary.BigEndian.AppendUint32(nil, uint32(len(body))))
		sc.Write(body)
	}()
	c, err := NewClient(context.Background(), "web", cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestAmplifiedReply: a reply that JSON would blow up in memory (millions
// of empty names for a read-dir) is refused for its size before it is
// decoded; a file's content may still fill a frame (TestBigFile).
func TestAmplifiedReply(t *testing.T) {
	names := bytes.Repeat([]byte(`"",`), 8<<20)
	body := append(append([]byte(`{"id":1,"result":{"names":[`), names...), `""]}}`...)
	c := answerOnce(t, body)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := c.ReadDir(context.Background(), "/")
	runtime.ReadMemStats(&after)
	if !errors.Is(err, host.ErrUnreachable) || !strings.Contains(err.Error(), "a result of 25165838 bytes for a read-dir call, over the limit") {
		t.Errorf("ReadDir = %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 180<<20 {
		t.Errorf("a reply of %d MiB cost %d MiB", len(body)>>20, grew>>20)
	}
}

// TestAmplifiedData: a read-file reply, which may fill a frame, costs no
// more than its content when it carries fields read-file does not return.
func TestAmplifiedData(t *testing.T) {
	names := bytes.Repeat([]byte(`"",`), 8<<20)
	body := append(append([]byte(`{"id":1,"result":{"data":"aGk=","names":[`), names...), `""]}}`...)
	c := answerOnce(t, body)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	data, _, err := c.ReadFile(context.Background(), "/x")
	runtime.ReadMemStats(&after)
	if err != nil || string(data) != "hi" {
		t.Errorf("ReadFile = %q, %v", data, err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 180<<20 {
		t.Errorf("a reply of %d MiB cost %d MiB", len(body)>>20, grew>>20)
	}
}

// TestLongError: an error message too long for a reply is cut, not lost.
func TestLongError(t *testing.T) {
	w := toWire(fmt.Errorf("host web: verify: %s: %w", strings.Repeat("x", 2*maxErrorMsg), fs.ErrNotExist))
	if len(w.Msg) > maxErrorMsg+100 || !strings.HasSuffix(w.Msg, "[cut: the message was longer]") || len(w.Kinds) != 1 {
		t.Errorf("toWire: %d bytes, %v", len(w.Msg), w.Kinds)
	}
}

// TestPrintable: what a host says reaches the terminal with its control
// characters escaped, newlines and tabs kept.
func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain\ttext\n":                  "plain\ttext\n",
		"\x1b]52;c;ZXZpbA==\x07":         `\x1b]52;c;ZXZpbA==\x07`,
		"over\rwrite \x9b2J":             `over\x0dwrite \x9b2J`,
		"file\u202egnp.exe":              `file\u202egnp.exe`,
		"unicode é, 日本 stay as they are": "unicode é, 日本 stay as they are",
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
	// An error from the host arrives printable.
	w := toWire(fmt.Errorf("host web: systemctl: \x1b[2J\x1b[Hall is well: %w", fs.ErrNotExist))
	err := fromWire(w)
	if strings.ContainsRune(err.Error(), 0x1b) || !strings.Contains(err.Error(), `\x1b[2J`) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("fromWire = %q", err)
	}
}

// counted counts the bytes written to its connection.
type counted struct {
	net.Conn
	n atomic.Int64
}

func (c *counted) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return c.Conn.Write(p)
}

// TestWriteSelf: the loader, the agent's own executable (here the test
// binary, which serves), is written from the host's copy, not sent;
// other content, and the same content when the agent's executable is
// something else, is sent, and the file is right either way.
func TestWriteSelf(t *testing.T) {
	h, dir := rootHost(t)
	cc, sc := net.Pipe()
	go Serve(context.Background(), sc, sc, h)
	conn := &counted{Conn: cc}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := NewClient(ctx, h.Name(), conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); sc.Close() })
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	other := append([]byte("not the agent "), self...)
	write := func(p string, data []byte) int64 {
		t.Helper()
		before := conn.n.Load()
		if err := c.WriteFile(ctx, p, data, 0o755); err != nil {
			t.Fatalf("WriteFile %s: %v", p, err)
		}
		got, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: %d bytes, %v; want the %d written", p, len(got), err, len(data))
		}
		if st, err := os.Stat(filepath.Join(dir, p)); err != nil || st.Mode().Perm() != 0o755 {
			t.Fatalf("%s: %v, %v; want mode 0755", p, st.Mode(), err)
		}
		return conn.n.Load() - before
	}
	c.Self(self, hexSum(self))
	if sent := write("/usr/local/bin/fencer", self); sent > 4096 {
		t.Errorf("the agent's own executable: %d bytes sent, want a short request", sent)
	}
	if sent := write("/usr/local/bin/other", other); sent < int64(len(other)) {
		t.Errorf("other content: %d bytes sent, want it all (%d)", sent, len(other))
	}
	// A client told the wrong content for the agent's executable: the
	// agent refuses to write its own, and the content is sent.
	c.Self(other, hexSum(other))
	if sent := write("/usr/local/bin/again", other); sent < int64(len(other)) {
		t.Errorf("content that is not the agent's executable: %d bytes sent, want it all (%d)", sent, len(other))
	}
}

// hexSum is the SHA-256 of b in hex.
func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
