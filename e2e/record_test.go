package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/observe"
)

// recordWorld is a user manager running the example server as rec.service,
// activated by rec.socket on the test's port, with a filter of its own
// that forbids ptrace (which the recording must get around).
type recordWorld struct {
	*world
	dropIn string // where fencer record puts its temporary drop-in
}

func newRecordWorld(t *testing.T) *recordWorld {
	t.Helper()
	w := newWorld(t)
	_, err := exec.LookPath("strace")
	need(t, err == nil, "no strace (Debian: apt-get install strace)")
	writeFile(t, filepath.Join(w.unitDir, "rec.socket"), fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\nFileDescriptorName=web\n", w.port))
	writeFile(t, filepath.Join(w.unitDir, "rec.service"), fmt.Sprintf(`[Unit]
Requires=rec.socket
After=rec.socket

[Service]
ExecStart=%s
StandardOutput=append:%s
StandardError=journal
SystemCallFilter=@system-service
`, w.server, w.log))
	for _, args := range [][]string{{"daemon-reload"}, {"start", "rec.socket"}} {
		if out, err := w.um.Systemctl(args...); err != nil {
			t.Fatalf("systemctl %v: %v\n%s", args, err, out)
		}
	}
	return &recordWorld{world: w, dropIn: filepath.Join(w.um.RuntimeDir, "systemd", "user", "rec.service.d", "zzzz-fencer-record.conf")}
}

// tracer is the TracerPid of the unit's main process, -1 when it has none.
func (w *recordWorld) tracer() int {
	pid, _ := strconv.Atoi(w.show("rec.service", "MainPID"))
	if pid == 0 {
		return -1
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	_, v, _ := strings.Cut(string(b), "TracerPid:")
	v, _, _ = strings.Cut(strings.TrimSpace(v), "\n")
	n, _ := strconv.Atoi(v)
	return n
}

// scrape asks the server for its metrics n times.
func (w *recordWorld) scrape(t *testing.T, n int) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	for i := 0; i < n; i++ {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", w.port))
		if err != nil {
			t.Fatalf("scrape %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// putBack checks the unit is as it was: the drop-in gone, systemd reading
// no drop-in of fencer record's, the unit in state, not traced.
func (w *recordWorld) putBack(t *testing.T, state string) {
	t.Helper()
	if _, err := os.Stat(w.dropIn); !os.IsNotExist(err) {
		t.Errorf("the recording's drop-in is still there (%v)", err)
	}
	if p := w.show("rec.service", "DropInPaths"); strings.Contains(p, "fencer-record") {
		t.Errorf("systemd still reads %s", p)
	}
	if got := w.show("rec.service", "ActiveState"); got != state {
		t.Errorf("rec.service is %s after the recording, want %s as before", got, state)
	}
	if state == "active" {
		if tr := w.tracer(); tr != 0 {
			t.Errorf("rec.service's main process is traced by %d after the recording", tr)
		}
	}
}

// TestRecordUnit records a running socket-activated unit for a few
// seconds while it serves requests: the recording has the unit's fds as
// its socket unit and unit file say, the server's accept and its
// requests, and the unit runs again afterwards as before, untraced.
func TestRecordUnit(t *testing.T) {
	w := newRecordWorld(t)
	if out, err := w.um.Systemctl("start", "rec.service"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, js := filepath.Join(w.cfg, "rec.fencer.hcl"), filepath.Join(t.TempDir(), "rec.json")
	cmd := w.command("record", "-unit", "rec", "-user", "-for", "4s", "-o", out, "-json", js)
	done := make(chan result, 1)
	go func() { done <- run(t, cmd) }()
	if !waitFor(20*time.Second, func() bool { return w.tracer() > 0 }) {
		t.Fatalf("rec.service never ran under strace\n%s", w.um.Log())
	}
	w.scrape(t, 5)
	r := <-done
	if r.code != 0 {
		t.Fatalf("%s\n--- user manager\n%s", r, w.um.Log())
	}
	w.putBack(t, "active")
	w.scrape(t, 1)
	var rec observe.Recording
	if err := json.Unmarshal([]byte(readFile(t, js)), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Unit != "rec.service" || rec.Ended != observe.Timeout || rec.Calls[0].Name != "execve" || rec.Calls[0].Text[0] != w.server {
		t.Errorf("recording of %q ended %v, first call %+v: want rec.service's, at the end of -for, from its execve", rec.Unit, rec.Ended, rec.Calls[0])
	}
	wantFds := []observe.Fd{
		{Number: 0, Name: "stdin", Kind: "stdin", Value: "null"},
		{Number: 1, Name: "stdout", Kind: "stdout", Value: "append:" + w.log},
		{Number: 2, Name: "stderr", Kind: "stderr", Value: "journal"},
		{Number: 3, Name: "web", Kind: "listen_stream", Value: fmt.Sprintf("127.0.0.1:%d", w.port)},
	}
	if fmt.Sprint(rec.Fds) != fmt.Sprint(wantFds) {
		t.Errorf("fds %+v, want %+v", rec.Fds, wantFds)
	}
	accepts := 0
	for _, c := range rec.Calls {
		if (c.Name == "accept4" || c.Name == "accept") && c.Args[0] == 3 && c.Ret > 0 {
			accepts++
		}
	}
	if accepts < 5 {
		t.Errorf("%d accepts on fd 3 recorded, want the 5 scrapes'", accepts)
	}
	text := readFile(t, out)
	for _, want := range []string{`service "rec" {`, `unit           = "rec.service"`, fmt.Sprintf(`listen_stream = "127.0.0.1:%d"`, w.port)} {
		if !strings.Contains(text, want) {
			t.Errorf("the configuration has no %s:\n%s", want, text)
		}
	}
}

// TestRecordUnitInterrupted interrupts a recording of a stopped unit:
// fencer stops the unit, writes what it recorded, and leaves the unit
// stopped and without the drop-in.
func TestRecordUnitInterrupted(t *testing.T) {
	w := newRecordWorld(t)
	out := filepath.Join(w.cfg, "rec.fencer.hcl")
	cmd := w.command("record", "-unit", "rec.service", "-user", "-o", out)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(20*time.Second, func() bool { return w.tracer() > 0 }) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("rec.service never ran under strace\n%s\n%s", stderr.String(), w.um.Log())
	}
	if _, err := os.Stat(w.dropIn); err != nil {
		t.Errorf("no drop-in while recording: %v", err)
	}
	w.scrape(t, 2)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("fencer record after SIGINT: %v\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("fencer record did not end after SIGINT\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped when interrupted") {
		t.Errorf("stderr does not say the recording was interrupted:\n%s", stderr.String())
	}
	w.putBack(t, "inactive")
	if !strings.Contains(readFile(t, out), `service "rec" {`) {
		t.Errorf("no configuration written after the interrupt")
	}
}

// TestRecordUnitRefused: a command strace cannot run as written is
// refused before anything changes.
func TestRecordUnitRefused(t *testing.T) {
	w := newRecordWorld(t)
	writeFile(t, filepath.Join(w.unitDir, "rec.service.d", "argv0.conf"), fmt.Sprintf("[Service]\nExecStart=\nExecStart=@%s renamed\n", w.server))
	if out, err := w.um.Systemctl("daemon-reload"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	r := w.run("record", "-unit", "rec", "-user", "-for", "2s")
	if r.code != 1 || !strings.Contains(r.stderr, "argv[0]") {
		t.Errorf("want a refusal naming the @ prefix's argv[0]:\n%s", r)
	}
	if _, err := os.Stat(filepath.Dir(w.dropIn)); !os.IsNotExist(err) {
		t.Errorf("the drop-in directory exists after a refusal (%v)", err)
	}
	w.putBack(t, "inactive")
}
