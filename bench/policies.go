package main

import (
	"fmt"
	"path/filepath"
	"strings"

	refarch "github.com/elastic/go-seccomp-bpf/arch"
	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// benchPolicy is one policy of the bench, resolved for one architecture.
type benchPolicy struct {
	name   string
	filter *policy.Filter
}

// loadConfig loads the configuration in dir.
func loadConfig(dir string) (*hclspec.Config, error) {
	cfg, diags := hclspec.Load(dir, hclspec.LoadOptions{})
	if diags.HasErrors() {
		return nil, fmt.Errorf("load %s: %w", dir, diags)
	}
	return cfg, nil
}

// resolveService is svc's policy on a.
func resolveService(svc *hclspec.Service, a *arch.Arch) (*policy.Filter, error) {
	f, diags := resolve.Policy(svc, a)
	if diags.HasErrors() {
		return nil, fmt.Errorf("resolve service %q on %s: %w", svc.Name, a.Name, onlyErrors(diags))
	}
	return f, nil
}

// onlyErrors drops warnings from diags.
func onlyErrors(diags hcl.Diagnostics) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			out = append(out, d)
		}
	}
	return out
}

// metricsPolicy is examples/metrics on a: its rules without the start-up
// set (the rules named startup*) and without the exec-once gate, which
// go-seccomp-bpf cannot express.
func metricsPolicy(repo string, a *arch.Arch) (benchPolicy, error) {
	cfg, err := loadConfig(filepath.Join(repo, "examples", "metrics"))
	if err != nil {
		return benchPolicy{}, err
	}
	f, err := resolveService(cfg.Services[0], a)
	if err != nil {
		return benchPolicy{}, err
	}
	var rules []policy.Rule
	for _, r := range f.Rules {
		if !strings.HasPrefix(r.Name, "startup") {
			rules = append(rules, r)
		}
	}
	f.Rules, f.ExecOnce = rules, nil
	return benchPolicy{name: "metrics", filter: f}, nil
}

// configFiles counts the configuration files in dir.
func configFiles(dir string) int {
	hcl, _ := filepath.Glob(filepath.Join(dir, "*.fencer.hcl"))
	json, _ := filepath.Glob(filepath.Join(dir, "*.fencer.json"))
	return len(hcl) + len(json)
}

// systemServicePolicy is the first service of the configuration in dir on
// a, without the exec-once gate.
func systemServicePolicy(dir string, a *arch.Arch) (benchPolicy, error) {
	cfg, err := loadConfig(dir)
	if err != nil {
		return benchPolicy{}, err
	}
	if len(cfg.Services) == 0 {
		return benchPolicy{}, fmt.Errorf("%s has no service", dir)
	}
	f, err := resolveService(cfg.Services[0], a)
	if err != nil {
		return benchPolicy{}, err
	}
	f.ExecOnce = nil
	return benchPolicy{name: "@system-service", filter: f}, nil
}

// lateSyscall is the syscall of the in-kernel timing: past the end of
// @system-service on x86_64 and aarch64, known to every compiler, and
// mseal(0, 0, 0) returns at once (0 since Linux 6.10, ENOSYS before).
const lateSyscall = "mseal"

// lateCall is the rule the in-kernel timing adds to p on a: lateSyscall,
// or when p names it or a lacks it, the highest number of a's table below
// 4096 that p does not name and every compiler knows (go-seccomp-bpf's
// table ends earlier than fencer's), allowed when its first argument is 0.
func lateCall(p benchPolicy, a *arch.Arch) policy.Rule {
	named := map[uint32]bool{}
	for _, r := range p.filter.Rules {
		named[r.Nr] = true
	}
	known := func(int) bool { return true }
	if info, err := refarch.GetInfo(a.Name); err == nil {
		known = func(nr int) bool { _, ok := info.SyscallNumbers[nr]; return ok }
	}
	best := policy.Rule{Name: "late", When: policy.Cmp{Arg: 0, Mask: ^uint64(0), Op: policy.EQ, Value: 0}, Action: policy.ActAllow}
	if nr, ok := a.Syscall(lateSyscall); ok && !named[uint32(nr)] && known(nr) {
		best.Syscall, best.Nr = lateSyscall, uint32(nr)
		return best
	}
	for _, name := range a.SyscallNames() {
		nr, _ := a.Syscall(name)
		if nr >= 0 && nr < 4096 && !named[uint32(nr)] && known(nr) && uint32(nr) >= best.Nr {
			best.Syscall, best.Nr = name, uint32(nr)
		}
	}
	return best
}

// withLateCall is p plus lateCall's rule.
func withLateCall(p benchPolicy, a *arch.Arch) benchPolicy {
	f := *p.filter
	f.Rules = append(append([]policy.Rule(nil), f.Rules...), lateCall(p, a))
	return benchPolicy{name: p.name + " + 1 conditional", filter: &f}
}

// firedancerPolicies are the services of the configurations in dir
// that are meant for a (their hosts' architectures), on a; errs says why
// some do not resolve there.
func firedancerPolicies(dir string, a *arch.Arch) (out []benchPolicy, errs []error) {
	if configFiles(dir) == 0 {
		return nil, nil
	}
	cfg, err := loadConfig(dir)
	if err != nil {
		return nil, []error{err}
	}
	for _, svc := range cfg.Services {
		if len(resolve.Arches(cfg, svc, []string{a.Name})) == 0 {
			continue // a policy for other architectures
		}
		f, err := resolveService(svc, a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.ExecOnce = nil
		out = append(out, benchPolicy{name: svc.Name, filter: f})
	}
	return out, errs
}
