package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// planService is one service of the plan measurement's configuration:
// a unit file of its own and a small policy with conditions.
const planService = `service "s%[1]d" {
  unit           = "s%[1]d.service"
  unit_file      = "[Service]\nExecStart=/usr/bin/s%[1]d\n"
  default_action = kill_process

  rule "start" {
    syscalls = ["brk", "mmap", "munmap", "exit_group", "read", "close", "poll"]
  }

  rule "log" {
    syscalls = ["write"]
    when     = arg0 == 1 || arg0 == 2
  }

  rule "accept" {
    syscalls = ["accept4"]
    when     = arg0 == 3 && arg1 == 0
  }
}

`

// servicesPerFile keeps each file of the plan's configuration under
// fencer's limit for one configuration file.
const servicesPerFile = 1000

// planConfig writes a configuration of n services into a new directory
// under tmp and returns it.
func planConfig(tmp string, n int) (string, error) {
	dir := filepath.Join(tmp, fmt.Sprintf("plan-%d", n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for first := 0; first < n; first += servicesPerFile {
		var b strings.Builder
		for i := first; i < min(n, first+servicesPerFile); i++ {
			fmt.Fprintf(&b, planService, i)
		}
		name := filepath.Join(dir, fmt.Sprintf("services-%05d.fencer.hcl", first))
		if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// planOnce runs `fencer plan -root=EMPTY` on n services, runs times, and
// returns the median CPU and the largest max RSS.
func planOnce(fencer, tmp string, n, runs int) (cpu time.Duration, rss int64, wall time.Duration, err error) {
	cfg, err := planConfig(tmp, n)
	if err != nil {
		return 0, 0, 0, err
	}
	var cpus []time.Duration
	for range runs {
		empty, err := os.MkdirTemp(tmp, "empty-")
		if err != nil {
			return 0, 0, 0, err
		}
		u, err := runMeasured(exec.Command(fencer, "-chdir="+cfg, "plan", "-root="+empty), nil)
		if err != nil {
			return 0, 0, 0, err
		}
		cpus = append(cpus, u.cpu)
		rss, wall = max(rss, u.maxRSS), max(wall, u.wall)
	}
	return median(cpus), rss, wall, nil
}

// planRows measures plan at scale and adds its rows.
func planRows(o *options, t *table, fencer, tmp string) error {
	n := o.plan
	runs := min(o.runs, 3)
	cpu, rss, wall, err := planOnce(fencer, tmp, n, runs)
	if err != nil {
		return err
	}
	_, rss1, _, err := planOnce(fencer, tmp, 1, 1)
	if err != nil {
		return err
	}
	perCPU := cpu / time.Duration(n)
	perRSS := rss / int64(n)
	t.rows = append(t.rows, row{
		work:  fmt.Sprintf("`plan -root=EMPTY` of %s services: CPU / max RSS, per service (median of %d)", thousands(n), runs),
		arch:  nativeArch(),
		cells: t.pad(fmt.Sprintf("%.2f ms / %d kB (%.1f s, %d MB in all; %d MB for 1 service)", float64(perCPU)/1e6, perRSS/1024, cpu.Seconds(), rss>>20, rss1>>20)),
		goal:  "≤ 2 ms and ≤ 100 kB per service",
		met:   yesNo(perCPU <= 2*time.Millisecond && perRSS <= 100*1024),
	})
	t.note("one plan of %s services took %.1f s of wall clock", thousands(n), wall.Seconds())
	if !o.plan10 {
		t.note("10,000 services: run with -plan10k (one more plan, which took about 10 s on a 2-CPU machine on 2026-12-07)")
		return nil
	}
	cpu, rss, wall, err = planOnce(fencer, tmp, 10000, 1)
	if err != nil {
		return err
	}
	t.rows = append(t.rows, row{
		work:  "`plan -root=EMPTY` of 10,000 services: max RSS",
		arch:  nativeArch(),
		cells: t.pad(fmt.Sprintf("%d MB (%.1f s CPU, %.1f s wall clock)", rss>>20, cpu.Seconds(), wall.Seconds())),
		goal:  "≤ 1 GiB",
		met:   yesNo(rss <= 1<<30),
	})
	return nil
}
