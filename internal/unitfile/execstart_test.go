package unitfile

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestExecStart(t *testing.T) {
	tests := []struct {
		name  string
		frags []string
		argv  [][]string
		typ   string
		err   string
	}{
		{
			name:  "single",
			frags: []string{"[Service]\nExecStart=/bin/a x\n"},
			argv:  [][]string{{"/bin/a", "x"}},
			typ:   "simple",
		},
		{
			name:  "drop-in resets and replaces",
			frags: []string{"[Service]\nExecStart=/bin/a\n", "[Service]\nExecStart=\nExecStart=/bin/b\n"},
			argv:  [][]string{{"/bin/b"}},
			typ:   "simple",
		},
		{
			name:  "drop-in without reset appends, which only oneshot allows",
			frags: []string{"[Service]\nExecStart=/bin/a\n", "[Service]\nExecStart=/bin/b\n"},
			err:   "service has 2 ExecStart= commands (u:2 and d1:2), which systemd allows only for Type=oneshot, not Type=simple",
		},
		{
			name:  "oneshot may have several",
			frags: []string{"[Service]\nType=oneshot\nExecStart=/bin/a\nExecStart=/bin/b ; /bin/c\n"},
			argv:  [][]string{{"/bin/a"}, {"/bin/b"}, {"/bin/c"}},
			typ:   "oneshot",
		},
		{
			name:  "oneshot may have none",
			frags: []string{"[Service]\nType=oneshot\n"},
			typ:   "oneshot",
		},
		{
			name:  "no type and no ExecStart is oneshot",
			frags: []string{"[Unit]\nDescription=x\n"},
			typ:   "oneshot",
		},
		{
			name:  "no ExecStart with a type",
			frags: []string{"[Service]\nType=notify\nExecStart=/bin/a\n", "[Service]\nExecStart=\n"},
			err:   "service has no ExecStart= (Type=notify)",
		},
		{
			name:  "BusName makes it dbus",
			frags: []string{"[Service]\nBusName=org.example\nExecStart=/bin/a\n"},
			argv:  [][]string{{"/bin/a"}},
			typ:   "dbus",
		},
		{
			name:  "type from a drop-in, reset, invalid ignored",
			frags: []string{"[Service]\nType=forking\nExecStart=/bin/a\n", "[Service]\nType=\nType=bogus\n"},
			argv:  [][]string{{"/bin/a"}},
			typ:   "simple",
		},
		{
			name:  "other sections ignored",
			frags: []string{"[Unit]\nExecStart=/bin/x\n[Service]\nExecStart=/bin/a\n[Install]\nExecStart=/bin/y\n"},
			argv:  [][]string{{"/bin/a"}},
			typ:   "simple",
		},
		{
			name:  "bad command line",
			frags: []string{"[Service]\nExecStart=/bin/a\n", "[Service]\nExecStart=\nExecStart=bin/a\n"},
			err:   "d1:3: ExecStart=: executable \"bin/a\" is neither",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var frags []Fragment
			for i, f := range tt.frags {
				p := "u"
				if i > 0 {
					p = "d" + string(rune('0'+i))
				}
				frags = append(frags, Fragment{Path: p, Data: []byte(f)})
			}
			cmds, typ, err := ExecStart(frags)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var argv [][]string
			for _, c := range cmds {
				argv = append(argv, c.Argv)
			}
			if !reflect.DeepEqual(argv, tt.argv) || typ != tt.typ {
				t.Errorf("got %q %s, want %q %s", argv, typ, tt.argv, tt.typ)
			}
		})
	}
}

func TestExecStartRecordsWhere(t *testing.T) {
	cmds, _, err := ExecStart([]Fragment{
		{Path: "/lib/systemd/system/a.service", Data: []byte("[Service]\nExecStart=/bin/a\n")},
		{Path: "/etc/systemd/system/a.service.d/x.conf", Data: []byte("[Service]\n\nExecStart=\nExecStart=/bin/b \\\n  c\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := cmds[0]; c.Path != "/etc/systemd/system/a.service.d/x.conf" || c.Line != 4 || c.Raw != "/bin/b    c" {
		t.Errorf("command %+v", c)
	}
}

func TestCommands(t *testing.T) {
	frags := []Fragment{
		{Path: "/u", Data: []byte("[Service]\nExecStartPre=/bin/mkdir -p /x ; -/bin/true\nExecStartPre=+/bin/chown a /x\nExecReload=/bin/kill -HUP $MAINPID\n")},
		{Path: "/d", Data: []byte("[Service]\nExecReload=\nExecReload=/usr/bin/m reload\nExecStartPre=-/bin/sh -c 'unbalanced\n")},
	}
	var got []string
	for _, key := range []string{"ExecStartPre", "ExecReload", "ExecStop"} {
		cmds, err := Commands(frags, key)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cmds {
			got = append(got, fmt.Sprintf("%s %s:%d %s", key, c.Path, c.Line, c))
		}
	}
	want := []string{
		"ExecStartPre /u:2 /bin/mkdir -p /x",
		"ExecStartPre /u:2 -/bin/true",
		"ExecStartPre /u:3 +/bin/chown a /x",
		"ExecStartPre /d:4 -/bin/sh -c 'unbalanced",
		"ExecReload /d:3 /usr/bin/m reload",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
