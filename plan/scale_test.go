package plan

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/configtest"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/plan/loader"
)

// manyServices is a configuration of n services, each with its unit_file
// and an unconditional and a conditional rule, on the local host.
func manyServices(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `service "s%d" {
  unit           = "s%d.service"
  unit_file      = "[Service]\nExecStart=/usr/bin/s%d\n"
  default_action = kill_process

  rule "io" {
    syscalls = ["read", "write", "close", "exit_group"]
  }

  rule "open" {
    syscalls = ["openat"]
    when     = arg2 == 0
  }
}
`, i, i, i)
	}
	return b.String()
}

// planMany plans cfg on an empty -root tree, as `fencer plan -root=EMPTY`
// does, with the loader set given (nil: this fencer's, as Make reads it).
func planMany(tb testing.TB, src string, set *loader.Set) *Plan {
	tb.Helper()
	cfg := configtest.Parse(tb, src)
	h, err := host.Root("local", tb.TempDir(), "x86_64", "system")
	if err != nil {
		tb.Fatal(err)
	}
	p, diags := Make(context.Background(), cfg, Options{Hosts: map[string]host.Reader{"local": h}, Loader: set})
	if diags.HasErrors() {
		tb.Fatal(diags)
	}
	if f := p.Failed(); len(f) > 0 {
		tb.Fatal(f[0].Error)
	}
	return p
}

// BenchmarkPlanServices plans N services on one host (an empty -root
// tree) with this fencer's loader, and saves the plan: the figures are
// per service (wall and CPU time, bytes allocated, plan file size).
//
//	go test -run '^$' -bench BenchmarkPlanServices -benchtime 3x ./plan
func BenchmarkPlanServices(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			src := manyServices(n)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			cpu0 := cpuTime(b)
			size := 0
			b.ResetTimer()
			for range b.N {
				p := planMany(b, src, nil)
				var buf bytes.Buffer
				if err := WriteJSON(&buf, p); err != nil {
					b.Fatal(err)
				}
				size = buf.Len()
			}
			b.StopTimer()
			cpu := cpuTime(b) - cpu0
			runtime.ReadMemStats(&after)
			per := float64(b.N * n)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per/1e3, "µs/service")
			b.ReportMetric(float64(cpu.Nanoseconds())/per/1e3, "µs-cpu/service")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/per/1e3, "kB-alloc/service")
			b.ReportMetric(float64(size)/float64(n)/1e3, "kB-planfile/service")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countingHost counts the host's answers to FileMode by path.
type countingHost struct {
	host.Reader
	modes map[string]int
}

func (c *countingHost) FileMode(ctx context.Context, p string) (fs.FileMode, error) {
	c.modes[p]++
	return c.Reader.FileMode(ctx, p)
}

// TestLoaderOncePerHost plans many services on two hosts that lack the
// loader, with this fencer as the loader (Options.Loader nil, as the
// command line has it): each host is asked once whether it has the
// loader, this fencer is read once (a copy a service would allocate its
// size again), and the plan, in memory and saved, records the loader by
// its path, size and hash, once per host, not its bytes.
func TestLoaderOncePerHost(t *testing.T) {
	const n = 200
	exe, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Skipf("no /proc/self/exe: %v", err)
	}
	cfg := configtest.Parse(t, "host \"a\" {}\nhost \"b\" {}\n"+manyServices(n))
	hosts := map[string]host.Reader{}
	counts := map[string]*countingHost{}
	for _, name := range []string{"a", "b"} {
		r, err := host.Root(name, t.TempDir(), "x86_64", "system")
		if err != nil {
			t.Fatal(err)
		}
		counts[name] = &countingHost{Reader: r, modes: map[string]int{}}
		hosts[name] = counts[name]
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p, diags := Make(context.Background(), cfg, Options{Hosts: hosts})
	runtime.ReadMemStats(&after)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(2*len(exe)+n<<20) {
		t.Errorf("planning %d services allocated %d MB, and the loader is %d MB: it is read more than once", n, alloc>>20, len(exe)>>20)
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, p); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte(base64.StdEncoding.EncodeToString(exe[4096:4096+3*64]))) {
		t.Error("the plan file holds the loader's bytes")
	}
	if buf.Len() > n*2*20<<10 {
		t.Errorf("the plan file of %d services on 2 hosts is %d kB", n, buf.Len()>>10)
	}
	back, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	for _, hp := range back.Hosts {
		if got := counts[hp.Name].modes["/usr/local/bin/fencer"]; got != 1 {
			t.Errorf("host %s was asked %d times whether it has the loader", hp.Name, got)
		}
		var loaders []*Change
		for _, ch := range hp.Changes {
			if ch.Role == RoleLoader {
				loaders = append(loaders, ch)
			}
		}
		if len(loaders) != 1 {
			t.Fatalf("host %s installs the loader %d times", hp.Name, len(loaders))
		}
		l := loaders[0]
		if l.Content != nil || l.Loader == nil || *l.Loader != (LoaderSource{Path: self, Size: len(exe)}) || l.NewSHA256 != Hash(exe) {
			t.Errorf("host %s: the loader is recorded as %+v, sha256 %s, content %d bytes; want path %s, %d bytes, sha256 %s",
				hp.Name, l.Loader, l.NewSHA256, len(l.Content), self, len(exe), Hash(exe))
		}
	}
}

// TestPlanFileWithLoaderBytes: a plan file of version 5, which carried the
// loader's bytes, is refused for its version; one of this version that
// carries them was edited.
func TestPlanFileWithLoaderBytes(t *testing.T) {
	p := planMany(t, manyServices(1), loader.SetOf(&loader.Binary{Data: []byte("the loader"), Arch: "x86_64", Path: "/opt/fencer"}))
	var buf bytes.Buffer
	if err := WriteJSON(&buf, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"loader": {
            "path": "/opt/fencer",
            "size": 10
          }`) {
		t.Errorf("the plan file does not record the loader's path and size:\n%s", buf.String())
	}
	var raw map[string]any
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, ch := range raw["hosts"].([]any)[0].(map[string]any)["changes"].([]any) {
		if c := ch.(map[string]any); c["role"] == string(RoleLoader) {
			c["content"] = base64.StdEncoding.EncodeToString([]byte("the loader"))
		}
	}
	edited, _ := json.Marshal(raw)
	if _, err := ReadJSON(bytes.NewReader(edited)); err == nil || !strings.Contains(err.Error(), "a plan records the loader by its path, size and SHA-256, without its content") {
		t.Errorf("a plan file with the loader's bytes: %v", err)
	}
	raw["format_version"] = 5
	v5, _ := json.Marshal(raw)
	if _, err := ReadJSON(bytes.NewReader(v5)); err == nil || !strings.Contains(err.Error(), "plan file format version 5 is an older fencer's") {
		t.Errorf("a version 5 plan file: %v", err)
	}
}
