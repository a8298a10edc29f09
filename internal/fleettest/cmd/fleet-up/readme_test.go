package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeFleet returns the commands of README.md's fleet quick start (the
// section "### A fleet on this machine"): those of its first sh block,
// which starts the hosts, and those of its second, run while they are up.
// A command is a line that is not a comment.
func readmeFleet(t *testing.T, root string) (up []string, then []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n### A fleet on this machine\n")
	if !ok {
		t.Fatal(`README.md has no section "### A fleet on this machine"`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var blocks [][]string
	for {
		var block string
		if _, section, ok = strings.Cut(section, "```sh\n"); !ok {
			break
		}
		block, section, _ = strings.Cut(section, "```")
		var cmds []string
		for _, l := range strings.Split(block, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				cmds = append(cmds, l)
			}
		}
		blocks = append(blocks, cmds)
	}
	if len(blocks) != 2 || len(blocks[0]) != 1 || len(blocks[1]) == 0 {
		t.Fatalf("README's fleet quick start: want a block with the command that starts the hosts, and one with the commands to run then; got %q", blocks)
	}
	return blocks[0], blocks[1]
}

// TestReadmeFleetQuickStart runs README's fleet quick start as written,
// from the repository's root with `go run`, its directory
// /var/tmp/fencer-fleet replaced by a new one: fleet-up starts the hosts
// and says so, apply puts the metrics service on every host over SSH, a
// second plan finds no changes, verify finds them in sync; Ctrl-C
// (SIGINT to the process group, as a terminal sends it) stops the hosts,
// finding nothing of them left, and removes the configuration.
func TestReadmeFleetQuickStart(t *testing.T) {
	if reason := cannotRun(); reason != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot run (CI=true, so this fails instead of skipping): %s", reason)
		}
		t.Skip(reason)
	}
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	up, then := readmeFleet(t, root)
	dir := filepath.Join("/var/tmp", fmt.Sprintf("fencer-fleet-test-%d", os.Getpid()))
	t.Cleanup(func() { os.RemoveAll(dir) })
	sh := func(command string) *exec.Cmd {
		command = strings.ReplaceAll(command, "/var/tmp/fencer-fleet", dir)
		cmd := exec.Command("/bin/sh", "-c", command)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/local/go/bin")
		return cmd
	}
	if !strings.Contains(up[0], "go run ./internal/fleettest/cmd/fleet-up") {
		t.Fatalf("README's fleet quick start does not start the hosts with fleet-up: %s", up[0])
	}
	fleet := sh(up[0])
	fleet.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := fleet.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	fleet.Stderr = &stderr
	if err := fleet.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var said strings.Builder
	go func() {
		// Read to the end, so the pipe never fills, then wait.
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			said.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "Ctrl-C stops") {
				done <- nil
			}
		}
		done <- fleet.Wait()
	}()
	interrupt := func() { syscall.Kill(-fleet.Process.Pid, syscall.SIGINT) }
	select {
	case err := <-done:
		if err != nil || !strings.Contains(said.String(), "3 hosts up") {
			interrupt()
			t.Fatalf("fleet-up: %v\n%s%s", err, said.String(), stderr.String())
		}
	case <-time.After(3 * time.Minute):
		interrupt()
		t.Fatalf("fleet-up did not say the hosts are up after 3 minutes:\n%s%s", said.String(), stderr.String())
	}
	defer func() {
		if fleet.ProcessState == nil {
			syscall.Kill(-fleet.Process.Pid, syscall.SIGKILL)
		}
	}()
	for _, c := range then {
		out, err := sh(c).CombinedOutput()
		t.Logf("%s: %v\n%s", c, err, out)
		if err != nil {
			t.Errorf("%s: %v", c, err)
		}
		var want []string
		switch {
		case strings.Contains(c, " apply"):
			want = []string{"Apply complete! Files: 15 added, 0 changed, 0 destroyed."}
		case strings.Contains(c, " plan"):
			want = []string{"No changes. Your hosts match the configuration."}
		case strings.Contains(c, " verify"):
			want = []string{`host "h1": in sync`, `host "h2": in sync`, `host "h3": in sync`}
		}
		for _, w := range want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s does not say %q", c, w)
			}
		}
	}
	interrupt()
	select {
	case err := <-done:
		// go run's own exit status after an interrupt says nothing
		// about its program's; fleet-up's errors go to stderr.
		if strings.Contains(stderr.String(), "fleet-up:") {
			t.Errorf("fleet-up after Ctrl-C: %v\n%s%s", err, said.String(), stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("fleet-up did not stop a minute after Ctrl-C")
	}
	if !strings.Contains(said.String(), "nothing of the hosts is left") {
		t.Errorf("fleet-up did not stop cleanly:\n%s%s", said.String(), stderr.String())
	}
	if _, err := os.Lstat(dir); err == nil {
		t.Errorf("fleet-up left %s", dir)
	}
}

// cannotRun says why the quick start cannot run here, "" when it can.
func cannotRun() string {
	if os.Geteuid() != 0 {
		return "not root: fleet-up needs it"
	}
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		return "no sshd (openssh-server)"
	}
	return ""
}
