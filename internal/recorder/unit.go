package recorder

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fencer-dev/fencer/internal/observe"
	"github.com/fencer-dev/fencer/internal/unitfile"
)

// Systemd is what recording a unit needs of its manager: systemctl for
// the unit's scope (host.LocalHost is one).
type Systemd interface {
	Systemctl(ctx context.Context, args ...string) ([]byte, error)
}

// UnitOptions say which unit to record and how.
type UnitOptions struct {
	Options
	// Unit is the service's name; Fragments its unit file and drop-ins
	// in the order systemd reads them; Sockets the socket units that pass
	// it fds (plan.UnitFiles reads both).
	Unit      string
	Fragments []unitfile.Fragment
	Sockets   []SocketUnit
	// Systemd runs systemctl for the unit's manager.
	Systemd Systemd
	// DropInDir is the runtime unit directory of the manager, where the
	// temporary drop-in goes (/run/systemd/system, or
	// $XDG_RUNTIME_DIR/systemd/user): on a reboot it is gone whatever
	// happened to fencer.
	DropInDir string
	// FifoDir is where the trace's FIFO is made, a directory the unit's
	// processes can reach (/run, or $XDG_RUNTIME_DIR).
	FifoDir string
}

// DropInName is the temporary drop-in's file name: it sorts after every
// other, fencer's own zz-fencer.conf included.
const DropInName = "zzzz-fencer-record.conf"

// Unit records a service unit as its manager runs it: a temporary
// drop-in in DropInDir wraps each ExecStart= command with strace -D (so
// that the program keeps the main PID: sd_notify, LISTEN_PID and the
// manager's view of the unit are as without strace) and resets
// SystemCallFilter= (which would forbid ptrace), the manager reloads and
// restarts the unit, and the recording runs until the program exits or
// ctx ends (then the unit is stopped as the manager stops it, which
// records the program's shutdown). Whatever happens after the drop-in is
// written, the unit is put back: stopped, the drop-in removed, the
// manager reloaded and the unit started again if it was running before.
func Unit(ctx context.Context, uo UnitOptions) (rec *observe.Recording, err error) {
	if err := uo.Options.defaults(); err != nil {
		return nil, err
	}
	native, err := Native()
	if err != nil {
		return nil, err
	}
	cmds, _, err := unitfile.ExecStart(uo.Fragments)
	if err != nil {
		return nil, fmt.Errorf("unit %s: %w", uo.Unit, err)
	}
	fds, err := UnitFds(uo.Fragments, uo.Sockets)
	if err != nil {
		return nil, fmt.Errorf("unit %s: %w", uo.Unit, err)
	}
	dir, fifo, err := makeFifo(uo.FifoDir)
	if err != nil {
		return nil, fmt.Errorf("unit %s: %w", uo.Unit, err)
	}
	defer os.RemoveAll(dir)
	dropIn, err := uo.dropIn(cmds, fifo)
	if err != nil {
		return nil, err
	}
	wasRunning, err := uo.running(ctx)
	if err != nil {
		return nil, err
	}
	col := newCollector(native, uo.Limits)
	col.rec.Unit, col.rec.Command, col.rec.Fds = uo.Unit, cmds[0].Argv, fds
	t := &trace{col: col, fifo: fifo, opt: uo.Options}
	defer func() {
		if rerr := uo.restore(fifo, wasRunning); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	if err := uo.install(ctx, dropIn); err != nil {
		return nil, err
	}
	return uo.record(ctx, t, len(cmds))
}

// makeFifo makes the trace's FIFO under parent, in a directory of a random
// name that nobody can list, writable by the unit's user whoever it is.
func makeFifo(parent string) (dir, fifo string, err error) {
	dir, err = os.MkdirTemp(parent, "fencer-record-")
	if err != nil {
		return "", "", err
	}
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	fifo = filepath.Join(dir, "trace-"+hex.EncodeToString(r[:]))
	if err = syscall.Mkfifo(fifo, 0o600); err == nil {
		err = os.Chmod(fifo, 0o622)
	}
	if err == nil {
		err = os.Chmod(dir, 0o711)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	return dir, fifo, nil
}

// dropIn is the temporary drop-in's text.
func (uo *UnitOptions) dropIn(cmds []unitfile.Command, fifo string) (string, error) {
	if len(cmds) == 0 {
		return "", fmt.Errorf("unit %s has no ExecStart= to record", uo.Unit)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by fencer record for the time of a recording; fencer removes it.\n[Service]\nExecStart=\n")
	for _, c := range cmds {
		if c.Has("@") {
			return "", fmt.Errorf("%s:%d: ExecStart=%s: strace cannot give the program the argv[0] the @ prefix sets", c.Path, c.Line, c.String())
		}
		w, err := unitfile.Wrap(c, uo.Strace, append([]string{"-D"}, StraceArgs(fifo)...))
		if err != nil {
			return "", fmt.Errorf("%s:%d: %w", c.Path, c.Line, err)
		}
		fmt.Fprintf(&b, "ExecStart=%s\n", w)
	}
	b.WriteString("SystemCallFilter=\n")
	return b.String(), nil
}

// running says whether the unit is running (or starting) now.
func (uo *UnitOptions) running(ctx context.Context) (bool, error) {
	out, err := uo.Systemd.Systemctl(ctx, "show", "--property=ActiveState", "--value", "--", uo.Unit)
	if err != nil {
		return false, fmt.Errorf("unit %s: %w", uo.Unit, err)
	}
	switch strings.TrimSpace(string(out)) {
	case "active", "activating", "reloading":
		return true, nil
	}
	return false, nil
}

func (uo *UnitOptions) dropInPath() string {
	return filepath.Join(uo.DropInDir, uo.Unit+".d", DropInName)
}

// install writes the drop-in and reloads the manager.
func (uo *UnitOptions) install(ctx context.Context, text string) error {
	p := uo.dropInPath()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("unit %s: %w", uo.Unit, err)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return fmt.Errorf("unit %s: %w", uo.Unit, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("unit %s: %w", uo.Unit, err)
	}
	if _, err := uo.Systemd.Systemctl(ctx, "daemon-reload"); err != nil {
		return fmt.Errorf("unit %s: %w", uo.Unit, err)
	}
	return nil
}

// record restarts the unit and reads the trace of each of its n commands
// (a oneshot service may have several, run one after the other) until
// the last ends or ctx does; then the unit is stopped.
func (uo *UnitOptions) record(ctx context.Context, t *trace, n int) (*observe.Recording, error) {
	read := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < n && err == nil; i++ {
			err = t.read()
		}
		read <- err
	}()
	started := make(chan error, 1)
	go func() {
		_, err := uo.Systemd.Systemctl(context.WithoutCancel(ctx), "restart", "--", uo.Unit)
		started <- err
	}()
	var readErr, startErr error
	stopped := false
	select {
	case readErr = <-read:
	case startErr = <-started:
		if startErr != nil {
			unblockFifo(t.fifo)
			readErr = <-read
			break
		}
		select {
		case readErr = <-read:
		case <-ctx.Done():
			stopped = true
		}
	case <-ctx.Done():
		stopped = true
	}
	if stopped {
		readErr = uo.stop(t, read)
	}
	return uo.result(ctx, t, stopped, startErr, readErr)
}

// stop stops the unit as its manager does (its ExecStop=, KillSignal=),
// which ends strace too, and waits for the trace's end.
func (uo *UnitOptions) stop(t *trace, read <-chan error) error {
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, stopErr := uo.Systemd.Systemctl(sctx, "stop", "--", uo.Unit)
	select {
	case err := <-read:
		return errors.Join(err, stopErr)
	case <-time.After(10 * time.Second):
		unblockFifo(t.fifo)
		return errors.Join(<-read, stopErr)
	}
}

// result is the recording, or why there is none.
func (uo *UnitOptions) result(ctx context.Context, t *trace, stopped bool, startErr, readErr error) (*observe.Recording, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec := t.col.finish()
	if stopped {
		rec.Ended = stoppedBy(ctx)
	}
	if !t.col.started {
		err := errors.Join(startErr, readErr)
		return nil, fmt.Errorf("unit %s: nothing recorded (%v): see its journal; the unit's sandboxing may hide %s or strace from it", uo.Unit, err, filepath.Dir(t.fifo))
	}
	if readErr != nil && !errors.Is(readErr, io.EOF) {
		return rec, fmt.Errorf("unit %s: reading strace's output: %w", uo.Unit, readErr)
	}
	if t.col.bad > 0 {
		return rec, fmt.Errorf("unit %s: %d lines or values of strace's output not understood, the first: %s", uo.Unit, t.col.bad, t.col.badExample)
	}
	return rec, nil
}

// restore puts the unit back: stopped, the drop-in gone, the manager
// reloaded, and started again when it ran before. A strace the manager
// started again meanwhile (Restart=) finds a reader on the FIFO and is
// not left waiting for one.
func (uo *UnitOptions) restore(fifo string, wasRunning bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	drain, derr := os.OpenFile(fifo, os.O_RDWR, 0)
	if derr == nil {
		defer drain.Close()
		go func() { _, _ = io.Copy(io.Discard, drain) }()
	}
	var errs []error
	if _, err := uo.Systemd.Systemctl(ctx, "stop", "--", uo.Unit); err != nil {
		errs = append(errs, err)
	}
	if err := os.Remove(uo.dropInPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("unit %s: removing the recording's drop-in: %w", uo.Unit, err))
	}
	_ = os.Remove(filepath.Dir(uo.dropInPath())) // only when empty
	if _, err := uo.Systemd.Systemctl(ctx, "daemon-reload"); err != nil {
		errs = append(errs, err)
	}
	if wasRunning {
		if _, err := uo.Systemd.Systemctl(ctx, "start", "--", uo.Unit); err != nil {
			errs = append(errs, fmt.Errorf("unit %s: starting it again as it was: %w", uo.Unit, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("putting unit %s back as it was: %w", uo.Unit, errors.Join(errs...))
	}
	return nil
}
