package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/usermanager"
)

// daemon is one of Debian's daemons (redis-server, nginx) installed as a
// unit of a test's user manager, the way a vendor would ship it: its unit
// file in the manager's runtime unit directory, its configuration, data
// and logs in a directory of its own, its port on 127.0.0.1 only.
type daemon struct {
	t    testing.TB
	um   *usermanager.Manager
	kind string // "redis" or "nginx"
	unit string // "redis.service"
	// dir holds everything of this instance: the configuration, data/
	// (the data directory), log/, and outside/, a directory the daemon
	// never writes to in its workload.
	dir  string
	port int
	// logMark is where log starts reading the daemon's log.
	logMark int
}

// daemonKinds are the programs the acceptance tests run, each with the
// binaries it needs.
var daemonKinds = map[string][]string{
	"redis": {"/usr/bin/redis-server", "/usr/bin/redis-benchmark", "/usr/bin/redis-cli"},
	"nginx": {"/usr/sbin/nginx", "/usr/bin/ab", "/usr/bin/curl"},
}

// newDaemon writes the configuration and unit of a daemon of kind under
// um, as unit name, and loads it (not started).
func newDaemon(t testing.TB, um *usermanager.Manager, kind, unit string) *daemon {
	t.Helper()
	for _, b := range daemonKinds[kind] {
		_, err := os.Stat(b)
		need(t, err == nil, "%s is not installed (.ci/run installs redis-server, redis-tools, nginx, apache2-utils)", b)
	}
	// Not t.TempDir: nginx's workers run as nobody and must reach the
	// document root, so the directory is searchable by everyone.
	dir, err := os.MkdirTemp("", "fencer-"+kind)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d := &daemon{t: t, um: um, kind: kind, unit: unit, dir: dir, port: freePort(t)}
	for _, sub := range []string{"log", "outside", "run"} {
		if err := os.Mkdir(d.path(sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The data directory is private to the daemon.
	if err := os.Mkdir(d.path("data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var unitText string
	switch kind {
	case "redis":
		unitText = d.redisFiles()
	case "nginx":
		unitText = d.nginxFiles()
	default:
		t.Fatalf("no daemon %q", kind)
	}
	writeFile(t, filepath.Join(um.RuntimeDir, "systemd", "user", unit), unitText)
	if _, err := um.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	return d
}

// path is a file of the daemon's directory.
func (d *daemon) path(rel ...string) string {
	return filepath.Join(append([]string{d.dir}, rel...)...)
}

// logPath is where the daemon's log goes: redis's stdout, nginx's error
// log.
func (d *daemon) logPath() string {
	if d.kind == "redis" {
		return d.path("log", "redis.log")
	}
	return d.path("log", "error.log")
}

// redisFiles writes redis.conf and returns the unit: Type=notify as
// Debian's redis-server.service, the data directory as the working
// directory (so redis never needs chdir: no `dir` in its configuration),
// no automatic saves (the workload saves, so that what a save does is
// recorded), the log on stdout. Two settings Redis 7 has off by default
// are on, so that the forbidden actions reach the filter instead of being
// refused by Redis: CONFIG SET of protected settings (dir), which Redis 6
// and older always allowed, and MODULE LOAD.
func (d *daemon) redisFiles() string {
	writeFile(d.t, d.path("redis.conf"), fmt.Sprintf(`bind 127.0.0.1
port %d
protected-mode yes
daemonize no
logfile ""
save ""
appendonly no
dbfilename dump.rdb
enable-protected-configs yes
enable-module-command yes
`, d.port))
	return fmt.Sprintf(`[Unit]
Description=Redis of fencer's acceptance test

[Service]
Type=notify
ExecStart=/usr/bin/redis-server %s --supervised systemd --daemonize no
WorkingDirectory=%s
StandardOutput=append:%s
TimeoutStartSec=30
TimeoutStopSec=30
`, d.path("redis.conf"), d.path("data"), d.logPath())
}

// nginxFiles writes nginx.conf and a page to serve and returns the unit:
// Type=forking with a pid file, as Debian's nginx.service runs it, two
// workers as nobody, static files from data/www, and a WebDAV location
// whose root is outside/ (PUT, configured but never used by the
// workload).
func (d *daemon) nginxFiles() string {
	www := d.path("data", "www")
	for _, dir := range []string{www, d.path("data", "tmp")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			d.t.Fatal(err)
		}
	}
	// Readable by the workers (nobody): the data directory itself is 0700
	// for everyone but its owner, so it is made searchable, not listable.
	if err := os.Chmod(d.path("data"), 0o711); err != nil {
		d.t.Fatal(err)
	}
	page := strings.Repeat("fencer acceptance test page\n", 150) // about 4 kB
	writeFile(d.t, filepath.Join(www, "index.html"), page)
	upload := d.path("outside", "upload")
	if err := os.Mkdir(upload, 0o755); err != nil {
		d.t.Fatal(err)
	}
	if err := os.Chown(upload, 65534, 65534); err != nil { // nobody
		d.t.Fatal(err)
	}
	writeFile(d.t, d.path("nginx.conf"), fmt.Sprintf(`worker_processes 2;
pid %[1]s/run/nginx.pid;
error_log %[1]s/log/error.log notice;
events {
  worker_connections 256;
}
http {
  access_log %[1]s/log/access.log;
  client_body_temp_path %[1]s/data/tmp/body;
  proxy_temp_path %[1]s/data/tmp/proxy;
  fastcgi_temp_path %[1]s/data/tmp/fastcgi;
  uwsgi_temp_path %[1]s/data/tmp/uwsgi;
  scgi_temp_path %[1]s/data/tmp/scgi;
  server {
    listen 127.0.0.1:%[2]d;
    root %[1]s/data/www;
    location /upload/ {
      root %[1]s/outside;
      dav_methods PUT;
    }
  }
}
`, d.dir, d.port))
	return fmt.Sprintf(`[Unit]
Description=nginx of fencer's acceptance test

[Service]
Type=forking
PIDFile=%[1]s/run/nginx.pid
ExecStart=/usr/sbin/nginx -c %[1]s/nginx.conf -e %[1]s/log/error.log
KillMode=mixed
TimeoutStartSec=30
TimeoutStopSec=30
`, d.dir)
}

// start starts the unit and fails the test unless it runs.
func (d *daemon) start() {
	d.t.Helper()
	_, _ = d.um.Systemctl("reset-failed", d.unit)
	if out, err := d.um.Systemctl("start", d.unit); err != nil {
		d.t.Fatalf("start %s: %v %s\n%s\n--- %s\n%s", d.unit, err, out, d.state(), d.logPath(), d.logTail())
	}
}

// stop stops the unit and returns its state after.
func (d *daemon) stop() unitState {
	d.t.Helper()
	_, _ = d.um.Systemctl("stop", d.unit)
	return d.state()
}

// log returns the daemon's log since the last mark (see markLog).
func (d *daemon) log() string {
	b, _ := os.ReadFile(d.logPath())
	if d.logMark > len(b) {
		return ""
	}
	return string(b[d.logMark:])
}

// markLog makes log start at the log's end as it is now: what happened
// before (under another policy, or an earlier kill) is left out.
func (d *daemon) markLog() {
	b, _ := os.ReadFile(d.logPath())
	d.logMark = len(b)
}

// logTail is the last lines of the log since the mark, for messages.
func (d *daemon) logTail() string {
	lines := strings.Split(strings.TrimRight(d.log(), "\n"), "\n")
	if len(lines) > 30 {
		lines = append([]string{fmt.Sprintf("(%d lines before)", len(lines)-30)}, lines[len(lines)-30:]...)
	}
	return strings.Join(lines, "\n")
}

// unitState is what systemd says about the unit's last run.
type unitState map[string]string

func (s unitState) String() string {
	var b strings.Builder
	for _, k := range unitProps {
		fmt.Fprintf(&b, "%s=%s ", k, s[k])
	}
	return strings.TrimSpace(b.String())
}

var unitProps = []string{"ActiveState", "SubState", "Result", "MainPID", "ExecMainPID", "ExecMainCode", "ExecMainStatus"}

// killedBySIGSYS reports whether the unit's main process died of SIGSYS
// (a seccomp kill) or dumped core of it.
func (s unitState) killedBySIGSYS() bool {
	return (s["ExecMainCode"] == "2" || s["ExecMainCode"] == "3") && s["ExecMainStatus"] == "31"
}

func (d *daemon) state() unitState {
	d.t.Helper()
	out, _ := d.um.Systemctl("show", "-p", strings.Join(unitProps, ","), d.unit)
	s := unitState{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			s[k] = v
		}
	}
	return s
}

// waitStopped waits (10 s at most) until the unit is no longer active and
// returns its state.
func (d *daemon) waitStopped() unitState {
	d.t.Helper()
	var s unitState
	waitFor(10*time.Second, func() bool {
		s = d.state()
		return s["ActiveState"] == "failed" || s["ActiveState"] == "inactive"
	})
	return s
}

// seccompStatus returns the Seccomp and Seccomp_filters lines of the
// unit's main process.
func (d *daemon) seccompStatus() (mode string, filters int) {
	d.t.Helper()
	pid := d.state()["MainPID"]
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		d.t.Fatalf("%s's main process %s: %v", d.unit, pid, err)
	}
	if m := regexp.MustCompile(`(?m)^Seccomp:\s*(\d+)$`).FindSubmatch(b); m != nil {
		mode = string(m[1])
	}
	if m := regexp.MustCompile(`(?m)^Seccomp_filters:\s*(\d+)$`).FindSubmatch(b); m != nil {
		filters, _ = strconv.Atoi(string(m[1]))
	}
	return mode, filters
}

// workResult is what one run of a daemon's workload did.
type workResult struct {
	// Requests is how many requests the load generator completed, Failed
	// how many of them failed (errors, wrong length, unexpected status).
	Requests, Failed int
	// RPS is the load generator's requests per second over the run.
	RPS float64
	// Took is the run's wall clock time.
	Took time.Duration
	// Detail is a line per part of the workload, for the log.
	Detail []string
}

// workload runs the daemon's realistic workload against it, bounded in
// time (two minutes at most: under strace, on a loaded machine, Redis's
// BGSAVE alone took over 10 s), with n requests of each kind. A failure to
// run the load generator fails the test; failed requests are counted.
func (d *daemon) workload(n int) workResult {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	var r workResult
	switch d.kind {
	case "redis":
		r = d.redisWorkload(ctx, n)
	case "nginx":
		r = d.nginxWorkload(ctx, n)
	}
	r.Took = time.Since(began)
	return r
}

// requests is the workload's size under a filter (of each kind: see
// redisWorkload and nginxWorkload); recordings run 30% of it, since strace
// makes every call several times slower.
func (d *daemon) requests() int {
	if d.kind == "redis" {
		return 1000
	}
	return 2000
}

// command runs a load generator or client and returns its standard
// output; a failure to run it, or a non-zero exit, fails the test.
func (d *daemon) command(ctx context.Context, name string, args ...string) string {
	d.t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if e, ok := err.(*exec.ExitError); ok {
			stderr = e.Stderr
		}
		d.t.Fatalf("%s %s: %v\n%s%s\n--- %s state: %s\n--- log\n%s", name, strings.Join(args, " "), err, out, stderr, d.unit, d.state(), d.logTail())
	}
	return string(out)
}

// redisBenchTests are the commands redis-benchmark sends: strings,
// counters, lists, sets, hashes and a multi-key write.
const redisBenchTests = "set,get,incr,lpush,rpop,sadd,hset,mset"

// redisWorkload: redis-benchmark's commands (n requests each, 10 clients,
// on 100,000 random keys, values of 2 kB), HGETALL of the hash HSET
// filled, then BGSAVE (a forked child
// writes the RDB file) and SAVE (the server writes it), each checked for
// success.
//
// The values' size matters to the policy: Redis syncs the RDB file every
// 4 MB as it writes it (rdb-save-incremental-fsync, with
// sync_file_range), so a recording whose dataset stays under 4 MB (500
// requests of redis-benchmark's 3-byte values) gives a policy that kills
// the first save of a larger one. With 2 kB values, 300 requests of each
// command (MSET's of 10 keys) make about 6 MB.
func (d *daemon) redisWorkload(ctx context.Context, n int) workResult {
	d.t.Helper()
	port := strconv.Itoa(d.port)
	out := d.command(ctx, "redis-benchmark", "-h", "127.0.0.1", "-p", port, "-n", strconv.Itoa(n), "-c", "10",
		"-r", "100000", "-d", "2048", "-t", redisBenchTests, "--csv")
	var r workResult
	var seconds float64
	tests := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if len(f) < 2 || f[0] == `"test"` {
			continue
		}
		rps, err := strconv.ParseFloat(strings.Trim(f[1], `"`), 64)
		if err != nil || rps <= 0 {
			r.Failed += n
			r.Detail = append(r.Detail, "redis-benchmark: "+sc.Text())
			continue
		}
		tests++
		r.Requests += n
		seconds += float64(n) / rps
		r.Detail = append(r.Detail, fmt.Sprintf("redis-benchmark %s: %.0f requests/s", strings.Trim(f[0], `"`), rps))
	}
	if want := len(strings.Split(redisBenchTests, ",")); tests != want {
		r.Failed += (want - tests) * n
		r.Detail = append(r.Detail, fmt.Sprintf("redis-benchmark reported %d tests of %d:\n%s", tests, want, out))
	}
	if seconds > 0 {
		r.RPS = float64(r.Requests) / seconds
	}
	cli := func(args ...string) string {
		return strings.TrimSpace(d.command(ctx, "redis-cli", append([]string{"-h", "127.0.0.1", "-p", port}, args...)...))
	}
	if got := cli("DBSIZE"); got == "0" {
		r.Failed++
		r.Detail = append(r.Detail, "DBSIZE 0 after the benchmark")
	}
	// A reply larger than a client's 16 kB buffer, which Redis writes
	// with writev: the benchmark's replies are small, and whether a
	// recording sees a writev without this depends on timing (one
	// recording in three did not, and its policy killed the next run).
	if got := strings.Count(cli("HGETALL", "myhash"), "\n"); got < 100 {
		r.Failed++
		r.Detail = append(r.Detail, fmt.Sprintf("HGETALL myhash: %d lines, want the hash HSET filled", got))
	}
	// BGSAVE: wait until the child is done and check it succeeded.
	before := cli("LASTSAVE")
	if got := cli("BGSAVE"); got != "Background saving started" {
		r.Failed++
		r.Detail = append(r.Detail, "BGSAVE: "+got)
	}
	var info string
	waitFor(90*time.Second, func() bool {
		info = cli("INFO", "persistence")
		return strings.Contains(info, "rdb_bgsave_in_progress:0") && cli("LASTSAVE") != before
	})
	if !strings.Contains(info, "rdb_last_bgsave_status:ok") || cli("LASTSAVE") == before {
		r.Failed++
		r.Detail = append(r.Detail, "BGSAVE did not complete:\n"+info)
	}
	if got := cli("SAVE"); got != "OK" {
		r.Failed++
		r.Detail = append(r.Detail, "SAVE: "+got)
	}
	if _, err := os.Stat(d.path("data", "dump.rdb")); err != nil {
		r.Failed++
		r.Detail = append(r.Detail, fmt.Sprintf("no RDB file in the data directory: %v", err))
	}
	r.Requests += 5
	r.Detail = append(r.Detail, "DBSIZE, HGETALL, BGSAVE, SAVE: data/dump.rdb written")
	return r
}

// abResult runs ab and reads its summary.
func (d *daemon) ab(ctx context.Context, args ...string) (complete, failed, non2xx int, rps float64) {
	d.t.Helper()
	out := d.command(ctx, "ab", append([]string{"-q", "-s", "10"}, args...)...)
	num := func(label string) float64 {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + `:\s+([0-9.]+)`).FindStringSubmatch(out)
		if m == nil {
			return 0
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	return int(num("Complete requests")), int(num("Failed requests")), int(num("Non-2xx responses")), num("Requests per second")
}

// nginxWorkload: ab fetches the page n times over 10 keep-alive
// connections, n/2 times with a connection per request, and asks n/10
// times for a page that does not exist (404, logged in the error log).
func (d *daemon) nginxWorkload(ctx context.Context, n int) workResult {
	d.t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/", d.port)
	var r workResult
	var seconds float64
	for _, run := range []struct {
		what       string
		n          int
		args       []string
		wantNon2xx bool
	}{
		{"keep-alive", n, []string{"-k", "-c", "10"}, false},
		{"a connection per request", n / 2, []string{"-c", "10"}, false},
		{"404", n / 10, []string{"-c", "5"}, true},
	} {
		path := "index.html"
		if run.wantNon2xx {
			path = "missing.html"
		}
		complete, failed, non2xx, rps := d.ab(ctx, append(append([]string{"-n", strconv.Itoa(run.n)}, run.args...), url+path)...)
		bad := failed + run.n - complete
		if run.wantNon2xx {
			bad += complete - non2xx
		} else {
			bad += non2xx
		}
		r.Requests += complete
		r.Failed += bad
		if rps > 0 {
			seconds += float64(complete) / rps
		}
		r.Detail = append(r.Detail, fmt.Sprintf("ab %s: %d complete, %d failed, %d non-2xx, %.0f requests/s", run.what, complete, failed, non2xx, rps))
	}
	if seconds > 0 {
		r.RPS = float64(r.Requests) / seconds
	}
	return r
}
