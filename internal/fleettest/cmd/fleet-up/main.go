// Command fleet-up starts simulated hosts on this machine for trying
// fencer on a fleet (README's fleet quick start): each a real sshd on
// 127.0.0.1 with its own systemd user manager, in a mount namespace of
// its own (internal/fleettest). It writes a configuration that puts
// examples/fleet's metrics service on every host into -dir, prints the
// fencer commands to run next, keeps the hosts up until it is
// interrupted (Ctrl-C, SIGTERM), then stops them and removes everything
// it made, the configuration directory included.
//
// Run it as root from the repository's root:
//
//	go run ./internal/fleettest/cmd/fleet-up -hosts=3 -dir=/var/tmp/fencer-fleet
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/fencer-dev/fencer/internal/fleettest"
)

func main() {
	hosts := flag.Int("hosts", 3, "how many hosts (1 to 50)")
	dir := flag.String("dir", "/var/tmp/fencer-fleet", "the configuration directory to write (must not exist; removed at the end)")
	flag.Parse()
	if err := run(*hosts, *dir, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fleet-up:", err)
		os.Exit(1)
	}
}

// run starts the fleet, writes the configuration into dir and waits for
// a signal; then stops the fleet and removes dir.
func run(n int, dir string, out io.Writer) error {
	if n < 1 || n > 50 {
		return fmt.Errorf("-hosts=%d: from 1 to 50", n)
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("-dir=%s: an absolute path, please (fencer runs with -chdir to it)", dir)
	}
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("%s exists: fleet-up writes a new configuration there and removes it at the end; choose another -dir or remove it", dir)
	}
	if _, err := os.Stat(filepath.Join("examples", "fleet", "metrics.fencer.hcl")); err != nil {
		return fmt.Errorf("run fleet-up from the repository's root (it copies examples/fleet's policy): %w", err)
	}
	// Signals from now on: an interrupt while the hosts start stops them.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	f, err := fleettest.New(fleettest.Options{Hosts: n, Become: []int{0}})
	if err != nil {
		return err
	}
	err = f.WriteMetricsConfig(dir, ".", fleettest.HCLOptions{})
	if err == nil {
		describe(out, f, dir)
		<-sig
		fmt.Fprintln(out, "Stopping the hosts.")
	}
	err = errors.Join(err, f.Stop(), os.RemoveAll(dir))
	if err == nil {
		fmt.Fprintln(out, "Stopped; nothing of the hosts is left.")
	}
	return err
}

// describe prints the hosts and the commands to run next.
func describe(out io.Writer, f *fleettest.Fleet, dir string) {
	fmt.Fprintf(out, "%d hosts up (each a real sshd on 127.0.0.1 with its own systemd user manager):\n", len(f.Hosts))
	for _, h := range f.Hosts {
		who := fmt.Sprintf("logs in as %s, applies to its user manager", f.User)
		if h.Become {
			who = fmt.Sprintf("logs in as %s, applies to root's user manager through sudo", f.User)
		}
		fmt.Fprintf(out, "  %s  127.0.0.1:%d  %s\n", h.Name, h.Port, who)
	}
	fmt.Fprintf(out, "The configuration, the metrics service on every host: %s\n", dir)
	fmt.Fprintf(out, "In another terminal, from the repository's root:\n")
	for _, c := range []string{"apply -auto-approve", "plan -detailed-exitcode", "verify"} {
		fmt.Fprintf(out, "  go run ./cmd/fencer -chdir=%s %s\n", dir, c)
	}
	ssh := f.SSH(f.Hosts[0])
	fmt.Fprintf(out, "A shell on %s: %s\n", f.Hosts[0].Name, strings.Join(ssh.Args[:len(ssh.Args)-1], " "))
	fmt.Fprintln(out, "Ctrl-C stops the hosts and removes the configuration.")
}
