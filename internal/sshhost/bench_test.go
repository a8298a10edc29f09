package sshhost

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/fleettest"
)

// benchHosts and benchParallelism are the fleet BenchmarkFleet compares
// with one host (issue 9: 20 hosts at -parallelism 10, goal: at most 3
// times one host's wall time).
const (
	benchHosts       = 20
	benchParallelism = 10
)

// cost is one fencer command's cost, from its rusage.
type cost struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	maxRSS int64         // kB
	// hosts is the CPU time the simulated hosts used while it ran (sshd,
	// the agent, systemctl, systemd-analyze, the user managers): on this
	// machine's CPUs too.
	hosts time.Duration
}

// BenchmarkFleet runs the real fencer binary over SSH against simulated
// hosts (internal/fleettest: a real sshd and systemd user manager each),
// with examples/fleet's metrics policy, on one host and on 20 at
// -parallelism 10, and reports for plan, apply and a plan that finds no
// changes: the wall time of 20 hosts over one host's (ratio), fencer's
// CPU time per host (user + system, from its rusage), its peak resident
// memory with 20 hosts and what each host adds to it. Setting up (the
// hosts, the first plan, which copies fencer to each host's cache) is
// not timed; the first plan's figures are logged. Each iteration plans,
// applies, plans again and destroys. Run it, as root, with
//
//	go test -run '^$' -bench BenchmarkFleet -benchtime 1x ./internal/sshhost
func BenchmarkFleet(b *testing.B) {
	f := fleettest.Start(b, fleettest.Options{Hosts: benchHosts + 1, Become: []int{}})
	testLoaders(b)
	repo, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	// Host h21 alone, and h1 to h20.
	one, many := filepath.Join(b.TempDir(), "one"), filepath.Join(b.TempDir(), "many")
	for dir, hosts := range map[string][]*fleettest.Host{one: f.Hosts[benchHosts:], many: f.Hosts[:benchHosts]} {
		if err := f.WriteMetricsConfig(dir, repo, fleettest.HCLOptions{Hosts: hosts, NoBecome: true}); err != nil {
			b.Fatal(err)
		}
	}
	home := b.TempDir()
	fencer := func(dir string, args ...string) cost {
		b.Helper()
		hosts := f.Hosts[:benchHosts]
		if dir == one {
			hosts = f.Hosts[benchHosts:]
		}
		return runFencer(b, dir, home, hosts, args...)
	}
	first1, first20 := fencer(one, "plan"), fencer(many, "plan")
	var table strings.Builder
	fmt.Fprintf(&table, "first plan (fencer copied to each host): 1 host %s, %d hosts %s\n", first1.wall.Round(time.Millisecond), benchHosts, first20.wall.Round(time.Millisecond))
	connect, facts := connectCost(b, f, f.Hosts[benchHosts])
	fmt.Fprintf(&table, "on 1 host, of a plan: connecting (SSH login, uname -m, the cached agent's sha256sum, the agent started) %s, reading its facts (systemd-analyze, systemctl) %s\n",
		connect.Round(time.Millisecond), facts.Round(time.Millisecond))
	steps := []struct {
		name string
		args []string
	}{
		{"plan", []string{"plan"}},
		{"apply", []string{"apply", "-auto-approve"}},
		{"replan", []string{"plan", "-detailed-exitcode"}},
	}
	sum1, sum20 := make([]cost, len(steps)), make([]cost, len(steps))
	b.ResetTimer()
	for range b.N {
		for i, s := range steps {
			add(&sum1[i], fencer(one, s.args...))
			add(&sum20[i], fencer(many, s.args...))
		}
		b.StopTimer()
		fencer(one, "destroy", "-auto-approve")
		fencer(many, "destroy", "-auto-approve")
		b.StartTimer()
	}
	b.StopTimer()
	fmt.Fprintf(&table, "%d hosts at -parallelism %d against 1 host, mean of %d runs, on %d CPUs:\n", benchHosts, benchParallelism, b.N, runtime.NumCPU())
	fmt.Fprintf(&table, "%-7s %9s %9s %6s %14s %14s %10s %10s %9s %16s %9s\n", "step", "1 host", "20 hosts", "ratio",
		"cpu/host (1)", "cpu/host (20)", "rss (1)", "rss (20)", "kB/host", "host side cpu/host", "cpu bound")
	for i, s := range steps {
		r1, r20 := avg(sum1[i], b.N), avg(sum20[i], b.N)
		ratio := r20.wall.Seconds() / r1.wall.Seconds()
		perHost := float64(r20.maxRSS-r1.maxRSS) / float64(benchHosts-1)
		cpuPerHost := float64(r20.cpu.Microseconds()) / 1000 / benchHosts
		b.ReportMetric(ratio, s.name+"-ratio")
		b.ReportMetric(cpuPerHost, s.name+"-cpu-ms/host")
		b.ReportMetric(float64(r20.maxRSS)/1024, s.name+"-maxrss-MB")
		b.ReportMetric(perHost, s.name+"-kB/host")
		// With every host on this machine, 20 hosts cannot take less
		// than the CPU time they and fencer need spread over its CPUs:
		// the ratio that bound alone gives.
		hostsPerHost := float64(r20.hosts.Milliseconds()) / benchHosts
		bound := (r20.hosts + r20.cpu).Seconds() / float64(runtime.NumCPU()) / r1.wall.Seconds()
		b.ReportMetric(hostsPerHost, s.name+"-host-side-cpu-ms/host")
		b.ReportMetric(bound, s.name+"-cpu-bound-ratio")
		fmt.Fprintf(&table, "%-7s %9s %9s %6.2f %12.0fms %12.0fms %8.1fMB %8.1fMB %9.0f %16.0fms %9.2f\n", s.name,
			r1.wall.Round(time.Millisecond), r20.wall.Round(time.Millisecond), ratio,
			float64(r1.cpu.Microseconds())/1000, cpuPerHost, float64(r1.maxRSS)/1024, float64(r20.maxRSS)/1024, perHost,
			hostsPerHost, bound)
	}
	// Printed, not logged: a benchmark's log is cut at 10 lines.
	fmt.Print(table.String())
	b.ReportMetric(0, "ns/op")
}

// connectCost dials h as fencer does (its agent already in the host's
// cache) and reads its facts, five times, and returns the median time of
// each.
func connectCost(b *testing.B, f *fleettest.Fleet, h *fleettest.Host) (connect, facts time.Duration) {
	cfg := Config{Name: h.Name, Address: h.Address, Port: h.Port, User: f.User, IdentityFile: f.Identity,
		KnownHostsFile: f.KnownHosts, Scope: "user", Loaders: testLoaders(b), Home: b.TempDir()}
	var dials, reads []time.Duration
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		began := time.Now()
		c, err := Dial(ctx, cfg)
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		dials = append(dials, time.Since(began))
		began = time.Now()
		_, err = c.Facts(ctx)
		reads = append(reads, time.Since(began))
		c.Close()
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(dials)
	slices.Sort(reads)
	return dials[2], reads[2]
}

// runFencer runs the fencer binary in the configuration directory dir,
// with HOME home and -parallelism benchParallelism, fails the benchmark
// when it fails (plan -detailed-exitcode: when it finds changes), and
// returns what it cost.
func runFencer(b *testing.B, dir, home string, hosts []*fleettest.Host, args ...string) cost {
	b.Helper()
	args = append([]string{"-no-color", args[0], fmt.Sprintf("-parallelism=%d", benchParallelism)}, args[1:]...)
	cmd := exec.Command(fencerBinary.path, args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	used := hostsCPU(hosts)
	began := time.Now()
	err := cmd.Run()
	wall := time.Since(began)
	used = hostsCPU(hosts) - used
	if err != nil {
		b.Fatalf("fencer %s in %s: %v\n%s", strings.Join(args, " "), filepath.Base(dir), err, out.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return cost{wall: wall, cpu: time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)), maxRSS: ru.Maxrss, hosts: used}
}

// hostsCPU is the CPU time hosts have used since they came up
// (fleettest.Host.CPUTime).
func hostsCPU(hosts []*fleettest.Host) time.Duration {
	var d time.Duration
	for _, h := range hosts {
		d += h.CPUTime()
	}
	return d
}

// add adds r to sum, keeping the highest peak memory.
func add(sum *cost, r cost) {
	sum.wall += r.wall
	sum.cpu += r.cpu
	sum.maxRSS = max(sum.maxRSS, r.maxRSS)
	sum.hosts += r.hosts
}

// avg is sum's times over n runs.
func avg(sum cost, n int) cost {
	return cost{wall: sum.wall / time.Duration(n), cpu: sum.cpu / time.Duration(n), maxRSS: sum.maxRSS, hosts: sum.hosts / time.Duration(n)}
}
