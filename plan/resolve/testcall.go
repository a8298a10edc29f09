package resolve

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/policy"
)

// Call is a test block's syscall resolved for one architecture.
type Call struct {
	Nr   uint32
	Args [6]uint64
	// Want is the action the test expects.
	Want policy.Action
}

// TestCall resolves test t for the architecture c is compiled for, as a
// rule is resolved: the syscall, the arguments and the expected action
// must exist there.
func TestCall(t *hclspec.Test, c *Compiled) (Call, hcl.Diagnostics) {
	r := resolver{svc: c.Service, arch: c.Arch}
	var out Call
	nr, ok := r.syscall(t.Syscall, t.Arch)
	if !ok {
		return out, r.diags
	}
	out.Nr = uint32(nr)
	for i, v := range t.Args {
		if i >= len(out.Args) {
			break
		}
		// The width of an argument may depend on the lower ones (keyctl's
		// arg1 on the option in arg0), which are resolved already.
		w := c.Arch.ArgWidthIn(t.Syscall.Name, i, &out.Args).Bits
		if x, ok := r.value(v, w); ok {
			out.Args[i] = x
		}
	}
	out.Want = r.action(t.Expect)
	return out, r.diags
}
