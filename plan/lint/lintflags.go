package lint

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/policy"
)

// flagArg reports whether argument k of the syscall carries flag bits: its
// name in the kernel's prototype has "flags" in it or is "prot", or it is
// a set of bits by another name — a mode (chmod's, open's and mkdir's,
// which the kernel masks with S_IALLUGO: fchmodat(..., 0100777) sets 0777;
// fallocate's and set_mempolicy's, which carry flags), a mask (umask's,
// which keeps 0777: umask(0x1000) is umask(0)), wait4's options or
// personality's value — or it is socket's and socketpair's type (which
// carries SOCK_CLOEXEC and SOCK_NONBLOCK) or accept4's flags, which the
// prototype leaves unnamed.
func (c *archLint) flagArg(syscall string, k int) bool {
	name := c.a.ArgName(syscall, k)
	canon, _ := c.a.Canonical(syscall)
	switch {
	case strings.Contains(name, "flags") || name == "prot":
		return true
	case name == "mode" || name == "mask" || name == "options" || name == "personality":
		return true
	case (canon == "socket" || canon == "socketpair") && k == 1:
		return true
	case canon == "accept4" && k == 3:
		return true
	}
	return false
}

// flagEquality warns about a comparison of a flags argument with exactly
// one value where a caller gains by missing it: in a rule that denies, a
// call matched with `==` (or contains) is denied only with exactly those
// bits, and in a rule that allows, `!=` lets through every other value.
// The kernel ignores flag bits it does not know in many calls (mmap's prot
// 0x17 maps as 0x7 does) and accepts others that change nothing that
// matters to the rule (PROT_SEM, O_LARGEFILE, SOCK_CLOEXEC), so adding one
// dodges the comparison. has_bits says what the author meant.
func (c *archLint) flagEquality() {
	for i, r := range c.f.Rules {
		rule := c.hrule(i)
		if rule == nil || rule.When == nil {
			continue
		}
		syscall := c.name(r.Nr)
		deny := !allows(r.Action)
		var walk func(hc hclspec.Cond, positive bool)
		walk = func(hc hclspec.Cond, positive bool) {
			switch x := hc.(type) {
			case hclspec.And:
				for _, y := range x.Xs {
					walk(y, positive)
				}
			case hclspec.Or:
				for _, y := range x.Xs {
					walk(y, positive)
				}
			case hclspec.Not:
				walk(x.X, !positive)
			case hclspec.Compare:
				exact := x.Op == policy.EQ && positive || x.Op == policy.NE && !positive
				if x.Mask == nil && exact == deny && (x.Op == policy.EQ || x.Op == policy.NE) && c.flagArg(syscall, x.Arg) {
					c.reportFlagEquality(rule, x.Rng, x.Arg, syscall, deny)
				}
			case hclspec.Contains:
				if x.Mask == nil && positive == deny && c.flagArg(syscall, x.Arg) {
					c.reportFlagEquality(rule, x.Rng, x.Arg, syscall, deny)
				}
			}
		}
		walk(rule.When, true)
	}
}

func (c *archLint) reportFlagEquality(rule *hclspec.Rule, rng hcl.Range, arg int, syscall string, deny bool) {
	name := c.a.ArgName(syscall, arg)
	if name == "" {
		name = "flags"
	}
	key := fmt.Sprintf("flag-equality|%s|%s", rule.Name, rng.String())
	c.l.add(key, rng, contextOf(rng, rule.DeclRange), syscall, c.a.Name, func(syscalls string, n int, on string) (string, string) {
		what := fmt.Sprintf("Rule %q denies %s only when arg%d (%s) has exactly these bits", rule.Name, syscalls, arg, name)
		if !deny {
			what = fmt.Sprintf("Rule %q allows %s whenever arg%d (%s) has other bits than these", rule.Name, syscalls, arg, name)
		}
		return "Flags compared with one exact value",
			fmt.Sprintf("%s%s. A caller can add a flag bit the kernel ignores or that changes nothing that matters here (mmap's prot 0x17 maps as 0x7 does), and the comparison no longer matches. Test the bits that matter with has_bits(arg%d, ...), or compare masked(arg%d, MASK).",
				what, on, arg, arg)
	})
}
