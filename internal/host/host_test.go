package host

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestContextErrors checks that a call made with a context that is done
// fails with an error that wraps the context's and names the host, as
// Target's documentation says, but Lock, which tries once first; and that
// a command the context kills says so too.
func TestContextErrors(t *testing.T) {
	h, _ := newRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "host r") {
			t.Errorf("%s: %v", what, err)
		}
	}
	_, _, err := h.ReadFile(ctx, "/etc/x")
	check("ReadFile", err)
	_, err = h.ReadDir(ctx, "/etc")
	check("ReadDir", err)
	_, err = h.Links(ctx, "/etc")
	check("Links", err)
	_, err = h.ModTime(ctx, "/etc/x")
	check("ModTime", err)
	check("WriteFile", h.WriteFile(ctx, "/etc/x", nil, 0o644))
	check("Remove", h.Remove(ctx, "/etc/x"))
	_, err = h.Facts(ctx)
	check("Facts", err)
	l, err := Local("r", ScopeSystem)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Facts(ctx)
	check("Facts of this machine", err)
	_, err = l.Status(ctx, 1)
	check("Status", err)
	// Lock tries once before it waits (a lock timeout of 0 does that).
	unlock, err := h.Lock(ctx)
	if err != nil {
		t.Errorf("Lock, free, with a context that is done: %v", err)
	} else if err := unlock(); err != nil {
		t.Error(err)
	}

	// A command the context kills.
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := runCommand(ctx, nil, "sleep", "5"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a command killed for its context: %v", err)
	}
}
