package observe

import "testing"

func TestKey(t *testing.T) {
	for _, c := range []struct {
		call Call
		want string
	}{
		{Call{Name: "openat", Nr: 257}, "openat"},
		{Call{Nr: 999}, "nr 999"},
		{Call{Name: "socketcall", Nr: 102, Foreign: true}, "foreign socketcall"},
	} {
		if got := c.call.Key(); got != c.want {
			t.Errorf("%+v: Key() = %q, want %q", c.call, got, c.want)
		}
	}
}
