package fleettest

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// HCLOptions say how Fleet.HostBlocks writes the hosts.
type HCLOptions struct {
	// Hosts are the hosts to write; every host of the fleet when nil.
	Hosts []*Host
	// KnownHosts is every host's known_hosts_file; the fleet's when "".
	KnownHosts string
	// FencerPath is every host's fencer_path; when "", the default of
	// the host's scope (see Host.FencerPath).
	FencerPath string
	// NoBecome writes no become: fencer logs in as the login user on
	// every host, in its scope.
	NoBecome bool
	// Bastion maps a host's name to the name of the host to jump through
	// to reach it.
	Bastion map[string]string
	// Attrs are more attributes for every block, name to HCL expression
	// (`connect_timeout = "5s"` is Attrs{"connect_timeout": `"5s"`}).
	Attrs map[string]string
}

// FencerPath is where fencer installs its loader on h in the scope that
// HostBlocks gives it: on a become host (root's user manager, through
// sudo) /usr/local/bin/fencer, in the host's own /usr/local; elsewhere
// (the login user's manager) ~/.local/bin/fencer in the login user's
// HOME, since the login user cannot write /usr/local — and its manager
// runs the loader as that user, so the login user must be able to read
// and run it there.
func (h *Host) FencerPath(become bool) string {
	if become && h.Become {
		return "/usr/local/bin/fencer"
	}
	return path.Join(h.fleet.Home, ".local/bin/fencer")
}

// HostBlocks returns the configuration's host blocks for the fleet, one
// per host named as the host (h1, h2, ...):
//
//	host "h1" {
//	  address          = "127.0.0.1"
//	  port             = 40123
//	  user             = "fencer-fleet"
//	  identity_file    = "/tmp/fleet.../id_ed25519"
//	  known_hosts_file = "/tmp/fleet.../known_hosts"
//	  scope            = "user"
//	  fencer_path      = "/usr/local/bin/fencer"
//	  become           = "sudo"
//	}
//
// Every host is in scope "user": the login user's manager, or root's on a
// become host (become = "sudo"), since no system manager runs here. A
// bastion naming no host of the fleet is an error.
func (f *Fleet) HostBlocks(o HCLOptions) (string, error) {
	hosts := o.Hosts
	if hosts == nil {
		hosts = f.Hosts
	}
	knownHosts := o.KnownHosts
	if knownHosts == "" {
		knownHosts = f.KnownHosts
	}
	var b strings.Builder
	for _, h := range hosts {
		fencerPath := o.FencerPath
		if fencerPath == "" {
			fencerPath = h.FencerPath(!o.NoBecome)
		}
		attrs := [][2]string{
			{"address", strconv.Quote(h.Address)},
			{"port", strconv.Itoa(h.Port)},
			{"user", strconv.Quote(f.User)},
			{"identity_file", strconv.Quote(f.Identity)},
			{"known_hosts_file", strconv.Quote(knownHosts)},
			{"scope", `"user"`},
			{"fencer_path", strconv.Quote(fencerPath)},
		}
		if h.Become && !o.NoBecome {
			attrs = append(attrs, [2]string{"become", `"sudo"`})
		}
		if name, ok := o.Bastion[h.Name]; ok {
			jump := f.host(name)
			if jump == nil {
				return "", fmt.Errorf("fleettest: bastion of %s: no host %q", h.Name, name)
			}
			attrs = append(attrs, [2]string{"bastion", strconv.Quote(fmt.Sprintf("%s@%s:%d", f.User, jump.Address, jump.Port))})
		}
		names := make([]string, 0, len(o.Attrs))
		for name := range o.Attrs {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			attrs = append(attrs, [2]string{name, o.Attrs[name]})
		}
		fmt.Fprintf(&b, "host %q {\n", h.Name)
		for _, a := range attrs {
			fmt.Fprintf(&b, "  %-16s = %s\n", a[0], a[1])
		}
		b.WriteString("}\n\n")
	}
	return b.String(), nil
}

// host returns the host called name, nil when there is none.
func (f *Fleet) host(name string) *Host {
	for _, h := range f.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// WriteMetricsConfig writes a configuration that puts the metrics
// example on the fleet into dir, made when missing: hosts.fencer.hcl
// with the configuration's id, the variables examples/fleet's policy
// uses and the host blocks (HostBlocks with o), and that policy,
// examples/fleet/metrics.fencer.hcl and metrics.service, copied from the
// module whose root is repo. The service logs to /tmp/metrics.log, which
// every account can write on every host (each host has its own /tmp).
func (f *Fleet) WriteMetricsConfig(dir, repo string, o HCLOptions) error {
	blocks, err := f.HostBlocks(o)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("fleettest: %w", err)
	}
	hosts := `# The simulated hosts of internal/fleettest, each a real sshd on 127.0.0.1
# with its own systemd user manager, and the variables of the metrics
# policy (metrics.fencer.hcl, from examples/fleet).

fencer {
  id = "metrics-fleet"
}

variable "log_path" {
  type    = string
  default = "/tmp/metrics.log"
}

variable "port" {
  type    = number
  default = 7999
}

variable "server_path" {
  type    = string
  default = "/usr/local/libexec/metrics-server"
}

` + blocks
	files := map[string][]byte{"hosts.fencer.hcl": []byte(hosts)}
	for _, name := range []string{"metrics.fencer.hcl", "metrics.service"} {
		data, err := os.ReadFile(filepath.Join(repo, "examples", "fleet", name))
		if err != nil {
			return fmt.Errorf("fleettest: %w", err)
		}
		files[name] = data
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("fleettest: %w", err)
		}
	}
	return nil
}
