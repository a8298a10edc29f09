package unitfile

import (
	"reflect"
	"testing"
)

// The expectations are what systemd 252 made of each value (systemctl show
// of a unit with the setting, on this project's test machine).

func TestPathWords(t *testing.T) {
	for _, c := range []struct {
		value string
		want  []string
	}{
		{`/usr/local/bin/i\x65 "/usr/local/bin/i 2" -+/usr/i3 /usr/i5\:x`, []string{`/usr/local/bin/ix65`, `/usr/local/bin/i 2`, `-+/usr/i3`, `/usr/i5:x`}},
		{`/usr/loc\al`, []string{`/usr/local`}},
		{`/usr/i1 "/usr/i2`, []string{`/usr/i1`}},
		{`/usr/t"2 x"y '/usr/t3`, []string{`/usr/t2 xy`}},
		{`  /a   /b  `, []string{`/a`, `/b`}},
		{``, nil},
	} {
		if got := PathWords(c.value); !reflect.DeepEqual(got, c.want) {
			t.Errorf("PathWords(%q) = %q, want %q", c.value, got, c.want)
		}
	}
}

func TestTemporaryPath(t *testing.T) {
	for _, c := range []struct {
		word, want string
		ok         bool
	}{
		{`/usr/t1:ro`, `/usr/t1`, true},
		{`/usr/t\x33`, `/usr/tx33`, true},
		{`:ro`, ``, false},
	} {
		if got, ok := TemporaryPath(c.word); got != c.want || ok != c.ok {
			t.Errorf("TemporaryPath(%q) = %q %v, want %q %v", c.word, got, ok, c.want, c.ok)
		}
	}
}

func TestBindPaths(t *testing.T) {
	for _, c := range []struct {
		value string
		want  []BindPath
	}{
		{`/a\:b:/usr/local/bin/fencer`, []BindPath{{`/a:b`, `/usr/local/bin/fencer`}}},
		{`"/a b":/usr/local/bin/f1`, []BindPath{{`/a b`, `/usr/local/bin/f1`}}},
		{`/a:"/usr/local/bin/f2"`, []BindPath{{`/a`, `/usr/local/bin/f2`}}},
		{`-/a:/usr/local/bin/f3:norbind`, []BindPath{{`-/a`, `/usr/local/bin/f3`}}},
		{`/a:/usr/local/bin/f4:rbind /b`, []BindPath{{`/a`, `/usr/local/bin/f4`}, {`/b`, ``}}},
		{`/a:/usr/local/bin/f\x65ncer6`, []BindPath{{`/a`, `/usr/local/bin/fx65ncer6`}}},
		{`/a:/usr/local/bin/f\ ncer7`, []BindPath{{`/a`, `/usr/local/bin/f ncer7`}}},
		{`"/a:/usr/local/bin/f10"`, []BindPath{{`/a:/usr/local/bin/f10`, ``}}},
		{`/a:/usr/local/bin/f11:bogus`, nil},
		{`/a:/usr/b1 /a:"/usr/b2`, []BindPath{{`/a`, `/usr/b1`}}},
		{`/a":"/usr/b5`, []BindPath{{`/a:/usr/b5`, ``}}},
		{`/a :/usr/b6`, []BindPath{{`/a`, ``}, {`/usr/b6`, ``}}},
	} {
		if got := BindPaths(c.value); !reflect.DeepEqual(got, c.want) {
			t.Errorf("BindPaths(%q) = %q, want %q", c.value, got, c.want)
		}
	}
}

func TestMountImages(t *testing.T) {
	for _, c := range []struct {
		value string
		want  []string
	}{
		{`/img:/usr/local/m1 /img2:%h/m2:ro`, []string{`/usr/local/m1`, `%h/m2`}},
		{`/img:/usr/a\:b`, []string{`/usr/a:b`}},
		{`/img`, nil},
	} {
		if got := MountImages(c.value); !reflect.DeepEqual(got, c.want) {
			t.Errorf("MountImages(%q) = %q, want %q", c.value, got, c.want)
		}
	}
}
