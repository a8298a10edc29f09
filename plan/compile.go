package plan

import (
	"errors"
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/compile"
	"github.com/fencer-dev/fencer/internal/policy"
)

// Compiled is one service's filter on one architecture.
type Compiled struct {
	Service *hclspec.Service
	Arch    *arch.Arch
	Filter  *policy.Filter
	Program bpf.Program
	Stats   compile.Stats
}

// Arches returns the architectures svc is checked for without contacting
// any host: those its hosts declare when every one of them declares one,
// otherwise every supported architecture; narrowed to only when only is
// not empty.
func Arches(cfg *hclspec.Config, svc *hclspec.Service, only []string) []*arch.Arch {
	hosts := ServiceHosts(cfg, svc)
	declared := map[string]bool{}
	all := len(hosts) == 0
	for _, h := range hosts {
		if h.Arch == "" {
			all = true
			break
		}
		declared[h.Arch] = true
	}
	var out []*arch.Arch
	for _, a := range arch.All() {
		if !all && !declared[a.Name] {
			continue
		}
		if len(only) > 0 && !contains(only, a.Name) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// ServiceHosts returns the hosts svc is planned for: those its hosts list
// names (by instance name or block label), or every host.
func ServiceHosts(cfg *hclspec.Config, svc *hclspec.Service) []*hclspec.Host {
	if svc.Hosts == nil {
		return cfg.Hosts
	}
	var out []*hclspec.Host
	for _, h := range cfg.Hosts {
		if contains(svc.Hosts, h.Name) || contains(svc.Hosts, h.Group) {
			out = append(out, h)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// CompileService resolves and compiles svc for a.
func CompileService(svc *hclspec.Service, a *arch.Arch) (*Compiled, hcl.Diagnostics) {
	f, diags := Resolve(svc, a)
	if diags.HasErrors() {
		return nil, diags
	}
	prog, st, err := compile.Compile(f)
	if err != nil {
		var long *compile.TooLongError
		summary := "Filter does not compile"
		if errors.As(err, &long) {
			summary = "Filter too long"
		}
		rng := svc.DeclRange
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  summary,
			Detail:   err.Error(),
			Subject:  &rng,
		})
	}
	return &Compiled{Service: svc, Arch: a, Filter: f, Program: prog, Stats: st}, diags
}

// Validate compiles every service for every architecture it is checked
// for (narrowed to only when given), in a stable order: services as
// declared, architectures in arch.All's order.
func Validate(cfg *hclspec.Config, only []string) ([]*Compiled, hcl.Diagnostics) {
	var out []*Compiled
	var diags hcl.Diagnostics
	for _, svc := range cfg.Services {
		for _, a := range Arches(cfg, svc, only) {
			c, d := CompileService(svc, a)
			diags = append(diags, d...)
			if c != nil {
				out = append(out, c)
			}
		}
	}
	return out, dedupe(diags)
}

// dedupe drops diagnostics repeated word for word at the same place, as
// happens when one mistake shows on several architectures.
func dedupe(diags hcl.Diagnostics) hcl.Diagnostics {
	seen := map[string]bool{}
	var out hcl.Diagnostics
	for _, d := range diags {
		key := fmt.Sprintf("%d|%s|%s", d.Severity, d.Summary, d.Detail)
		if d.Subject != nil {
			key += "|" + d.Subject.String()
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, d)
		}
	}
	return out
}

// Find returns the compiled filter of the named service on the named
// architecture.
func Find(all []*Compiled, service, archName string) (*Compiled, error) {
	var names []string
	for _, c := range all {
		if c.Service.Name == service && c.Arch.Name == archName {
			return c, nil
		}
		if c.Service.Name == service {
			names = append(names, c.Arch.Name)
		}
	}
	if names == nil {
		return nil, fmt.Errorf("no service %q in the configuration", service)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("service %q is not planned for %s; it is for %v", service, archName, names)
}
