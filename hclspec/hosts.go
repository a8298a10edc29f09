package hclspec

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/spelling"
)

// Host defaults.
const (
	DefaultPort       = 22
	DefaultFencerPath = "/usr/local/bin/fencer"
	// DefaultConnectTimeout bounds connecting to a host over SSH and
	// logging in, unless connect_timeout says otherwise.
	DefaultConnectTimeout = 10 * time.Second
	// BecomeSudo is become's one value: run fencer's agent with sudo -n.
	BecomeSudo       = "sudo"
	ScopeSystem      = "system"
	ScopeUser        = "user"
	ImplicitHostName = "local"
)

var hostSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "for_each"},
		{Name: "address"},
		{Name: "user"},
		{Name: "port"},
		{Name: "identity_file"},
		{Name: "known_hosts_file"},
		{Name: "bastion"},
		{Name: "become"},
		{Name: "connect_timeout"},
		{Name: "arch"},
		{Name: "scope"},
		{Name: "fencer_path"},
	},
}

// decodeHosts reads the host blocks, expanding for_each; with none, the
// configuration has the implicit host "local".
func (l *loader) decodeHosts(blocks []*hcl.Block) {
	l.hostGroups = map[string]bool{}
	declared := map[string]hcl.Range{}
	for _, b := range blocks {
		name := b.Labels[0]
		if !hclsyntax.ValidIdentifier(name) {
			l.add(errorAt(b.LabelRanges[0], "Invalid host name",
				fmt.Sprintf("%q is not a valid name: a name starts with a letter or underscore and has only letters, digits, underscores and dashes.", name)))
			continue
		}
		if prev, dup := declared[name]; dup {
			l.add(errorAt(b.LabelRanges[0], "Duplicate host",
				fmt.Sprintf("A host named %q was already declared at %s. Host names must be unique.", name, prev)))
			continue
		}
		declared[name] = b.DefRange
		l.hostGroups[name] = true
		l.decodeHost(b)
	}
	if len(blocks) == 0 {
		l.cfg.Hosts = []*Host{{
			Name:       ImplicitHostName,
			Group:      ImplicitHostName,
			Port:       DefaultPort,
			Scope:      ScopeSystem,
			FencerPath: DefaultFencerPath,
			Implicit:   true,
		}}
		l.hostGroups[ImplicitHostName] = true
	}
}

func (l *loader) decodeHost(b *hcl.Block) {
	name := b.Labels[0]
	content, diags := b.Body.Content(hostSchema)
	l.addAll(diags)
	if diags.HasErrors() {
		return
	}
	forEach, ok := content.Attributes["for_each"]
	if !ok {
		l.decodeHostInstance(b, content, name, nil)
		return
	}
	val, ok := l.eval(forEach.Expr, l.evalCtx(nil))
	if !ok {
		return
	}
	keys, each, ok := l.forEachInstances(val, forEach.Expr.Range())
	if !ok {
		return
	}
	for i, key := range keys {
		l.decodeHostInstance(b, content, fmt.Sprintf("%s[%q]", name, key), &each[i])
	}
}

// forEachInstances reads a for_each value, a set of strings or a map, into
// its keys (sorted) and the each object of every instance.
func (l *loader) forEachInstances(val cty.Value, rng hcl.Range) ([]string, []cty.Value, bool) {
	bad := func(why string) ([]string, []cty.Value, bool) {
		l.add(errorAt(rng, "Invalid for_each argument",
			fmt.Sprintf("for_each takes a map or a set of strings (toset([...])), and %s.", why)))
		return nil, nil, false
	}
	if val.IsNull() {
		return bad("this value is null")
	}
	ty := val.Type()
	type inst struct {
		key string
		val cty.Value
	}
	var insts []inst
	switch {
	case ty.IsSetType():
		set, err := convert.Convert(val, cty.Set(cty.String))
		if err != nil {
			return bad(fmt.Sprintf("this set holds %s values", ty.ElementType().FriendlyName()))
		}
		for it := set.ElementIterator(); it.Next(); {
			_, v := it.Element()
			if v.IsNull() {
				return bad("this set holds null")
			}
			insts = append(insts, inst{v.AsString(), v})
		}
	case ty.IsMapType() || ty.IsObjectType():
		for it := val.ElementIterator(); it.Next(); {
			k, v := it.Element()
			insts = append(insts, inst{k.AsString(), v})
		}
	case ty.IsListType() || ty.IsTupleType():
		return bad(fmt.Sprintf("this is a %s: write toset(...) around it", ty.FriendlyName()))
	default:
		return bad(fmt.Sprintf("this is a %s", ty.FriendlyName()))
	}
	sort.Slice(insts, func(i, j int) bool { return insts[i].key < insts[j].key })
	keys := make([]string, len(insts))
	each := make([]cty.Value, len(insts))
	for i, in := range insts {
		keys[i] = in.key
		each[i] = cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(in.key), "value": in.val})
	}
	return keys, each, true
}

// decodeHostInstance decodes one instance of a host block.
func (l *loader) decodeHostInstance(b *hcl.Block, content *hcl.BodyContent, name string, each *cty.Value) {
	h := &Host{
		Name:       name,
		Group:      b.Labels[0],
		Port:       DefaultPort,
		Scope:      ScopeSystem,
		FencerPath: DefaultFencerPath,
		DeclRange:  b.DefRange,

		ConnectTimeout: DefaultConnectTimeout,
	}
	ctx := l.evalCtx(each)
	str := func(attr string, dst *string) *hcl.Attribute {
		a, ok := content.Attributes[attr]
		if !ok {
			return nil
		}
		if s, ok := l.evalOptString(a.Expr, ctx, attr); ok && s != nil {
			*dst = *s
			return a
		}
		return nil
	}
	if a := str("address", &h.Address); a != nil {
		h.AddressRange = a.Expr.Range()
		if p := AddressProblem(h.Address); p != "" {
			l.add(errorAt(a.Expr.Range(), "Invalid address", p))
		}
	}
	str("user", &h.User)
	l.decodeSSH(h, str)
	if a, ok := content.Attributes["port"]; ok {
		if v, ok := l.evalAs(a.Expr, ctx, cty.Number, "port", true); ok && !v.IsNull() {
			n, err := wholeNumber(v, 1, 65535)
			if err != nil {
				l.add(errorAt(a.Expr.Range(), "Invalid port",
					fmt.Sprintf("The port is %s; a port is a whole number from 1 to 65535.", v.AsBigFloat().Text('g', -1))))
			} else {
				h.Port = int(n)
			}
		}
	}
	if a := str("arch", &h.Arch); a != nil {
		h.Arch = l.canonicalArch(h.Arch, a.Expr.Range())
	}
	if a := str("scope", &h.Scope); a != nil && h.Scope != ScopeSystem && h.Scope != ScopeUser {
		l.add(errorAt(a.Expr.Range(), "Invalid scope",
			fmt.Sprintf("scope is %q (the system's service manager, the default) or %q (the user's), not %q.%s",
				ScopeSystem, ScopeUser, h.Scope, spelling.DidYouMean(h.Scope, []string{ScopeSystem, ScopeUser}))))
	}
	if a := str("fencer_path", &h.FencerPath); a != nil {
		if p := fencerPathProblem(h.FencerPath); p != "" {
			l.add(errorAt(a.Expr.Range(), "Invalid fencer_path", p))
		}
	}
	l.cfg.Hosts = append(l.cfg.Hosts, h)
}

// canonicalArch returns fencer's name for an architecture spelling, or
// reports it and returns "".
func (l *loader) canonicalArch(name string, rng hcl.Range) string {
	if a, ok := arch.Lookup(name); ok {
		return a.Name
	}
	if a, ok := arch.Lookup(strings.ToLower(name)); ok {
		l.add(errorAt(rng, "Unknown architecture",
			fmt.Sprintf("Architecture names are lower case. Did you mean %q?", a.Name)))
		return ""
	}
	l.add(errorAt(rng, "Unknown architecture",
		fmt.Sprintf("%q is not an architecture fencer knows; the architectures are %s.%s",
			name, quotedList(arch.Names()), spelling.DidYouMean(name, append(arch.Names(), "amd64", "arm64")))))
	return ""
}

// readArchList reads a rule's or test's arch list into canonical names.
func (l *loader) readArchList(attr *hcl.Attribute, ctx *hcl.EvalContext) []string {
	items, ok := l.evalStringList(attr.Expr, ctx, "arch")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		l.add(errorAt(attr.Expr.Range(), "Empty arch list",
			"An empty arch list matches no architecture; remove the attribute to match every architecture."))
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, it := range items {
		if n := l.canonicalArch(it.S, it.Rng); n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// Bounds of connect_timeout (also of a saved plan's).
const (
	MinConnectTimeout = time.Second
	MaxConnectTimeout = 5 * time.Minute
)

// decodeSSH reads the attributes of how fencer reaches a host over SSH,
// with str, which evaluates a string attribute into dst and returns it
// (nil when absent or invalid).
func (l *loader) decodeSSH(h *Host, str func(attr string, dst *string) *hcl.Attribute) {
	for _, attr := range []struct {
		name string
		dst  *string
	}{{"identity_file", &h.IdentityFile}, {"known_hosts_file", &h.KnownHostsFile}} {
		if a := str(attr.name, attr.dst); a != nil && !filepath.IsAbs(*attr.dst) && !strings.HasPrefix(*attr.dst, "~/") {
			l.add(errorAt(a.Expr.Range(), "Invalid "+attr.name,
				fmt.Sprintf("%s is %q; it must be an absolute path, or start with \"~/\" for the home directory of the user running fencer.", attr.name, *attr.dst)))
		}
	}
	if a := str("bastion", &h.Bastion); a != nil {
		if _, _, _, err := ParseBastion(h.Bastion); err != nil {
			l.add(errorAt(a.Expr.Range(), "Invalid bastion", err.Error()+"."))
		}
	}
	if a := str("become", &h.Become); a != nil && h.Become != BecomeSudo && h.Become != "" {
		l.add(errorAt(a.Expr.Range(), "Invalid become",
			fmt.Sprintf("become is %q (run fencer's agent on the host with sudo -n) or absent, not %q.", BecomeSudo, h.Become)))
	}
	var timeout string
	if a := str("connect_timeout", &timeout); a != nil {
		d, err := time.ParseDuration(timeout)
		switch {
		case err != nil:
			l.add(errorAt(a.Expr.Range(), "Invalid connect_timeout",
				fmt.Sprintf("connect_timeout is a duration such as \"10s\" or \"1m30s\", not %q.", timeout)))
		case d < MinConnectTimeout || d > MaxConnectTimeout:
			l.add(errorAt(a.Expr.Range(), "Invalid connect_timeout",
				fmt.Sprintf("connect_timeout is %s; it must be from %s to %s.", d, MinConnectTimeout, MaxConnectTimeout)))
		default:
			h.ConnectTimeout = d
		}
	}
}

// AddressProblem says what is wrong with a host's address, "" when
// nothing: it is a host name or an IP address, without a user, a port or
// brackets (those have attributes of their own).
func AddressProblem(addr string) string {
	switch {
	case addr == "":
		return "The address is empty; remove it for this machine."
	case strings.HasPrefix(addr, "["):
		return fmt.Sprintf("The address is %q; write an IPv6 address without brackets (%q), and the port in port.", addr, strings.Trim(addr, "[]"))
	case strings.Contains(addr, "@"):
		return fmt.Sprintf("The address is %q; the user who logs in goes in user, not in the address.", addr)
	case strings.ContainsAny(addr, " \t\n/\\'\"$`;|&<>()[]{}*?!#") || strings.ContainsFunc(addr, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Sprintf("The address is %q; a host name or an IP address has no spaces, slashes, quotes or other punctuation.", addr)
	case strings.Contains(addr, ":") && !validIP(addr):
		return fmt.Sprintf("The address is %q; the port goes in port, not in the address.", addr)
	}
	return ""
}

// ParseBastion reads a bastion, "[user@]host[:port]" (an IPv6 address in
// brackets: "[::1]:22"): user is "" and port 0 when not given.
func ParseBastion(s string) (user, hostname string, port int, err error) {
	bad := func(why string) (string, string, int, error) {
		return "", "", 0, fmt.Errorf("bastion is %q: %s; write it as \"[user@]host[:port]\", such as \"admin@jump.example.net:2222\"", s, why)
	}
	rest := s
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		user, rest = rest[:i], rest[i+1:]
		if user == "" {
			return bad("the user before @ is empty")
		}
	}
	if strings.ContainsAny(s, " \t\n/") {
		return bad("it has a space or a slash")
	}
	hostname = rest
	if h, p, err := net.SplitHostPort(rest); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad(fmt.Sprintf("the port %q is not a whole number from 1 to 65535", p))
		}
		hostname, port = h, n
	} else if strings.Contains(strings.Trim(rest, "[]"), ":") && !strings.HasPrefix(rest, "[") || strings.HasSuffix(rest, ":") {
		return bad("an IPv6 address goes in brackets, and a port after a colon")
	}
	hostname = strings.TrimSuffix(strings.TrimPrefix(hostname, "["), "]")
	if hostname == "" {
		return bad("the host is empty")
	}
	return user, hostname, port, nil
}

// validIP reports whether s is an IP address (an IPv6 one with its zone).
func validIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}
