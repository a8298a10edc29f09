package hclspec

import (
	"fmt"
	"strings"
)

// inArchList says whether the architecture name is in list, nil meaning
// every architecture.
func inArchList(list []string, name string) bool {
	if list == nil {
		return true
	}
	for _, n := range list {
		if n == name {
			return true
		}
	}
	return false
}

// checkHostArches refuses a service whose arch list leaves out the
// declared architecture of a host it is planned on: plan would have no
// filter to install there. (A host whose architecture is discovered is
// checked when plan knows it.) hostsGiven says whether the service has a
// hosts attribute, for the message.
func (l *loader) checkHostArches(s *Service, hostsGiven bool) {
	if s.Arch == nil {
		return
	}
	for _, h := range l.cfg.ServiceHosts(s) {
		if h.Arch == "" || inArchList(s.Arch, h.Arch) {
			continue
		}
		hostsHow := "its hosts attribute names it"
		if !hostsGiven {
			hostsHow = "a service without hosts is planned on every host"
		}
		l.add(errorAt(s.ArchRange, "Service not for its host's architecture",
			fmt.Sprintf("The service %q is limited to %s, but it is planned on host %q, which is %s (%s). "+
				"fencer would have no filter to install there: take the host out of the service's hosts, or add %q to its arch list.",
				s.Name, strings.Join(s.Arch, ", "), h.Name, h.Arch, hostsHow, h.Arch)))
		return
	}
}

// checkRuleArches warns about a rule's architectures the service leaves
// out, and refuses a rule left with none: it would never apply.
func (l *loader) checkRuleArches(s *Service) {
	if s.Arch == nil {
		return
	}
	for _, r := range s.Rules {
		var out, in []string
		for _, a := range r.Arch {
			if inArchList(s.Arch, a) {
				in = append(in, a)
			} else {
				out = append(out, a)
			}
		}
		switch {
		case len(out) == 0:
		case len(in) == 0:
			l.add(errorAt(r.ArchRange, "Rule for none of the service's architectures",
				fmt.Sprintf("The rule %q is for %s, and the service %q is limited to %s: the rule would never apply. "+
					"Remove the rule, or add its architectures to the service's arch list.",
					r.Name, strings.Join(r.Arch, ", "), s.Name, strings.Join(s.Arch, ", "))))
		default:
			l.add(warningAt(r.ArchRange, "Rule architecture outside the service's",
				fmt.Sprintf("The service %q is limited to %s, so the rule %q never applies on %s. Remove %s from the rule's arch list.",
					s.Name, strings.Join(s.Arch, ", "), r.Name, strings.Join(out, ", "), strings.Join(out, ", "))))
		}
	}
}
