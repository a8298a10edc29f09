package metrics_test

// Tests of the example metrics server (server.c): built with build.sh, run
// the way systemd runs it (the listening socket as fd 3, LISTEN_FDS and
// LISTEN_PID, stdout appended to a log file), and scraped over HTTP. Under
// strace, its syscalls after startup must be exactly those the policy in
// metrics.fencer.hcl allows, with the fds and flags it allows.
//
// They need gcc with glibc's static library, and strace for the syscall
// test; without them they are skipped, except under CI=true, where they
// fail.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// missing skips the test, or fails it under CI, where everything must run.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format+" (CI=true: .ci/run must install it)", args...)
	}
	t.Skipf(format, args...)
}

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
	out  []byte
}

// serverBinary builds server.c once per test binary with build.sh.
func serverBinary(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the metrics server is for Linux")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		missing(t, "gcc is not installed")
	}
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "metrics-server-")
		if build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "metrics-server")
		build.out, build.err = exec.Command("./build.sh", build.bin).CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("build.sh: %v\n%s", build.err, build.out)
	}
	return build.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

type server struct {
	t       *testing.T
	addr    string
	logPath string // its stdout: the log file
	errPath string // its stderr
	pidPath string // where the wrapper wrote the server's pid
	trace   string // strace's output, when traced
	cmd     *exec.Cmd
	done    chan error
	stopped bool
}

// The wrapper gives the server its own pid as LISTEN_PID, as systemd does:
// exec keeps the pid.
const wrapper = `echo $$ >"$1" && LISTEN_PID=$$ exec "$0"`

// startServer runs the server with a fresh listening socket on 127.0.0.1
// as fd 3; traced runs it under strace -f.
func startServer(t *testing.T, traced bool) *server {
	t.Helper()
	bin := serverBinary(t)
	dir := t.TempDir()
	s := &server{
		t:       t,
		logPath: filepath.Join(dir, "metrics.log"),
		errPath: filepath.Join(dir, "stderr"),
		pidPath: filepath.Join(dir, "pid"),
		done:    make(chan error, 1),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	sock, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	// systemd's StandardOutput=append:PATH.
	logFile, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	errFile, err := os.Create(s.errPath)
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()

	args := []string{"/bin/sh", "-c", wrapper, bin, s.pidPath}
	if traced {
		s.trace = filepath.Join(dir, "strace")
		args = append([]string{"strace", "-f", "-e", "trace=all", "-o", s.trace}, args...)
	}
	s.cmd = exec.Command(args[0], args[1:]...)
	s.cmd.Env = append(environWithout("LISTEN_"), "LISTEN_FDS=1")
	s.cmd.ExtraFiles = []*os.File{sock} // fd 3
	s.cmd.Stdout = logFile
	s.cmd.Stderr = errFile
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(s.stop)
	return s
}

func environWithout(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}

// pid is the server's pid (under strace, not strace's), or 0 if the
// wrapper has not written it within 5 s.
func (s *server) pid() int {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(s.pidPath)
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return pid
		}
	}
	return 0
}

// stop ends the server with SIGTERM, as systemctl stop does, and waits for
// it (and strace) to exit.
func (s *server) stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	select {
	case <-s.done:
		s.t.Errorf("the server exited before it was stopped; stderr:\n%s", strings.Join(s.errLines(), "\n"))
		return
	default:
	}
	pid := s.cmd.Process.Pid // the wrapper execs the server
	if s.trace != "" {
		pid = s.pid() // strace's child
	}
	if pid > 0 {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		if pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		s.cmd.Process.Kill()
		<-s.done
		s.t.Errorf("the server did not exit on SIGTERM")
	}
}

func (s *server) url(path string) string { return "http://" + s.addr + path }

func (s *server) logLines() []string { return readLines(s.t, s.logPath) }
func (s *server) errLines() []string { return readLines(s.t, s.errPath) }
func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return nil
	}
	if !bytes.HasSuffix(b, []byte("\n")) {
		// A line being written: not there yet.
		b = b[:bytes.LastIndexByte(b, '\n')+1]
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// eventually waits up to 5 s for cond: the server logs a request after it
// has answered it.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var client = &http.Client{Timeout: 5 * time.Second}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp, string(body)
}

// raw sends bytes on a new connection, closes its writing side when hangUp
// says so, and returns everything the server answers.
func raw(t *testing.T, addr, request string, hangUp bool) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	if hangUp {
		if err := c.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
	}
	answer, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reading the answer to %q: %v", request, err)
	}
	return string(answer)
}

var logLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\S+) (\S+) (\d{3}) (\d+)$`)

func TestMetricsAreScraped(t *testing.T) {
	s := startServer(t, false)
	const n = 100
	lastUptime := -1.0
	for i := 1; i <= n; i++ {
		resp, body := get(t, s.url("/metrics"))
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %s, want 200\n%s", i, resp.Status, body)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
			t.Errorf("request %d: Content-Type %q, want Prometheus text format 0.0.4", i, ct)
		}
		if resp.ContentLength != int64(len(body)) {
			t.Errorf("request %d: Content-Length %d, body %d bytes", i, resp.ContentLength, len(body))
		}
		if !resp.Close {
			t.Errorf("request %d: the connection is not announced as closed", i)
		}
		m, err := parsePrometheus(body)
		if err != nil {
			t.Fatalf("request %d: not Prometheus text: %v\n%s", i, err, body)
		}
		want := map[string]float64{
			`metrics_requests_total{path="/metrics"}`: float64(i),
			`metrics_requests_total{path="/violate"}`: 0,
			`metrics_requests_total{path="/exec"}`:    0,
			`metrics_requests_total{path="other"}`:    0,
			`metrics_warnings_total`:                  0,
		}
		for series, v := range want {
			if got, ok := m.values[series]; !ok || got != v {
				t.Errorf("request %d: %s = %v (present: %v), want %v", i, series, got, ok, v)
			}
		}
		if m.types["metrics_requests_total"] != "counter" || m.types["metrics_uptime_seconds"] != "gauge" {
			t.Errorf("request %d: types %v", i, m.types)
		}
		up, ok := m.values["metrics_uptime_seconds"]
		if !ok || up < lastUptime || up > 600 {
			t.Errorf("request %d: metrics_uptime_seconds = %v (present: %v), previous %v", i, up, ok, lastUptime)
		}
		lastUptime = up
	}

	eventually(t, fmt.Sprintf("the log has %d lines", n), func() bool { return len(s.logLines()) >= n })
	lines := s.logLines()
	if len(lines) != n {
		t.Errorf("the log has %d lines, want %d:\n%s", len(lines), n, strings.Join(lines, "\n"))
	}
	for i, line := range lines {
		f := logLine.FindStringSubmatch(line)
		if f == nil || f[1] != "GET" || f[2] != "/metrics" || f[3] != "200" || f[4] == "0" {
			t.Errorf("log line %d: %q, want TIME GET /metrics 200 BYTES", i+1, line)
		}
	}
	if warnings := s.errLines(); len(warnings) != 0 {
		t.Errorf("warnings for good requests:\n%s", strings.Join(warnings, "\n"))
	}
}

func TestBadRequestsAreAnsweredAndWarned(t *testing.T) {
	s := startServer(t, false)

	resp, body := get(t, s.url("/secrets?x=1"))
	if resp.StatusCode != 404 {
		t.Errorf("GET /secrets: %s, want 404\n%s", resp.Status, body)
	}
	eventually(t, "a warning names /secrets", func() bool {
		return slices.ContainsFunc(s.errLines(), func(l string) bool { return strings.Contains(l, `"/secrets?x=1"`) })
	})

	resp, body = get(t, s.url("/metricsfoo"))
	if resp.StatusCode != 404 {
		t.Errorf("GET /metricsfoo: %s, want 404\n%s", resp.Status, body)
	}

	resp, err := client.Post(s.url("/metrics"), "text/plain", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET" {
		t.Errorf("POST /metrics: %s, Allow %q; want 405, GET", resp.Status, resp.Header.Get("Allow"))
	}

	// Control characters reach neither log raw.
	if answer := raw(t, s.addr, "GET /\x1b[31mred HTTP/1.1\r\n\r\n", true); !strings.HasPrefix(answer, "HTTP/1.1 400 ") {
		t.Errorf("a target with an escape character: %q, want 400", answer)
	}
	if answer := raw(t, s.addr, "hello\r\n\r\n", true); !strings.HasPrefix(answer, "HTTP/1.1 400 ") {
		t.Errorf("not HTTP: %q, want 400", answer)
	}

	eventually(t, "five requests are logged", func() bool { return len(s.logLines()) >= 5 })
	wantLog := [][2]string{{"GET /secrets?x=1", "404"}, {"GET /metricsfoo", "404"}, {"POST /metrics", "405"}, {"- -", "400"}, {"- -", "400"}}
	lines := s.logLines()
	if len(lines) != len(wantLog) {
		t.Fatalf("log:\n%s\nwant %d lines", strings.Join(lines, "\n"), len(wantLog))
	}
	for i, line := range lines {
		f := logLine.FindStringSubmatch(line)
		if f == nil || f[1]+" "+f[2] != wantLog[i][0] || f[3] != wantLog[i][1] {
			t.Errorf("log line %d: %q, want %s %s", i+1, line, wantLog[i][0], wantLog[i][1])
		}
	}

	eventually(t, "five warnings", func() bool { return len(s.errLines()) >= 5 })
	warnings := s.errLines()
	if len(warnings) != 5 {
		t.Errorf("warnings:\n%s\nwant 5", strings.Join(warnings, "\n"))
	}
	for _, w := range warnings {
		if !strings.HasPrefix(w, "metrics: warning: ") || strings.ContainsFunc(w, func(r rune) bool { return r < 0x20 || r >= 0x7f }) {
			t.Errorf("warning %q: want one printable line starting with \"metrics: warning: \"", w)
		}
	}

	_, body = get(t, s.url("/metrics"))
	m, err := parsePrometheus(body)
	if err != nil {
		t.Fatal(err)
	}
	if m.values[`metrics_requests_total{path="other"}`] != 5 || m.values["metrics_warnings_total"] != 5 {
		t.Errorf("after five bad requests:\n%s", body)
	}
}

// One client that sends nothing holds the others up for a second at most,
// and is told so.
func TestASlowClientDoesNotStopTheServer(t *testing.T) {
	s := startServer(t, false)
	slow := make(chan string, 1)
	go func() {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			slow <- err.Error()
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		slow <- string(b)
	}()
	time.Sleep(100 * time.Millisecond) // the slow client is accepted first
	start := time.Now()
	resp, _ := get(t, s.url("/metrics"))
	if resp.StatusCode != 200 {
		t.Errorf("GET /metrics behind a slow client: %s", resp.Status)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("GET /metrics behind a slow client took %v", d)
	}
	if answer := <-slow; !strings.HasPrefix(answer, "HTTP/1.1 408 ") {
		t.Errorf("the slow client got %q, want a 408", answer)
	}
}

// Without seccomp the forbidden write just works and the client gets its
// text; under fencer's policy the same call kills the server.
func TestViolateWritesToTheClientSocket(t *testing.T) {
	s := startServer(t, false)
	resp, body := get(t, s.url("/violate"))
	if resp.StatusCode != 200 || !strings.Contains(body, "written with write(2) on the client socket") {
		t.Errorf("GET /violate: %s\n%s", resp.Status, body)
	}
	eventually(t, "the request is logged", func() bool { return len(s.logLines()) == 1 })
	if line := s.logLines()[0]; !strings.Contains(line, " GET /violate 200 ") {
		t.Errorf("log: %q", line)
	}
	resp, _ = get(t, s.url("/metrics"))
	if resp.StatusCode != 200 {
		t.Errorf("GET /metrics after /violate: %s", resp.Status)
	}
}

// Without seccomp, GET /exec replaces the server with the exec probe, which
// logs that it ran, in the same process, and exits 0; the client's
// connection closes unanswered. (Under fencer's policy the execve fails
// instead: e2e's TestServesUnderPolicy.)
func TestExecRunsTheProbeWithoutAFilter(t *testing.T) {
	s := startServer(t, false)
	pid := s.pid()
	if answer := raw(t, s.addr, "GET /exec HTTP/1.1\r\n\r\n", false); answer != "" {
		t.Errorf("GET /exec was answered: %q", answer)
	}
	select {
	case err := <-s.done:
		s.stopped = true
		if err != nil {
			t.Errorf("the exec probe exited with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not exec the probe")
	}
	want := fmt.Sprintf("metrics: exec probe ran as pid %d", pid)
	if lines := s.logLines(); len(lines) != 1 || lines[0] != want {
		t.Errorf("log %q, want the probe's line %q", lines, want)
	}
}

// Started outside socket activation, the server says why and exits 1.
func TestServerRefusesToStartWithoutItsSocket(t *testing.T) {
	bin := serverBinary(t)
	sock, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	f, err := sock.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		name string
		env  []string
		pid  bool // LISTEN_PID = the server's pid
		want string
	}{
		{"no LISTEN_FDS", nil, false, "LISTEN_FDS is not set: start me through a systemd socket unit"},
		{"no LISTEN_PID", []string{"LISTEN_FDS=1"}, false, "LISTEN_PID is not set: start me through a systemd socket unit"},
		{"another process's sockets", []string{"LISTEN_FDS=1", "LISTEN_PID=1"}, false, `LISTEN_PID is not this process: the sockets were passed to another one: "1"`},
		{"two sockets", []string{"LISTEN_FDS=2"}, true, `LISTEN_FDS must be 1: I serve exactly one listening socket: "2"`},
		{"garbage", []string{"LISTEN_FDS=1x"}, true, `LISTEN_FDS must be 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cmd *exec.Cmd
			if tc.pid {
				cmd = exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0"`, bin)
			} else {
				cmd = exec.Command(bin)
			}
			cmd.Env = append(environWithout("LISTEN_"), tc.env...)
			cmd.ExtraFiles = []*os.File{f}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Errorf("exit: %v, want status 1", err)
			}
			if got := stderr.String(); !strings.HasPrefix(got, "metrics: "+tc.want) || !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
				t.Errorf("stderr %q, want one line starting with %q", got, "metrics: "+tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout (the log): %q", stdout.String())
			}
		})
	}
}

// --- the syscalls --------------------------------------------------------

// startupSyscalls are the syscalls the server makes between execve and its
// first poll, measured on each architecture (server.c's header comment),
// for metrics.fencer.hcl's startup rules. Architectures without a list here
// have not been measured: the test logs what it sees there.
var startupSyscalls = map[string][]string{
	"amd64": {"execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
		"prlimit64", "readlink", "getrandom", "mprotect", "getpid"},
}

var straceLine = regexp.MustCompile(`^(\d+) +(\w+)\((.*)\) += (-?\d+|\?|0x[0-9a-f]+)`)

type call struct {
	name string
	args string
	ret  int
	line string
}

// TestSteadyStateSyscalls runs the server under strace and checks every
// syscall it makes while serving against metrics.fencer.hcl: only poll,
// accept4 on fd 3 with NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK, read, sendto
// and close on accepted client sockets only, write on fds 1 and 2 only,
// fsync on fd 1 only, and, for /violate, exactly one write on a client.
func TestSteadyStateSyscalls(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		missing(t, "strace is not installed")
	}
	s := startServer(t, true)
	for range 5 {
		if resp, _ := get(t, s.url("/metrics")); resp.StatusCode != 200 {
			t.Fatalf("GET /metrics: %s", resp.Status)
		}
	}
	get(t, s.url("/nope"))                             // 404 and a warning
	raw(t, s.addr, "nonsense\r\n\r\n", true)           // 400 and a warning
	raw(t, s.addr, "", true)                           // no request: a warning
	raw(t, s.addr, "GET /metrics HTTP/1.1\r\n", false) // 408 after a second
	get(t, s.url("/violate"))                          // the one forbidden call
	// After /violate's close; read to the end, so that the server has
	// closed the client (it logs before it closes) when it is stopped.
	if a := raw(t, s.addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", false); !strings.HasPrefix(a, "HTTP/1.1 200 ") {
		t.Fatalf("GET /metrics: %q", a)
	}
	eventually(t, "the log has 10 lines", func() bool { return len(s.logLines()) == 10 })
	s.stop()

	trace, err := os.ReadFile(s.trace)
	if err != nil {
		t.Fatal(err)
	}
	startup, steady := splitTrace(t, string(trace), serverBinary(t))

	var names []string
	for _, c := range startup {
		if !slices.Contains(names, c.name) {
			names = append(names, c.name)
		}
	}
	t.Logf("startup syscalls on %s: %s", runtime.GOARCH, strings.Join(names, " "))
	if want, ok := startupSyscalls[runtime.GOARCH]; ok {
		for _, c := range startup {
			if !slices.Contains(want, c.name) {
				t.Errorf("startup makes %s, which is not in the startup list %v: %s", c.name, want, c.line)
			}
		}
	}

	wait := "poll"
	if runtime.GOARCH == "arm64" || runtime.GOARCH == "riscv64" {
		wait = "ppoll"
	}
	pollFD := regexp.MustCompile(`\{fd=(-?\d+), `)
	clients := map[int]bool{} // accepted and not closed yet
	requests := map[int]string{}
	seen := map[string]int{}
	clientWrites := 0
	lastWrite := -1
	for _, c := range steady {
		seen[c.name]++
		fd, _ := strconv.Atoi(strings.SplitN(c.args, ",", 2)[0])
		client := clients[fd] && fd != 1 && fd != 2 && fd != 3
		switch c.name {
		case wait:
			for _, m := range pollFD.FindAllStringSubmatch(c.args, -1) {
				if n, _ := strconv.Atoi(m[1]); n != 3 && !clients[n] {
					t.Errorf("%s on fd %d, neither the socket nor a client: %s", wait, n, c.line)
				}
			}
		case "accept4":
			if c.args != "3, NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK" {
				t.Errorf("accept4 with other arguments than the policy allows: %s", c.line)
			}
			if c.ret >= 0 {
				clients[c.ret] = true
			}
		case "read", "sendto":
			if !client {
				t.Errorf("%s on fd %d, which is not a client: %s", c.name, fd, c.line)
			}
			if c.name == "read" {
				requests[fd] += c.args
			}
		case "close":
			if !client {
				t.Errorf("close of fd %d, which is not a client: %s", fd, c.line)
			}
			delete(clients, fd)
			delete(requests, fd)
		case "write":
			switch {
			case fd == 1 || fd == 2:
				lastWrite = fd
			case client && strings.Contains(requests[fd], `"GET /violate `):
				clientWrites++
			default:
				t.Errorf("write on fd %d: %s", fd, c.line)
			}
		case "fsync":
			if fd != 1 {
				t.Errorf("fsync of fd %d, not the log file: %s", fd, c.line)
			}
			if lastWrite != 2 {
				t.Errorf("fsync without a warning before it: %s", c.line)
			}
			lastWrite = -1
		default:
			t.Errorf("%s while serving, which the policy does not allow: %s", c.name, c.line)
		}
	}
	if len(clients) != 0 {
		t.Errorf("clients never closed: %v", clients)
	}
	if clientWrites != 1 {
		t.Errorf("%d writes on client sockets, want exactly 1 (for /violate)", clientWrites)
	}
	for _, name := range []string{wait, "accept4", "read", "sendto", "close", "write", "fsync"} {
		if seen[name] == 0 {
			t.Errorf("no %s while serving: the requests did not exercise the whole policy", name)
		}
	}
	t.Logf("steady-state syscalls (count): %v", seen)
	if t.Failed() {
		t.Logf("strace:\n%s", trace)
	}
}

// splitTrace returns the server's syscalls from its execve to its first
// poll, and from there on.
func splitTrace(t *testing.T, trace, bin string) (startup, steady []call) {
	t.Helper()
	started := false
	sc := bufio.NewScanner(strings.NewReader(trace))
	for sc.Scan() {
		line := sc.Text()
		m := straceLine.FindStringSubmatch(line)
		if m == nil {
			// Signals, the exit, and unfinished/resumed pairs, which only
			// the shell before the exec could cause.
			if started && strings.Contains(line, "unfinished") {
				t.Errorf("interleaved strace output: %s", line)
			}
			continue
		}
		if !started {
			started = m[2] == "execve" && strings.HasPrefix(m[3], strconv.Quote(bin)+",") && m[4] == "0"
			if !started {
				continue
			}
		}
		ret, _ := strconv.Atoi(m[4])
		if m[4] == "?" {
			ret = -1
		}
		c := call{name: m[2], args: m[3], ret: ret, line: line}
		if steady == nil && c.name != "poll" && c.name != "ppoll" {
			startup = append(startup, c)
		} else {
			steady = append(steady, c)
		}
	}
	if !started {
		t.Fatalf("no execve of %s in the trace:\n%s", bin, trace)
	}
	return startup, steady
}

// --- a Prometheus text format (0.0.4) parser, strict enough for a test ---

type exposition struct {
	types  map[string]string  // metric name -> counter, gauge, ...
	values map[string]float64 // name{labels} as written -> value
}

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)( -?\d+)?$`)
	labelPair  = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"$`)
)

func parsePrometheus(text string) (*exposition, error) {
	e := &exposition{types: map[string]string{}, values: map[string]float64{}}
	if !strings.HasSuffix(text, "\n") {
		return nil, errors.New("the text does not end with a newline")
	}
	help := map[string]bool{}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		n := i + 1
		if line == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			f := strings.SplitN(rest, " ", 3)
			if len(f) < 3 || (f[0] != "HELP" && f[0] != "TYPE") {
				continue // a comment
			}
			if !metricName.MatchString(f[1]) {
				return nil, fmt.Errorf("line %d: bad metric name %q", n, f[1])
			}
			if f[0] == "HELP" {
				if help[f[1]] {
					return nil, fmt.Errorf("line %d: second HELP for %s", n, f[1])
				}
				help[f[1]] = true
				continue
			}
			if !slices.Contains([]string{"counter", "gauge", "histogram", "summary", "untyped"}, f[2]) {
				return nil, fmt.Errorf("line %d: bad type %q", n, f[2])
			}
			if _, dup := e.types[f[1]]; dup {
				return nil, fmt.Errorf("line %d: second TYPE for %s", n, f[1])
			}
			for series := range e.values {
				if series == f[1] || strings.HasPrefix(series, f[1]+"{") {
					return nil, fmt.Errorf("line %d: TYPE for %s after its samples", n, f[1])
				}
			}
			e.types[f[1]] = f[2]
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("line %d: not a sample: %q", n, line)
		}
		if labels := m[2]; labels != "" {
			for _, pair := range strings.Split(strings.Trim(labels, "{}"), ",") {
				if !labelPair.MatchString(pair) {
					return nil, fmt.Errorf("line %d: bad label %q", n, pair)
				}
			}
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: bad value %q", n, m[3])
		}
		if _, typed := e.types[m[1]]; !typed {
			return nil, fmt.Errorf("line %d: sample of %s without a TYPE", n, m[1])
		}
		if e.types[m[1]] == "counter" && (v < 0 || !strings.HasSuffix(m[1], "_total")) {
			return nil, fmt.Errorf("line %d: counter %s = %v", n, m[1], v)
		}
		series := m[1] + m[2]
		if _, dup := e.values[series]; dup {
			return nil, fmt.Errorf("line %d: %s twice", n, series)
		}
		e.values[series] = v
	}
	return e, nil
}
