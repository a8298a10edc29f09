package hclspec

import (
	"fmt"
	"testing"

	"github.com/fencer-dev/fencer/internal/policy"
)

// whenOf parses a service with fds a (stdout) and s (socket) and one rule
// with the given condition.
func whenOf(t *testing.T, when string) Cond {
	t.Helper()
	src := fmt.Sprintf(`
service "m" {
  unit = "m.service"
  fd "a" { stdout = "journal" }
  fd "s" { listen_stream = "7999" }
  rule "r" {
    syscalls = ["read"]
    when     = %s
  }
}
`, when)
	cfg := mustParse(t, map[string][]byte{"main.fencer.hcl": []byte(src)}, LoadOptions{})
	return cfg.Services[0].Rules[0].When
}

func TestWhenNormalized(t *testing.T) {
	cases := []struct{ when, want string }{
		{"arg0 == 1", "arg0 == 1"},
		{"2 == arg0", "arg0 == 2"},
		{"5 > arg1", "arg1 < 5"},
		{"5 >= arg1", "arg1 <= 5"},
		{"5 < arg1", "arg1 > 5"},
		{"5 <= arg1", "arg1 >= 5"},
		{"1 != arg5", "arg5 != 1"},
		{"arg0 == -1", "arg0 == -1"},
		{"arg0 == -(1)", "arg0 == -1"},
		{"arg0 == 18446744073709551615", "arg0 == 18446744073709551615"},
		{"arg0 == 1e3", "arg0 == 1000"},
		{`arg2 == parseint("80800", 16)`, "arg2 == 526336"},
		{`arg2 == parseint("755", 8)`, "arg2 == 493"},
		{"(arg0 == 1 && arg1 == 2) && (arg2 == 3 && arg3 == 4)", "arg0 == 1 && arg1 == 2 && arg2 == 3 && arg3 == 4"},
		{"arg0 == 1 || (arg1 == 2 || arg2 == 3)", "arg0 == 1 || arg1 == 2 || arg2 == 3"},
		{"arg0 == 1 && (arg1 == 2 || arg2 == 3)", "arg0 == 1 && (arg1 == 2 || arg2 == 3)"},
		{"!(arg0 == 1)", "!(arg0 == 1)"},
		{"!!true", "!!true"},
		{"false", "false"},
		{"masked(arg1, 3) == 2", "masked(arg1, 3) == 2"},
		{"2 == masked(arg1, O_ACCMODE)", "masked(arg1, O_ACCMODE) == 2"},
		{"has_bits(arg2, PROT_EXEC)", "has_bits(arg2, PROT_EXEC)"},
		{"contains([1, fd.a, fd.s, SOCK_CLOEXEC], arg0)", "contains([1, fd.a, fd.s, SOCK_CLOEXEC], arg0)"},
		{"contains([1, 2], masked(arg0, 255))", "contains([1, 2], masked(arg0, 255))"},
		{"arg3 == bitor(SOCK_CLOEXEC, SOCK_NONBLOCK, 1)", "arg3 == bitor(SOCK_CLOEXEC, SOCK_NONBLOCK, 1)"},
		{"arg0 == fd.s", "arg0 == fd.s"},
	}
	for _, c := range cases {
		if got := FormatCond(whenOf(t, c.when)); got != c.want {
			t.Errorf("when = %s\n got %s\nwant %s", c.when, got, c.want)
		}
	}
}

func TestWhenFlippedCompare(t *testing.T) {
	c, ok := whenOf(t, "5 > arg1").(Compare)
	if !ok {
		t.Fatalf("not a Compare")
	}
	if c.Arg != 1 || c.Op != policy.LT || c.Mask != nil {
		t.Errorf("compare = %+v", c)
	}
	if n, ok := c.V.(Number); !ok || n.Abs != 5 || n.Neg {
		t.Errorf("value = %#v", c.V)
	}
	neg := whenOf(t, "arg0 != -1").(Compare)
	if n := neg.V.(Number); !n.Neg || n.Abs != 1 {
		t.Errorf("-1 = %#v", n)
	}
}
