package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// version is the content of each managed file (by path) after a complete
// apply of one configuration.
type version map[string]string

// versionOf hashes the managed files as they are.
func (w *world) versionOf() version {
	w.t.Helper()
	v := version{}
	for _, p := range w.managed() {
		b, err := os.ReadFile(p)
		if err != nil {
			w.t.Fatal(err)
		}
		v[p] = sha(b)
	}
	return v
}

// twoVersions sets up configurations old (w) and new that differ in every
// file fencer writes: a changed rule (filter and drop-in), another server
// path (unit file and drop-in) and port (socket unit). It applies new, then
// old, and returns the worlds with their files' versions.
func twoVersions(t *testing.T) (old, new *world, vOld, vNew version) {
	w := newWorld(t)
	n := *w
	// The same configuration, in a directory of the same name: its id.
	n.cfg = filepath.Join(t.TempDir(), filepath.Base(w.cfg))
	for _, name := range []string{"metrics.fencer.hcl", "tests.fencer.hcl", "metrics.service"} {
		writeFile(t, filepath.Join(n.cfg, name), readFile(t, filepath.Join(w.cfg, name)))
	}
	n.edit("metrics.fencer.hcl", "when     = arg0 == 2 || arg0 == fd.logfile\n", "when     = arg0 == 2 || arg0 == fd.logfile || arg0 == 5\n")
	n.server = filepath.Join(t.TempDir(), "metrics-server-b")
	writeFile(t, n.server, readFile(t, w.server))
	if err := os.Chmod(n.server, 0o755); err != nil {
		t.Fatal(err)
	}
	n.port = freePort(t)

	n.mustApply()
	vNew = n.versionOf()
	w.mustApply()
	vOld = w.versionOf()
	for p := range vOld {
		if vOld[p] == vNew[p] {
			t.Fatalf("%s is the same in both versions", p)
		}
	}
	return w, &n, vOld, vNew
}

// check compares the managed files with the two versions: each must be
// one or the other, whole. It returns the paths at the new version.
func (w *world) check(what string, vOld, vNew version) (atNew []string) {
	w.t.Helper()
	for _, p := range w.managed() {
		b, err := os.ReadFile(p)
		if err != nil {
			w.t.Errorf("%s: %v", what, err)
			continue
		}
		switch sha(b) {
		case vOld[p]:
		case vNew[p]:
			atNew = append(atNew, p)
		default:
			w.t.Errorf("%s: %s is neither version (%d bytes)", what, p, len(b))
		}
	}
	return atNew
}

// strays lists the files under fencer's directories that are none of the
// managed files: only WriteFile's temporary files may be, and those
// must be names systemd never reads (hidden, no unit or .conf suffix).
func (w *world) strays(what string) []string {
	w.t.Helper()
	known := map[string]bool{}
	for _, p := range w.managed() {
		known[p] = true
	}
	var out []string
	for p, desc := range snapshot(w.t, w.unitDir, w.filterDir) {
		if known[p] || strings.HasPrefix(desc, "d") {
			continue
		}
		out = append(out, p)
		base := filepath.Base(p)
		if !strings.HasPrefix(base, ".fencer-tmp-") {
			w.t.Errorf("%s: %s is not a file of fencer's", what, p)
		}
		for _, suffix := range []string{".service", ".socket", ".conf", ".target", ".timer", ".bpf"} {
			if strings.HasSuffix(base, suffix) {
				w.t.Errorf("%s: temporary file %s ends in %s", what, p, suffix)
			}
		}
	}
	sort.Strings(out)
	return out
}

// converge applies w's configuration to the end and checks that the
// files are its version, nothing stray is left and a plan finds nothing
// to do.
func (w *world) converge(what string, want version) {
	w.t.Helper()
	w.mustApply()
	if code, r := w.planCode(); code != 0 {
		w.t.Errorf("%s: plan after the next apply: exit %d\n%s", what, code, r)
	}
	if got := w.versionOf(); fmt.Sprint(got) != fmt.Sprint(want) {
		w.t.Errorf("%s: after the next apply the files are not its version", what)
	}
	if s := w.strays(what); len(s) > 0 {
		w.t.Errorf("%s: left after the next apply: %q", what, s)
	}
}

// paused is a fencer started with $FENCER_TEST_PAUSE, and the steps it
// stopped at.
type paused struct {
	cmd   *exec.Cmd
	stops chan string
	done  chan struct{}
	out   syncBuffer
	err   error
}

// startPaused starts fencer ARGS with FENCER_TEST_PAUSE=steps.
func (w *world) startPaused(steps string, args ...string) *paused {
	w.t.Helper()
	p := &paused{cmd: w.command(args...), stops: make(chan string, 100), done: make(chan struct{})}
	p.cmd.Env = append(append([]string(nil), w.um.Env...), "FENCER_TEST_PAUSE="+steps)
	p.cmd.Stdout = &p.out
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			l := sc.Text()
			if _, step, ok := strings.Cut(l, " stopped at "); ok && strings.HasPrefix(l, "fencer: FENCER_TEST_PAUSE: pid ") {
				p.stops <- step
			} else {
				p.out.Write([]byte(l + "\n"))
			}
		}
		io.Copy(io.Discard, stderr)
		p.err = p.cmd.Wait()
		close(p.stops)
		close(p.done)
	}()
	return p
}

// next waits until the process has stopped at its next step and returns
// the step; ok is false when it exited instead.
func (p *paused) next(t *testing.T) (step string, ok bool) {
	t.Helper()
	select {
	case step, ok = <-p.stops:
	case <-time.After(30 * time.Second):
		t.Fatalf("no pause within 30s")
	}
	if !ok {
		return "", false
	}
	// It says where it is, then stops: wait until every thread has
	// stopped, so that a SIGCONT cannot come first or cut the stop short.
	tasks := fmt.Sprintf("/proc/%d/task", p.cmd.Process.Pid)
	if !waitFor(10*time.Second, func() bool {
		ids, err := os.ReadDir(tasks)
		if err != nil {
			return true
		}
		for _, id := range ids {
			b, err := os.ReadFile(filepath.Join(tasks, id.Name(), "stat"))
			if err != nil {
				continue
			}
			f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
			if len(f) == 0 || f[0] != "T" {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("pid %d did not stop at %s", p.cmd.Process.Pid, step)
	}
	return step, true
}

func (p *paused) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the process to end and returns its exit code (-1 when a
// signal ended it).
func (p *paused) wait() int {
	<-p.done
	if p.err == nil {
		return 0
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -2
}

// TestApplyKilledAtEachStep stops apply at each of its steps (lock taken,
// before each write, before reload and verify, before unlock), kills it
// there with SIGKILL, and checks that exactly the files written before
// that step are new, each whole, and that the next apply converges.
func TestApplyKilledAtEachStep(t *testing.T) {
	old, new, vOld, vNew := twoVersions(t)
	from, to, vFrom, vTo := old, new, vOld, vNew
	for k := 0; ; k++ {
		p := to.startPaused("all", append([]string{"apply", "-auto-approve"}, to.vars()...)...)
		var written []string
		var step string
		killed := false
		for i := 0; ; i++ {
			s, ok := p.next(t)
			if !ok {
				break
			}
			if i == k {
				step = s
				p.signal(t, syscall.SIGKILL)
				killed = true
				break
			}
			if path, ok := strings.CutPrefix(s, "write "); ok {
				written = append(written, path)
			}
			p.signal(t, syscall.SIGCONT)
		}
		code := p.wait()
		if !killed {
			if code != 0 {
				t.Fatalf("apply without a kill: exit %d\n%s", code, p.out.String())
			}
			if k < 8 {
				t.Errorf("apply has %d steps, want 8 (locked, 4 writes, reload, verify, done)", k)
			}
			break
		}
		what := fmt.Sprintf("killed at step %d (%s)", k, step)
		atNew := to.check(what, vFrom, vTo)
		sort.Strings(written)
		sort.Strings(atNew)
		if fmt.Sprint(atNew) != fmt.Sprint(written) {
			t.Errorf("%s: new files %q, want those written before it: %q", what, atNew, written)
		}
		if s := to.strays(what); len(s) > 0 {
			t.Errorf("%s: stray files %q", what, s)
		}
		to.converge(what, vTo)
		t.Logf("%s: %d of 4 files new, the next apply converged", what, len(atNew))
		from, to, vFrom, vTo = to, from, vTo, vFrom
	}
}

// TestApplyKilledAnywhere kills apply with SIGKILL after a random delay,
// from 0 to the time a whole apply takes, many times: every file is
// always the old or the new version, whole; only temporary files systemd
// never reads are left; and the next apply converges.
func TestApplyKilledAnywhere(t *testing.T) {
	old, new, vOld, vNew := twoVersions(t)
	// How long an apply that changes every file takes.
	var full time.Duration
	for _, x := range []*world{new, old} {
		began := time.Now()
		x.mustApply()
		full = max(full, time.Since(began))
	}
	iterations := 40
	if testing.Short() {
		iterations = 10
	}
	// Half the kills come anywhere in the apply, half in the few
	// milliseconds after it printed its plan, when it takes the lock and
	// writes: the part of an apply that must not be left half done.
	const writeWindow = 4 * time.Millisecond
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	from, to, vFrom, vTo := old, new, vOld, vNew
	hist := map[int]int{}
	completed, withStrays := 0, 0
	for i := 0; i < iterations; i++ {
		cmd := to.command(append([]string{"apply", "-auto-approve"}, to.vars()...)...)
		out := &watchWriter{want: "\nPlan: ", seen: make(chan struct{})}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var what string
		if i%2 == 0 {
			delay := time.Duration(rng.Int64N(int64(full) + 1))
			time.Sleep(delay)
			what = fmt.Sprintf("iteration %d, killed %s after the start", i, delay.Round(time.Microsecond))
		} else {
			delay := time.Duration(rng.Int64N(int64(writeWindow) + 1))
			select {
			case <-out.seen:
			case <-time.After(30 * time.Second):
				t.Fatalf("apply printed no plan within 30s:\n%s", out.String())
			}
			time.Sleep(delay)
			what = fmt.Sprintf("iteration %d, killed %s after the plan", i, delay.Round(time.Microsecond))
		}
		cmd.Process.Signal(syscall.SIGKILL)
		if err := cmd.Wait(); err == nil {
			completed++
			what += " (apply had ended)"
		}
		atNew := to.check(what, vFrom, vTo)
		hist[len(atNew)]++
		if len(to.strays(what)) > 0 {
			withStrays++
		}
		to.converge(what, vTo)
		from, to, vFrom, vTo = to, from, vTo, vFrom
	}
	t.Logf("%d kills within %s (a whole apply): files left new -> kills: %v; %d applies had ended; %d kills left temporary files, which the next apply removed",
		iterations, full.Round(time.Millisecond), hist, completed, withStrays)
}

// watchWriter collects a command's output and closes seen once it
// contains want.
type watchWriter struct {
	syncBuffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *watchWriter) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	if strings.Contains(w.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

// syncBuffer is a bytes.Buffer safe for a command to write while the
// test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestConcurrentApply: while one apply holds the host's lock, another
// fails at once naming the holder and writes nothing; with -lock-timeout
// it waits before reading the host, and once the first is done plans what
// the first left.
func TestConcurrentApply(t *testing.T) {
	old, new, vOld, vNew := twoVersions(t)
	_ = vOld
	first := new.startPaused("locked", append([]string{"apply", "-auto-approve"}, new.vars()...)...)
	if step, ok := first.next(t); !ok || step != "locked" {
		t.Fatalf("first apply: %q %v\n%s", step, ok, first.out.String())
	}
	pid := first.cmd.Process.Pid
	lock := filepath.Join(new.um.RuntimeDir, "fencer.lock")

	before := snapshot(t, new.um.Home)
	second := new.fencerCmd("apply", "-auto-approve")
	holder := fmt.Sprintf("another fencer holds the lock %s (pid %d, command %s apply -auto-approve", lock, pid, new.fencer)
	if second.code != 1 || !strings.Contains(second.stderr, holder) || !strings.Contains(second.stderr, "-lock-timeout") {
		t.Errorf("second apply: want exit 1 and %q\n%s", holder, second)
	}
	t.Logf("second apply: %s", lineWith(second.stderr, "another fencer"))
	if d := before.diff(snapshot(t, new.um.Home)); len(d) > 0 {
		t.Errorf("the second apply wrote: %q", d)
	}
	// destroy takes the same lock.
	if r := old.fencerCmd("destroy", "-auto-approve"); r.code != 1 || !strings.Contains(r.stderr, holder) {
		t.Errorf("destroy: want exit 1 and %q\n%s", holder, r)
	}

	// A third waits for the lock before it reads the host, then plans what
	// the first left: nothing to change.
	var out syncBuffer
	third := new.command(append([]string{"apply", "-auto-approve", "-lock-timeout=60s"}, new.vars()...)...)
	third.Stdout, third.Stderr = &out, &out
	began := time.Now()
	if err := third.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if strings.Contains(out.String(), "Plan") || strings.Contains(out.String(), "No changes") {
		t.Fatalf("third apply planned while the first held the lock:\n%s", out.String())
	}
	first.signal(t, syscall.SIGCONT)
	if code := first.wait(); code != 0 {
		t.Fatalf("first apply: exit %d\n%s", code, first.out.String())
	}
	err := third.Wait()
	took := time.Since(began)
	if err != nil || !strings.Contains(out.String(), "No changes") {
		t.Errorf("third apply: %v\n%s", err, out.String())
	}
	if took < 500*time.Millisecond {
		t.Errorf("third apply ended after %s, before the first released the lock", took)
	}
	t.Logf("third apply waited %s for the lock, then planned no changes", took.Round(time.Millisecond))
	if got := new.versionOf(); fmt.Sprint(got) != fmt.Sprint(vNew) {
		t.Errorf("after the first apply the files are not its version")
	}
	if code, r := new.planCode(); code != 0 {
		t.Errorf("plan after all: exit %d\n%s", code, r)
	}
}
