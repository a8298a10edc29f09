package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/spelling"
)

// Targets limit a plan to some hosts and services, as Terraform's
// -target: "host.NAME" names a host, an instance of a for_each host
// block (host.edge["edge-1"]) or a whole block (host.edge);
// "service.NAME" a service. With host targets only those hosts are
// planned; with service targets only those services are, on the hosts
// they are planned for, and the files of the other services on a host
// are left as they are: neither planned nor removed.
type Targets struct {
	// List is the targets as given, in order; empty for no targets.
	List     []string
	hosts    map[string]bool
	services map[string]bool
}

// ParseTargets reads -target values against the configuration: a target
// that names no host or service of it is an error diagnostic, with the
// nearest name.
func ParseTargets(cfg *hclspec.Config, list []string) (*Targets, hcl.Diagnostics) {
	t := &Targets{hosts: map[string]bool{}, services: map[string]bool{}}
	var hostNames, serviceNames []string
	known := map[string]bool{}
	for _, h := range cfg.Hosts {
		for _, n := range []string{h.Group, h.Name} {
			if !known["host."+n] {
				known["host."+n] = true
				hostNames = append(hostNames, "host."+n)
			}
		}
	}
	for _, s := range cfg.Services {
		known["service."+s.Name] = true
		serviceNames = append(serviceNames, "service."+s.Name)
	}
	var diags hcl.Diagnostics
	for _, raw := range list {
		tg := strings.TrimSpace(raw)
		kind, name, _ := strings.Cut(tg, ".")
		if !known[tg] {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid -target",
				Detail: fmt.Sprintf("-target=%s names no host or service of the configuration: a target is host.NAME (a host, an instance such as host.edge[\"edge-1\"], or a whole host block) or service.NAME.%s",
					raw, spelling.DidYouMean(tg, append(append([]string(nil), hostNames...), serviceNames...)))})
			continue
		}
		if !slices.Contains(t.List, tg) {
			t.List = append(t.List, tg)
		}
		if kind == "host" {
			t.hosts[name] = true
		} else {
			t.services[name] = true
		}
	}
	return t, diags
}

// Targeted reports whether there are targets.
func (t *Targets) Targeted() bool { return t != nil && len(t.List) > 0 }

// Service reports whether service s is planned: it is a target, or no
// service is.
func (t *Targets) Service(s *hclspec.Service) bool {
	return t == nil || len(t.services) == 0 || t.services[s.Name]
}

// Host reports whether host h is planned: it, or its block, is a target,
// or no host is; and with service targets, one of them is planned on h.
func (t *Targets) Host(cfg *hclspec.Config, h *hclspec.Host) bool {
	if t == nil {
		return true
	}
	if len(t.hosts) > 0 && !t.hosts[h.Name] && !t.hosts[h.Group] {
		return false
	}
	if len(t.services) == 0 {
		return true
	}
	for _, s := range cfg.Services {
		if t.services[s.Name] && slices.Contains(hostNames(cfg.ServiceHosts(s)), h.Name) {
			return true
		}
	}
	return false
}

// limitsServices reports whether the targets leave some services out:
// then plan removes no file it does not plan (orphans).
func (t *Targets) limitsServices() bool { return t != nil && len(t.services) > 0 }

func hostNames(hs []*hclspec.Host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out
}
