package unittext

import (
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/configtest"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// TestParseHeader checks that ParseHeader reads the header of the files
// fencer writes (package plan's TestHeaderNamesTheConfiguration), the
// header from before configuration ids, and nothing else.
func TestParseHeader(t *testing.T) {
	old := "# Managed by fencer for service \"m\"; content sha256:" + strings.Repeat("0", 64) + ".\n# Do not edit\n"
	if h, ok := ParseHeader([]byte(old)); !ok || h.Service != "m" || h.Config != "" || !OwnedBy([]byte(old), "any") {
		t.Errorf("the header without an id: %+v %v", h, ok)
	}
	for _, bad := range []string{
		"[Service]\n",
		"# Managed by fencer by hand\n",
		"# Managed by fencer for service \"m\"; content sha256:12.\n",
		"# Managed by fencer for service \"m\" (m.service) of configuration \"a b\"; content sha256:" + strings.Repeat("0", 64) + ".\n",
		"# Managed by fencer for service \"m\" (../x) of configuration \"c\"; content sha256:" + strings.Repeat("0", 64) + ".\n",
		" # Managed by fencer for service \"m\"; content sha256:" + strings.Repeat("0", 64) + ".\n",
	} {
		if _, ok := ParseHeader([]byte(bad)); ok || OwnedBy([]byte(bad), "c") {
			t.Errorf("%q read as fencer's header", bad)
		}
	}
}

// TestExecOnceSystemdNames: systemd's SystemCallFilter= passes execve to
// the gate even when no rule and no loader list names it: otherwise
// systemd's verdict would replace the policy's, and the loader could not
// exec the service.
func TestExecOnceSystemdNames(t *testing.T) {
	compiled, diags := resolve.CompileAll(configtest.Parse(t, configtest.ExecService("", "")), nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, c := range compiled {
		names, _, _ := SystemdNames(c.Filter, c.Arch, nil, func(string) bool { return true })
		if strings.Join(names, " ") != "execve write" {
			t.Errorf("%s: SystemCallFilter=%s, want execve write", c.Arch.Name, strings.Join(names, " "))
		}
	}
}
