package unitfile

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	type cmd struct {
		prefixes string
		argv     []string
		raw      string
	}
	tests := []struct {
		in   string
		want []cmd
	}{
		{"/bin/true", []cmd{{"", []string{"/bin/true"}, "/bin/true"}}},
		{"  /bin/echo   a  b  ", []cmd{{"", []string{"/bin/echo", "a", "b"}, "/bin/echo   a  b"}}},
		{`/bin/echo "a b" 'c d' e"f g"h`, []cmd{{"", []string{"/bin/echo", "a b", "c d", "ef gh"}, `/bin/echo "a b" 'c d' e"f g"h`}}},
		{`/bin/echo "it's" 'say "hi"'`, []cmd{{"", []string{"/bin/echo", "it's", `say "hi"`}, `/bin/echo "it's" 'say "hi"'`}}},
		{`/bin/echo \x41 \101 \n\t \u00e9 \U0001F600 \s \\ \" \'`, []cmd{{"", []string{"/bin/echo", "A", "A", "\n\t", "é", "😀", " ", `\`, `"`, `'`}, `/bin/echo \x41 \101 \n\t \u00e9 \U0001F600 \s \\ \" \'`}}},
		{`/bin/echo "\x41 \"q\""`, []cmd{{"", []string{"/bin/echo", `A "q"`}, `/bin/echo "\x41 \"q\""`}}},
		// Unknown escapes are kept verbatim (systemd warns); so is "\ ".
		{`/bin/echo \d a\ b \x4`, []cmd{{"", []string{"/bin/echo", `\d`, `a\ b`, `\x4`}, `/bin/echo \d a\ b \x4`}}},
		// NUL escapes are not accepted either.
		{`/bin/echo \x00`, []cmd{{"", []string{"/bin/echo", `\x00`}, `/bin/echo \x00`}}},
		// Specifiers and variables are left alone.
		{`/bin/echo %i %% $FOO ${BAR} $$`, []cmd{{"", []string{"/bin/echo", "%i", "%%", "$FOO", "${BAR}", "$$"}, `/bin/echo %i %% $FOO ${BAR} $$`}}},
		{"echo", []cmd{{"", []string{"echo"}, "echo"}}},
		{"%h/bin/server -x", []cmd{{"", []string{"%h/bin/server", "-x"}, "%h/bin/server -x"}}},
		// Semicolons.
		{`/bin/echo a ; /bin/echo "b c"`, []cmd{
			{"", []string{"/bin/echo", "a"}, "/bin/echo a"},
			{"", []string{"/bin/echo", "b c"}, `/bin/echo "b c"`},
		}},
		{`/bin/echo a \; b`, []cmd{{"", []string{"/bin/echo", "a", ";", "b"}, `/bin/echo a \; b`}}},
		{`/bin/echo a; b ";" c`, []cmd{{"", []string{"/bin/echo", "a;", "b", ";", "c"}, `/bin/echo a; b ";" c`}}},
		{`/bin/echo a ;`, []cmd{{"", []string{"/bin/echo", "a"}, "/bin/echo a"}}},
		{`; /bin/echo a`, []cmd{{"", []string{"/bin/echo", "a"}, "/bin/echo a"}}},
		{`/bin/echo / >/dev/null & \;`, []cmd{{"", []string{"/bin/echo", "/", ">/dev/null", "&", ";"}, `/bin/echo / >/dev/null & \;`}}},
		// Prefixes.
		{"-/bin/x", []cmd{{"-", []string{"/bin/x"}, "/bin/x"}}},
		{"@/bin/x name a", []cmd{{"@", []string{"/bin/x", "name", "a"}, "/bin/x name a"}}},
		{":/bin/x $A", []cmd{{":", []string{"/bin/x", "$A"}, "/bin/x $A"}}},
		{"+/bin/x", []cmd{{"+", []string{"/bin/x"}, "/bin/x"}}},
		{"!/bin/x", []cmd{{"!", []string{"/bin/x"}, "/bin/x"}}},
		{"!!/bin/x", []cmd{{"!!", []string{"/bin/x"}, "/bin/x"}}},
		{"-@:!!/bin/x n", []cmd{{"-@:!!", []string{"/bin/x", "n"}, "/bin/x n"}}},
		{":-@/bin/x n", []cmd{{":-@", []string{"/bin/x", "n"}, "/bin/x n"}}},
		{`-"/opt/my app/run" a`, []cmd{{"-", []string{"/opt/my app/run", "a"}, `"/opt/my app/run" a`}}},
		{`@/bin/sh my"name x" -c 'echo $0'`, []cmd{{"@", []string{"/bin/sh", "myname x", "-c", "echo $0"}, `/bin/sh my"name x" -c 'echo $0'`}}},
	}
	for _, tt := range tests {
		got, err := Split(tt.in)
		if err != nil {
			t.Errorf("Split(%q): %v", tt.in, err)
			continue
		}
		var g []cmd
		for _, c := range got {
			g = append(g, cmd{c.Prefixes, c.Argv, c.Raw})
		}
		if !reflect.DeepEqual(g, tt.want) {
			t.Errorf("Split(%q):\n got %q\nwant %q", tt.in, g, tt.want)
		}
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`/bin/echo "a`, "unbalanced quoting"},
		{`/bin/echo 'a\`, "unbalanced quoting"},
		{`-`, "empty executable"},
		{`@/bin/x`, "@ prefix needs the argv[0] word"},
		{`bin/x`, "neither an absolute path nor a plain file name"},
		{`./x`, "neither an absolute path nor a plain file name"},
		{`..`, "neither an absolute path nor a plain file name"},
		{`/bin/`, "names a directory"},
		{`"/bin/a\"b"`, "special characters"},
		{`"-/bin/x"`, "prefix \"-\" inside quotes"},
		{`+!/bin/x`, "neither an absolute path"}, // "!" after "+" is part of the name
	}
	for _, tt := range tests {
		_, err := Split(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Split(%q) error = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestSplitEmpty(t *testing.T) {
	for _, in := range []string{"", "   ", ";", " ; ; "} {
		got, err := Split(in)
		if err != nil || len(got) != 0 {
			t.Errorf("Split(%q) = %v, %v", in, got, err)
		}
	}
}

func TestQuote(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", `"`, `'`, `\`, ";", "a;b", "tab\there", "nl\nx", "%i", "100%", "$HOME", "${X}", "$$", "é ü", "\x7f", "-filter=/etc/fencer/filters/a b.bpf"} {
		for _, env := range []bool{true, false} {
			q := Quote(s, env)
			cmds, err := Split("/bin/x " + q)
			if err != nil {
				t.Errorf("Quote(%q, %v) = %s: %v", s, env, q, err)
				continue
			}
			// Split leaves specifiers and variables escaped; systemd
			// turns %% into % and (with env) $$ into $.
			want := strings.ReplaceAll(s, "%", "%%")
			if env {
				want = strings.ReplaceAll(want, "$", "$$")
			}
			if len(cmds) != 1 || len(cmds[0].Argv) != 2 || cmds[0].Argv[1] != want {
				t.Errorf("Quote(%q, %v) = %s, read back as %q", s, env, q, cmds)
			}
		}
	}
}

func TestWrap(t *testing.T) {
	const loader = "/usr/local/bin/fencer"
	largs := []string{"exec", "-filter=/etc/fencer/filters/x.service.bpf", "-sha256=abc"}
	tests := []struct {
		in   string
		want string
	}{
		{"/usr/bin/server -p 80", loader + " exec -filter=/etc/fencer/filters/x.service.bpf -sha256=abc -- /usr/bin/server -p 80"},
		{"-/usr/bin/server", "-" + loader + " exec -filter=/etc/fencer/filters/x.service.bpf -sha256=abc -- /usr/bin/server"},
		{":/usr/bin/server $X", ":" + loader + " exec -filter=/etc/fencer/filters/x.service.bpf -sha256=abc -- /usr/bin/server $X"},
		{":-/usr/bin/server", ":-" + loader + " exec -filter=/etc/fencer/filters/x.service.bpf -sha256=abc -- /usr/bin/server"},
		{"@/usr/bin/server srv -x", loader + " exec -filter=/etc/fencer/filters/x.service.bpf -sha256=abc -argv0=srv -- /usr/bin/server -x"},
		{`-@/usr/bin/server "my srv"  -x   'a b'`, "-" + loader + ` exec -filter=/etc/fencer/filters/x.service.bpf -sha256=abc "-argv0=my srv" -- /usr/bin/server -x   'a b'`},
		{`@/usr/bin/server %p-%i`, loader + " exec -filter=/etc/fencer/filters/x.service.bpf -sha256=abc -argv0=%p-%i -- /usr/bin/server"},
		{`@/usr/bin/server ${NAME}`, loader + " exec -filter=/etc/fencer/filters/x.service.bpf -sha256=abc -argv0=${NAME} -- /usr/bin/server"},
		{`server "a  b" \; %i $$`, loader + ` exec -filter=/etc/fencer/filters/x.service.bpf -sha256=abc -- server "a  b" \; %i $$`},
	}
	for _, tt := range tests {
		cmds, err := Split(tt.in)
		if err != nil || len(cmds) != 1 {
			t.Fatalf("Split(%q) = %v, %v", tt.in, cmds, err)
		}
		got, err := Wrap(cmds[0], loader, largs)
		if err != nil {
			t.Errorf("Wrap(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Wrap(%q):\n got %s\nwant %s", tt.in, got, tt.want)
		}
		checkRoundTrip(t, cmds[0], got, loader, largs)
	}
}

// checkRoundTrip checks that the wrapped line reads back as the loader,
// its arguments, "--" and the original command's argv.
func checkRoundTrip(t *testing.T, orig Command, wrapped, loader string, largs []string) {
	t.Helper()
	back, err := Split(wrapped)
	if err != nil || len(back) != 1 {
		t.Errorf("Split(Wrap(%s)) = %v, %v", orig, back, err)
		return
	}
	b := back[0]
	wantPrefixes := strings.ReplaceAll(orig.Prefixes, "@", "")
	if b.Prefixes != wantPrefixes {
		t.Errorf("Split(Wrap(%s)): prefixes %q, want %q", orig, b.Prefixes, wantPrefixes)
	}
	want := append([]string{loader}, largs...)
	rest := orig.Argv
	if orig.Has("@") {
		want = append(want, "-argv0="+orig.Argv[1])
		rest = append([]string{orig.Argv[0]}, orig.Argv[2:]...)
	}
	want = append(want, "--")
	want = append(want, rest...)
	if !reflect.DeepEqual(b.Argv, want) {
		t.Errorf("Split(Wrap(%s)):\n got %q\nwant %q", orig, b.Argv, want)
	}
}

func TestWrapRefuses(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+/bin/x", "ExecStart=+/bin/x cannot be wrapped: ExecStart=+... runs without sandboxing, so a seccomp filter from fencer would not apply consistently; remove the prefix or set exec_start"},
		{"!/bin/x", "ExecStart=!... runs without sandboxing"},
		{"-!!/bin/x", "ExecStart=!!... runs without sandboxing"},
		{"@/bin/x $NAME", "argv[0] $NAME is split into words"},
		{"/opt/$X/bin", "would expand the $"},
	}
	for _, tt := range tests {
		cmds, err := Split(tt.in)
		if err != nil {
			t.Fatalf("Split(%q): %v", tt.in, err)
		}
		_, err = Wrap(cmds[0], "/usr/bin/fencer", nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Wrap(%q) error = %v, want %q", tt.in, err, tt.want)
		}
	}
	// With ":" nothing is expanded, so both are fine.
	for _, in := range []string{":@/bin/x $NAME", ":/opt/$X/bin"} {
		cmds, _ := Split(in)
		if _, err := Wrap(cmds[0], "/usr/bin/fencer", nil); err != nil {
			t.Errorf("Wrap(%q): %v", in, err)
		}
	}
	cmds, _ := Split("/bin/x")
	if _, err := Wrap(cmds[0], "fencer", nil); err == nil {
		t.Error("Wrap with a relative loader succeeded")
	}
}

// TestWrapRoundTrips wraps many generated commands, including loader
// arguments that need quoting.
func TestWrapRoundTrips(t *testing.T) {
	words := []string{"a", `"b c"`, `'d "e"'`, `f\x20g`, `\;`, `%i`, `$$`, `${X}`, `h"i j"k`, `\d`, `""`}
	prefixes := []string{"", "-", "@", ":", "-@", "@:", ":-@"}
	largs := []string{"exec", "-filter=/etc/fencer/filters/my unit.bpf", `-x="q"`, "", "100%"}
	n := 0
	for _, p := range prefixes {
		for i := range words {
			for j := range words {
				line := p + "/usr/bin/prog " + words[i] + " " + words[j] + " tail"
				cmds, err := Split(line)
				if err != nil || len(cmds) != 1 {
					t.Fatalf("Split(%q) = %v, %v", line, cmds, err)
				}
				env := !cmds[0].Has(":")
				var quoted []string
				for _, a := range largs {
					// Split reads specifiers and $$ back unexpanded.
					a = strings.ReplaceAll(a, "%", "%%")
					if env {
						a = strings.ReplaceAll(a, "$", "$$")
					}
					quoted = append(quoted, a)
				}
				w, err := Wrap(cmds[0], "/usr/local/bin/fencer", largs)
				if err != nil {
					t.Fatalf("Wrap(%q): %v", line, err)
				}
				checkRoundTrip(t, cmds[0], w, "/usr/local/bin/fencer", quoted)
				n++
			}
		}
	}
	t.Logf("%d round trips", n)
}

func TestWrapContinuationLines(t *testing.T) {
	f, err := Parse("u", []byte("[Service]\nExecStart=/usr/bin/server \\\n   --flag \\\n   \"a b\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	cmds, _, err := ExecStart([]Fragment{{Path: "u", Data: []byte("[Service]\nExecStart=" + f.Entries[0].Value + "\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/usr/bin/server", "--flag", "a b"}; !reflect.DeepEqual(cmds[0].Argv, want) {
		t.Fatalf("argv %q, want %q", cmds[0].Argv, want)
	}
	w, err := Wrap(cmds[0], "/usr/bin/fencer", []string{"exec"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(w, "\n") {
		t.Errorf("wrapped line has a newline: %q", w)
	}
	checkRoundTrip(t, cmds[0], w, "/usr/bin/fencer", []string{"exec"})
}
