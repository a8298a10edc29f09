// Package agent carries host.Target over a byte stream: the server (Serve)
// runs on a host, in `fencer agent`, and does each call with that host's
// own transport (host.LocalHost); the client (Client) is a host.Target
// whose every call is a message to the server. Over SSH, the stream is the
// session's standard input and output (internal/sshhost).
//
// The protocol: each message is a frame, a 4-byte big-endian length and
// that many bytes of JSON, at most MaxFrame. The server speaks first, with
// Magic (the client skips what a login shell may print before it) and a
// hello naming its protocol version (Protocol); then the client sends
// requests (an id, a method, its arguments and how long the caller waits)
// and the server answers each with a reply of the same id (a result, an
// error, or both: systemctl's output comes with its failure). Calls run
// concurrently; the client sends "cancel" for a call whose caller gave up,
// and the server cancels that call's context. A host's lock lives in the
// server, under an id the client releases with "unlock"; when the stream
// ends the server releases every lock it holds, and the agent process
// exits, so the kernel releases its flock even when the server could not.
package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/procseccomp"
)

// Protocol is the version of the protocol this package speaks. A client
// refuses a server of another version, naming both.
const Protocol = 2

// MaxFrame is the largest message either side sends or accepts: a file of
// host.MaxHostFileBytes, which JSON carries in base64 (4 bytes for 3),
// plus room for the rest of the message.
const MaxFrame = host.MaxHostFileBytes/3*4 + 1<<20

// MaxHead is the largest Head a client may ask for.
const MaxHead = 1 << 20

// Magic is what the server writes before its hello: the client skips
// whatever comes before it (a login shell's startup file that prints
// something), up to maxPreamble bytes.
const Magic = "\x00fencer-agent\x00"

// maxPreamble bounds what the client skips before Magic.
const maxPreamble = 64 << 10

// hello is the server's first message, after Magic.
type hello struct {
	// Agent is always "fencer", so that a client talking to something
	// else (a shell's motd on stdout, say) says so.
	Agent    string `json:"agent"`
	Protocol int    `json:"protocol"`
	// Pid is the agent process's, for messages and tests.
	Pid int `json:"pid"`
}

// request is a call from the client.
type request struct {
	ID     uint64 `json:"id"`
	Method string `json:"method"`
	Args   args   `json:"args"`
	// Timeout is how long the caller waits, in nanoseconds, 0 for no
	// limit: the server's context for the call ends then. A duration, not
	// an instant, so that the two machines' clocks do not matter.
	Timeout int64 `json:"timeout,omitempty"`
}

// args are every method's arguments; each uses some.
type args struct {
	Path string      `json:"path,omitempty"`
	PID  int         `json:"pid,omitempty"`
	N    int         `json:"n,omitempty"`
	Args []string    `json:"args,omitempty"`
	Data []byte      `json:"data,omitempty"`
	Mode fs.FileMode `json:"mode,omitempty"`
	// SHA256 is the content write-self must write: the agent's own
	// executable's, in hex.
	SHA256 string `json:"sha256,omitempty"`
	// Lock is the id of a lock (unlock); ID the call to cancel.
	Lock uint64 `json:"lock,omitempty"`
	ID   uint64 `json:"call,omitempty"`
}

// reply answers the request of the same id.
type reply struct {
	ID     uint64     `json:"id"`
	Result result     `json:"result"`
	Err    *wireError `json:"error,omitempty"`
}

// result is every method's result; each sets some.
type result struct {
	Data    []byte              `json:"data,omitempty"`
	Mode    fs.FileMode         `json:"mode,omitempty"`
	Names   []string            `json:"names,omitempty"`
	Links   map[string]string   `json:"links,omitempty"`
	Time    time.Time           `json:"time"`
	Text    string              `json:"text,omitempty"`
	Lock    uint64              `json:"lock,omitempty"`
	Facts   *host.Facts         `json:"facts,omitempty"`
	Status  *procseccomp.Status `json:"status,omitempty"`
	Filters []bpf.Program       `json:"filters,omitempty"`
}

// wireError is an error as it crosses: its message, and the names of the
// sentinel errors (kinds) it satisfies, so errors.Is keeps its meaning.
type wireError struct {
	Msg   string   `json:"msg"`
	Kinds []string `json:"kinds,omitempty"`
}

// kinds are the errors callers of a host.Target test for with errors.Is
// (host's error contract, and what apply, plan and verify check), by
// their name on the wire.
var kinds = []struct {
	name string
	err  error
}{
	{"not-exist", fs.ErrNotExist},
	{"exist", fs.ErrExist},
	{"permission", fs.ErrPermission},
	{"not-live", host.ErrNotLive},
	{"symlink", host.ErrSymlink},
	{"unreachable", host.ErrUnreachable},
	{"deadline", context.DeadlineExceeded},
	{"canceled", context.Canceled},
	{"not-permitted", procseccomp.ErrNotPermitted},
	{"esrch", syscall.ESRCH},
	{"enoexec", syscall.ENOEXEC},
	{"eloop", syscall.ELOOP},
	{"protocol", ErrProtocol},
}

// maxErrorMsg bounds the message of an error sent, well under what the
// client accepts (maxErrorReply).
const maxErrorMsg = 256 << 10

// toWire encodes err for the reply; nil for nil.
func toWire(err error) *wireError {
	if err == nil {
		return nil
	}
	w := &wireError{Msg: err.Error()}
	if len(w.Msg) > maxErrorMsg {
		w.Msg = w.Msg[:maxErrorMsg] + " [cut: the message was longer]"
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			w.Kinds = append(w.Kinds, k.name)
		}
	}
	return w
}

// remoteError is an error the server returned: its message, satisfying
// errors.Is for the sentinels the original did.
type remoteError struct {
	msg  string
	errs []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.errs }

// Printable is s with its control characters but newlines and tabs
// written as escapes (\x1b): what a host says ends up on the terminal of
// whoever runs fencer, and a compromised host must not drive that
// terminal (move the cursor over what fencer said, set the clipboard).
func Printable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, "\\x%02x", s[0]) // not UTF-8: 0x9b is CSI to some terminals
		case !isControl(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
		s = s[n:]
	}
	return b.String()
}

// isControl reports whether r is a control character other than a
// newline or a tab (C0, DEL, C1, and the bidirectional overrides).
func isControl(r rune) bool {
	return r < 0x20 && r != '\n' && r != '\t' || r >= 0x7f && r < 0xa0 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// fromWire decodes a reply's error; nil for nil. Its message is the
// host's, made Printable.
func fromWire(w *wireError) error {
	if w == nil {
		return nil
	}
	e := &remoteError{msg: Printable(w.Msg)}
	for _, name := range w.Kinds {
		for _, k := range kinds {
			if k.name == name {
				e.errs = append(e.errs, k.err)
			}
		}
	}
	return e
}

// ErrProtocol is wrapped by the errors for a message that breaks the
// protocol: over MaxFrame, or not the JSON it should be.
var ErrProtocol = errors.New("agent protocol error")

// skipToMagic reads r up to and including Magic; what came before it is
// returned for messages. It fails after maxPreamble bytes without it.
func skipToMagic(r io.Reader) ([]byte, error) {
	var seen []byte
	b := make([]byte, 1)
	for len(seen) < maxPreamble+len(Magic) {
		if _, err := io.ReadFull(r, b); err != nil {
			return seen, err
		}
		seen = append(seen, b[0])
		if bytes.HasSuffix(seen, []byte(Magic)) {
			return seen[:len(seen)-len(Magic)], nil
		}
	}
	return seen, fmt.Errorf("%w: no fencer agent greeting in the first %d bytes", ErrProtocol, maxPreamble)
}

// readFrame reads one frame of at most max bytes. Memory grows with the
// bytes that arrive, not with the length a frame claims.
func readFrame(r io.Reader, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int64(binary.BigEndian.Uint32(hdr[:]))
	if n > int64(max) {
		return nil, fmt.Errorf("%w: a message of %d bytes, over the limit of %d", ErrProtocol, n, max)
	}
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, r, n); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodeFrame encodes v as a frame of at most MaxFrame bytes.
func encodeFrame(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFrame {
		return nil, fmt.Errorf("%w: a message of %d bytes, over the limit of %d", ErrProtocol, len(b), MaxFrame)
	}
	out := make([]byte, 4, 4+len(b))
	binary.BigEndian.PutUint32(out, uint32(len(b)))
	return append(out, b...), nil
}

// decode reads a frame's JSON into v.
func decode(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	return nil
}
