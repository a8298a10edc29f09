package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/fencer-dev/fencer/internal/arch"
)

// exporterC is the C exporter: libseccomp doing what `fencer export bpf`
// does for @system-service, the syscall names read from a file.
//
//go:embed cexporter/exporter.c
var exporterC string

// usage is what one run of a command cost.
type usage struct {
	cpu    time.Duration // user + system
	maxRSS int64         // bytes
	wall   time.Duration
}

// runMeasured runs cmd and returns its rusage; stdout goes to out (nil:
// discarded).
func runMeasured(cmd *exec.Cmd, out *os.File) (usage, error) {
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return usage{}, fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, lastLines(stderr.String(), 5))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return usage{cpu: cpu, maxRSS: ru.Maxrss * 1024, wall: time.Since(start)}, nil
}

// lastLines is the end of a command's error output.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// median is the median of ds.
func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// buildTools builds the fencer command from the repository and the C
// exporter into tmp.
func buildTools(repo, tmp string) (fencer, exporter string, err error) {
	fencer = filepath.Join(tmp, "fencer")
	build := exec.Command("go", "build", "-o", fencer, "./cmd/fencer")
	build.Dir = repo
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build fencer: %v: %s", err, out)
	}
	exporter, err = buildExporter(tmp)
	return fencer, exporter, err
}

// buildExporter compiles the C exporter into dir.
func buildExporter(dir string) (string, error) {
	src := filepath.Join(dir, "exporter.c")
	if err := os.WriteFile(src, []byte(exporterC), 0o644); err != nil {
		return "", err
	}
	exporter := filepath.Join(dir, "exporter")
	if out, err := exec.Command("gcc", "-O2", "-o", exporter, src, "-lseccomp").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the C exporter: %v: %s", err, out)
	}
	return exporter, nil
}

// commandRows measures the fencer command (export, plan) and adds its
// rows.
func commandRows(o *options, t *table, ssDir, tmp string) error {
	fencer, exporter, err := buildTools(o.repo, tmp)
	if err != nil {
		return err
	}
	if err := exportRow(o, t, fencer, exporter, ssDir, tmp); err != nil {
		return err
	}
	if o.plan > 0 {
		return planRows(o, t, fencer, tmp)
	}
	return nil
}

// nativeArch is the name fencer gives the machine's architecture.
func nativeArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "i386"
	}
	return runtime.GOARCH
}

// exportRow times `fencer export bpf` of @system-service against the C
// exporter's, interleaved, and adds the row.
func exportRow(o *options, t *table, fencer, exporter, ssDir, tmp string) error {
	a, ok := arch.Lookup(nativeArch())
	if !ok {
		return fmt.Errorf("fencer has no architecture %s", nativeArch())
	}
	ss, err := systemServicePolicy(ssDir, a)
	if err != nil {
		return err
	}
	names := filepath.Join(tmp, "names.txt")
	if err := os.WriteFile(names, []byte(strings.Join(libseccompNames(ss.filter), "\n")+"\n"), 0o644); err != nil {
		return err
	}
	abs, err := filepath.Abs(ssDir)
	if err != nil {
		return err
	}
	out, err := os.Create(filepath.Join(tmp, "export.bpf"))
	if err != nil {
		return err
	}
	defer out.Close()
	goHello, cEmpty, err := buildFloors(tmp)
	if err != nil {
		return err
	}
	cmds := []func() *exec.Cmd{
		func() *exec.Cmd {
			return exec.Command(fencer, "export", "bpf", "-arch="+a.Name, abs, "service."+ss.filter.Service)
		},
		func() *exec.Cmd { return exec.Command(exporter, names, "1") },
		func() *exec.Cmd { return exec.Command(exporter, names, "2") },
		func() *exec.Cmd { return exec.Command(fencer, "version") },
		func() *exec.Cmd { return exec.Command(goHello) },
		func() *exec.Cmd { return exec.Command(cEmpty) },
	}
	cpu := make([][]time.Duration, len(cmds))
	for range o.runs {
		for i, c := range cmds {
			u, err := runMeasured(c(), out)
			if err != nil {
				return err
			}
			cpu[i] = append(cpu[i], u.cpu)
		}
	}
	f, l1, l2 := median(cpu[0]), median(cpu[1]), median(cpu[2])
	ratio := float64(f) / float64(min(l1, l2))
	t.rows = append(t.rows, row{
		work:  "`export bpf` of @system-service, whole process, CPU (median of " + fmt.Sprint(o.runs) + ")",
		arch:  a.Name,
		cells: t.pad(ms(f), ms(l1)+" (C exporter)", ms(l2)+" (C exporter)"),
		goal:  "≤ libseccomp's, same run",
		met:   fmt.Sprintf("%s (ratio %.2f)", yesNo(ratio <= 1), ratio),
	})
	t.note("the floors of `export bpf`'s CPU in the same run: `fencer version` %s, a static Go program that only writes a line %s, an empty C program %s",
		ms(median(cpu[3])), ms(median(cpu[4])), ms(median(cpu[5])))
	return nil
}

// buildFloors builds, into dir, the programs that show what starting a
// process costs: a static Go program that writes one line, and an empty C
// program.
func buildFloors(dir string) (goHello, cEmpty string, err error) {
	src := filepath.Join(dir, "hello")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", "", err
	}
	files := map[string]string{
		"go.mod":  "module hello\n\ngo 1.26\n",
		"main.go": "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"hello\\n\") }\n",
		"empty.c": "int main(void) { return 0; }\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(text), 0o644); err != nil {
			return "", "", err
		}
	}
	goHello, cEmpty = filepath.Join(dir, "go-hello"), filepath.Join(dir, "c-empty")
	build := exec.Command("go", "build", "-o", goHello, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := build.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build the Go floor: %v: %s", err, out)
	}
	if out, err := exec.Command("gcc", "-O2", "-o", cEmpty, filepath.Join(src, "empty.c")).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build the C floor: %v: %s", err, out)
	}
	return goHello, cEmpty, nil
}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
