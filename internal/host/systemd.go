package host

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/fencer-dev/fencer/internal/arch"
)

// systemdProbes caches probeSystemd's answers by architecture: they depend
// only on this machine's systemd-analyze, which a -root host uses too.
var systemdProbes struct {
	sync.Mutex
	byArch map[string]*SystemdFacts
}

// probeSystemd asks this machine's systemd what plan needs to know of it
// (SystemdFacts) for hosts of architecture archName: its @default
// group (systemd-analyze syscall-filter @default), which syscall names it
// cannot resolve, and whether systemd-analyze verify copes with a unit name
// that has a ':'. The last two are learned the way apply meets them: by
// verifying two scratch units in a temporary directory, one whose
// SystemCallFilter= lists every syscall name of the architecture (systemd
// warns "Failed to parse system call, ignoring: NAME" for each it cannot
// resolve), and one named fencer-probe:colon.service. It returns nil when
// systemd-analyze does not run here.
func probeSystemd(ctx context.Context, env []string, archName string) *SystemdFacts {
	systemdProbes.Lock()
	defer systemdProbes.Unlock()
	if f, ok := systemdProbes.byArch[archName]; ok {
		return f
	}
	f := probeSystemdOnce(ctx, env, archName)
	if ctx.Err() != nil {
		return f // not cached: a cancelled probe says nothing
	}
	if systemdProbes.byArch == nil {
		systemdProbes.byArch = map[string]*SystemdFacts{}
	}
	systemdProbes.byArch[archName] = f
	return f
}

func probeSystemdOnce(ctx context.Context, env []string, archName string) *SystemdFacts {
	a, ok := arch.Lookup(archName)
	if !ok {
		return nil
	}
	out, err := runCommand(ctx, env, "systemd-analyze", "syscall-filter", "@default")
	if err != nil {
		return nil
	}
	f := &SystemdFacts{Default: parseSyscallGroup(string(out)), Unknown: map[string]bool{}}
	dir, err := os.MkdirTemp("", "fencer-probe-")
	if err != nil {
		return nil
	}
	defer os.RemoveAll(dir)
	names := append(a.SyscallNames(), f.Default...)
	self, err := os.Executable()
	if err != nil {
		self = "/bin/true"
	}
	exe := fmt.Sprintf("[Service]\nExecStart=%q\n", self)
	probe := filepath.Join(dir, "fencer-probe.service")
	colon := filepath.Join(dir, "fencer-probe:colon.service")
	if os.WriteFile(probe, []byte(exe+"SystemCallFilter="+strings.Join(names, " ")+"\n"), 0o644) != nil ||
		os.WriteFile(colon, []byte(exe), 0o644) != nil {
		return nil
	}
	stderr, ok := analyzeVerify(ctx, env, probe)
	for _, line := range strings.Split(stderr, "\n") {
		if _, name, found := strings.Cut(line, "Failed to parse system call, ignoring: "); found {
			f.Unknown[strings.TrimSpace(name)] = true
		}
	}
	if !ok && len(f.Unknown) == 0 {
		// Verify failed for another reason: it says nothing of names.
		return nil
	}
	_, f.ColonUnitsVerify = analyzeVerify(ctx, env, colon)
	return f
}

// analyzeVerify runs systemd-analyze verify as apply does on a unit file
// and returns its standard error and whether it passed.
func analyzeVerify(ctx context.Context, env []string, path string) (string, bool) {
	cmd := exec.CommandContext(ctx, "systemd-analyze", append(append([]string(nil), verifyArgs...), path)...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	err := cmd.Run()
	return stderr.String(), err == nil
}

// parseSyscallGroup reads the names systemd-analyze syscall-filter prints
// for one group: indented names, after the "@group" line and its comment.
func parseSyscallGroup(out string) []string {
	var names []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "@") {
			continue
		}
		names = append(names, line)
	}
	return names
}
