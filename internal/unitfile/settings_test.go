package unitfile

import "testing"

func TestBool(t *testing.T) {
	frags := []Fragment{
		{Path: "/u", Data: []byte("[Service]\nIgnoreSIGPIPE=no\n[Socket]\nIgnoreSIGPIPE=yes\n")},
		{Path: "/d1", Data: []byte("[Service]\nIgnoreSIGPIPE=\nIgnoreSIGPIPE=perhaps\n")},
	}
	if v, err := Bool(frags, "Service", "IgnoreSIGPIPE", true); err != nil || v {
		t.Errorf("Bool = %v, %v; want false (empty and invalid assignments are ignored)", v, err)
	}
	frags = append(frags, Fragment{Path: "/d2", Data: []byte("[Service]\nIgnoreSIGPIPE=ON\n")})
	if v, err := Bool(frags, "Service", "IgnoreSIGPIPE", false); err != nil || !v {
		t.Errorf("Bool = %v, %v; want true", v, err)
	}
	if v, _ := Bool(nil, "Service", "IgnoreSIGPIPE", true); !v {
		t.Error("no assignment: want the default")
	}
	as, err := Assignments(frags, "Service", "IgnoreSIGPIPE")
	if err != nil || len(as) != 4 || as[1].Value != "" || as[1].Path != "/d1" || as[1].Line != 2 {
		t.Errorf("Assignments = %+v, %v", as, err)
	}
	for in, want := range map[string]int{"1": 1, "yes": 1, "Y": 1, "true": 1, "t": 1, "on": 1, "0": 0, "NO": 0, "n": 0, "false": 0, "f": 0, "off": 0, "": -1, "2": -1, "yess": -1} {
		b, ok := ParseBool(in)
		got := -1
		if ok {
			got = map[bool]int{false: 0, true: 1}[b]
		}
		if got != want {
			t.Errorf("ParseBool(%q) = %v, %v", in, b, ok)
		}
	}
}
