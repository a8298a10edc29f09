package draft

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/fuzzrand"
	"github.com/fencer-dev/fencer/internal/observe"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// randomNames are the syscalls random recordings draw from (those an
// architecture lacks are skipped): every one Write conditions, and some
// it does not.
var randomNames = func() []string {
	var out []string
	for n := range argSpecs {
		out = append(out, n)
	}
	for n := range fdCondSyscalls {
		out = append(out, n)
	}
	out = append(out, "execve", "exit_group", "clone3", "futex", "epoll_wait", "epoll_pwait", "ppoll",
		"getpid", "brk", "munmap", "nanosleep", "ptrace", "mount", "pipe2", "close_range", "unshare",
		"socketpair", "fork", "vfork", "rt_sigreturn", "openat2", "execveat", "seccomp")
	// Sorted, so that a seed draws the same recording every run.
	sortStrings(out)
	return out
}()

func sortStrings(xs []string) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// randomFds draws the fds a program starts with.
func randomFds(r *rand.Rand) []observe.Fd {
	var fds []observe.Fd
	values := map[string][]string{
		"stdin":  {"null", "tty", "socket", "data", "file:/etc/x y", "bogus"},
		"stdout": {"journal", "append:/var/log/a.log", "null", "inherit", "append:relative", "${x}"},
		"stderr": {"journal", "inherit", "kmsg", "truncate:/tmp/e\n"},
	}
	for n, kind := range []string{"stdin", "stdout", "stderr"} {
		switch r.Intn(4) {
		case 0:
			continue
		case 1:
			fds = append(fds, observe.Fd{Number: n, Name: kind, Kind: "number"})
		default:
			vs := values[kind]
			fds = append(fds, observe.Fd{Number: n, Name: kind, Kind: kind, Value: vs[r.Intn(len(vs))]})
		}
	}
	kinds := []string{"listen_stream", "listen_datagram", "listen_sequential_packet", "number", "open_file"}
	addrs := []string{"127.0.0.1:80", "8080", "[::1]:53", "/run/x.sock", "@abstract", "not an address"}
	for k, n := 0, r.Intn(4); k < n; k++ {
		kind := kinds[r.Intn(len(kinds))]
		fds = append(fds, observe.Fd{Number: 3 + k + r.Intn(2)*k, Name: fmt.Sprintf("Sock-%d.socket", k), Kind: kind, Value: addrs[r.Intn(len(addrs))]})
	}
	return fds
}

// randomRecording draws a recording on a: processes and threads made by
// clone, fds made and closed, and arguments drawn from the values a
// program passes (fds it has, named flags, -1) and from anything.
func randomRecording(r *rand.Rand, a *arch.Arch) *observe.Recording {
	rec := &observe.Recording{Arch: a.Name, Fds: randomFds(r), Ended: observe.End(r.Intn(4))}
	if r.Intn(2) == 0 {
		rec.Unit = "svc.service"
	} else {
		rec.Command = []string{"/bin/prog", "a b"}
	}
	pid := 100 + r.Intn(1000)
	tids := []int{pid}
	var now time.Duration
	for k, n := 0, r.Intn(120); k < n; k++ {
		name := randomNames[r.Intn(len(randomNames))]
		nr, ok := a.Syscall(name)
		if !ok {
			continue
		}
		c := observe.Call{PID: pid, TID: tids[r.Intn(len(tids))], Nr: nr, Name: name, Returned: r.Intn(8) != 0, Start: now}
		if k == 0 && r.Intn(2) == 0 {
			c.TID, c.Name, c.Returned = pid, "execve", false
			c.Nr, _ = a.Syscall("execve")
		}
		for i := range c.Args {
			c.Args[i] = randomArg(r, a, rec)
		}
		c.Ret = randomRet(r)
		if r.Intn(20) == 0 {
			c.Dur = 2 * time.Second
		}
		if c.Name == "clone" || c.Name == "clone3" {
			c.CloneFlags = c.Args[0]
			if c.Ret > 0 {
				tids = append(tids, int(c.Ret))
			}
		}
		if r.Intn(10) == 0 {
			c.Text[r.Intn(6)] = randomText(r)
		}
		switch r.Intn(60) {
		case 0:
			c.Foreign = true
		case 1:
			c.Name, c.Nr = "", 100000+r.Intn(5)
		}
		now += time.Millisecond
		rec.Calls = append(rec.Calls, c)
	}
	rec.Elapsed = now
	return rec
}

// randomArg draws an argument: an fd the program may have, -1, a named
// constant or two, or anything.
func randomArg(r *rand.Rand, a *arch.Arch, rec *observe.Recording) uint64 {
	switch r.Intn(6) {
	case 0:
		if len(rec.Fds) > 0 {
			return uint64(rec.Fds[r.Intn(len(rec.Fds))].Number)
		}
		return 0
	case 1:
		return uint64(r.Intn(12))
	case 2:
		return 0xffffffffffffffff
	case 3, 4:
		var v uint64
		for k := 0; k < 1+r.Intn(3); k++ {
			v |= randomConst(r, a)
		}
		return v
	}
	return r.Uint64() >> uint(r.Intn(64))
}

var constPool = []string{"SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_CLOEXEC", "SOCK_NONBLOCK", "AF_INET", "AF_UNIX",
	"AF_INET6", "AF_PACKET", "O_RDONLY", "O_WRONLY", "O_RDWR", "O_CLOEXEC", "O_CREAT", "PROT_READ", "PROT_WRITE",
	"PROT_EXEC", "CLONE_VM", "CLONE_THREAD", "CLONE_FILES", "CLONE_SIGHAND", "SIGCHLD", "F_GETFL", "F_SETFL",
	"F_DUPFD", "F_SETFD", "FD_CLOEXEC", "PR_SET_NAME", "TCGETS", "SIGTERM", "SIGKILL", "EPOLL_CTL_ADD",
	"CLOSE_RANGE_CLOEXEC", "RLIMIT_NOFILE", "GRND_NONBLOCK", "EFD_CLOEXEC", "AT_FDCWD"}

func randomConst(r *rand.Rand, a *arch.Arch) uint64 {
	v, _ := a.Const(constPool[r.Intn(len(constPool))])
	return v
}

func randomRet(r *rand.Rand) int64 {
	switch r.Intn(4) {
	case 0:
		return -int64(1 + r.Intn(133))
	case 1:
		return 0
	}
	return int64(r.Intn(20))
}

func randomText(r *rand.Rand) string {
	texts := []string{"/etc/passwd", "/tmp/a\nb", "${var.x}", "%{if}", "\x00\xff", "# comment", "*/", `"quoted"`, strings.Repeat("x", 300)}
	return texts[r.Intn(len(texts))]
}

// TestRandomRecordings: random recordings on every architecture give
// policies that parse, compile for the recording's architecture with no
// error, pass their own tests and allow every recorded call (Write checks
// that; Check again here from the text alone), the same bytes twice.
func TestRandomRecordings(t *testing.T) {
	n := 140
	if testing.Short() {
		n = 50
	}
	for seed := 0; seed < n; seed++ {
		a := arch.All()[seed%len(arch.All())]
		rec := randomRecording(rand.New(rand.NewSource(int64(seed))), a)
		checkRandom(t, fmt.Sprintf("seed %d on %s", seed, a.Name), rec)
	}
}

// FuzzWrite is TestRandomRecordings for the fuzzer.
func FuzzWrite(f *testing.F) {
	f.Add([]byte("recording"))
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 200, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := rand.New(fuzzrand.New(b))
		a := arch.All()[r.Intn(len(arch.All()))]
		checkRandom(t, a.Name, randomRecording(r, a))
	})
}

func checkRandom(t *testing.T, what string, rec *observe.Recording) {
	t.Helper()
	out, err := Write(rec, Options{Hosts: []string{"web"}})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	again, _ := Write(rec, Options{Hosts: []string{"web"}})
	if string(again) != string(out) {
		t.Fatalf("%s: two writes of one recording differ", what)
	}
	files := map[string][]byte{"draft.fencer.hcl": out, "hosts.fencer.hcl": []byte(fmt.Sprintf("host \"web\" {\n  arch = %q\n}\n", rec.Arch))}
	cfg, diags := hclspec.Parse(files, hclspec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("%s: %s\n%s", what, diags, out)
	}
	if _, diags := resolve.CompileAll(cfg, nil); diags.HasErrors() {
		t.Fatalf("%s: %s\n%s", what, diags, out)
	}
	for _, dg := range diags {
		if dg.Severity == hcl.DiagError {
			t.Fatalf("%s: %s", what, dg)
		}
	}
	lenient := *rec
	lenient.Calls = nil
	for _, c := range rec.Calls {
		if !c.Foreign && c.Nr < 100000 {
			lenient.Calls = append(lenient.Calls, c)
		}
	}
	if err := Check(&lenient, files, serviceName(rec)); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, out)
	}
}

func serviceName(rec *observe.Recording) string {
	name, _, _ := names(rec, Options{})
	return name
}
