package host

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fencer-dev/fencer/internal/unitfile"
	"github.com/fencer-dev/fencer/internal/usermanager"
)

// userHost starts a user manager and returns the local host in user scope
// as fencer sees it with the manager's environment.
func userHost(t *testing.T) (*usermanager.Manager, *LocalHost) {
	t.Helper()
	um := usermanager.Start(t)
	t.Logf("user manager running after %s", um.Startup)
	h, err := LocalEnv("local", ScopeUser, um.Env)
	if err != nil {
		t.Fatal(err)
	}
	return um, h
}

func TestUserManagerFacts(t *testing.T) {
	um, h := userHost(t)
	ctx := context.Background()
	f, err := h.Facts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	unitDir := um.Home + "/.config/systemd/user"
	a, _ := machineArch()
	if !f.Live || f.Scope != "user" || f.Root != "" || f.Arch != a || f.Paths.UnitDir != unitDir || f.Paths.FilterDir != um.Home+"/.config/fencer/filters" {
		t.Errorf("facts %+v", f)
	}
	if f.SystemdVersion < 230 {
		t.Errorf("SystemdVersion %d", f.SystemdVersion)
	}
	// systemd-analyze's search path is the one plan assumes by default.
	want := []string{um.Home + "/.config/systemd/user.control", um.RuntimeDir + "/systemd/user.control"}
	if len(f.UnitSearchPath) < 5 || !reflect.DeepEqual(f.UnitSearchPath[:2], want) || f.UnitSearchPath[4] != unitDir {
		t.Errorf("UnitSearchPath %q", f.UnitSearchPath)
	}
	if f.SystemdVersion == 252 {
		def := []string{
			um.Home + "/.config/systemd/user.control", um.RuntimeDir + "/systemd/user.control",
			um.RuntimeDir + "/systemd/transient", um.RuntimeDir + "/systemd/generator.early",
			unitDir, "/etc/xdg/systemd/user", "/etc/systemd/user",
			um.RuntimeDir + "/systemd/user", "/run/systemd/user", um.RuntimeDir + "/systemd/generator",
			um.Home + "/.local/share/systemd/user", "/usr/local/share/systemd/user", "/usr/share/systemd/user",
			"/usr/local/lib/systemd/user", "/usr/lib/systemd/user", um.RuntimeDir + "/systemd/generator.late",
		}
		if !reflect.DeepEqual(f.UnitSearchPath, def) {
			t.Errorf("UnitSearchPath\n got %q\nwant %q", f.UnitSearchPath, def)
		}
	}
	if got := h.LockPath(); got != um.RuntimeDir+"/fencer.lock" {
		t.Errorf("LockPath %s", got)
	}

	// Without the manager's runtime directory there is no manager.
	other, err := LocalEnv("local", ScopeUser, []string{"HOME=" + um.Home, "XDG_RUNTIME_DIR=" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if f, err := other.Facts(ctx); err != nil || f.Live {
		t.Errorf("facts without a manager: %+v %v", f, err)
	}
	if _, err := other.Systemctl(ctx, "daemon-reload"); !errors.Is(err, ErrNotLive) {
		t.Errorf("Systemctl without a manager: %v", err)
	}
	// There is no system manager here either.
	sys, err := Local("local", ScopeSystem)
	if err != nil {
		t.Fatal(err)
	}
	if f, err := sys.Facts(ctx); err != nil || f.Live || f.Paths.UnitDir != "/etc/systemd/system" || len(f.UnitSearchPath) == 0 {
		t.Errorf("system facts %+v %v", f, err)
	}
}

func TestUserManagerWriteReloadStart(t *testing.T) {
	um, h := userHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	unlock, err := h.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	dir := um.Home + "/.config/systemd/user"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(h.WriteFile(ctx, dir+"/hello.service", []byte("[Service]\nExecStart=/bin/sleep 300\n"), 0o644))
	must(h.WriteFile(ctx, dir+"/hello.service.d/zz-fencer.conf", []byte("[Service]\nEnvironment=FENCER=yes\n"), 0o644))
	if err := h.Verify(ctx, "hello.service"); err != nil {
		t.Errorf("Verify: %v", err)
	}
	_, err = h.Systemctl(ctx, "daemon-reload")
	must(err)
	_, err = h.Systemctl(ctx, "start", "hello.service")
	must(err)
	out, err := h.Systemctl(ctx, "show", "-p", "ActiveState,SubState,Environment,DropInPaths,FragmentPath", "hello.service")
	must(err)
	for _, want := range []string{"ActiveState=active", "SubState=running", "Environment=FENCER=yes", "DropInPaths=" + dir + "/hello.service.d/zz-fencer.conf", "FragmentPath=" + dir + "/hello.service"} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("systemctl show lacks %q:\n%s", want, out)
		}
	}
	// is-active exits non-zero for an inactive unit and still says so.
	out, err = h.Systemctl(ctx, "is-active", "nonexistent.service")
	if err == nil || strings.TrimSpace(string(out)) != "inactive" {
		t.Errorf("is-active: %q %v", out, err)
	}

	// A broken drop-in fails Verify with systemd-analyze's words.
	must(h.WriteFile(ctx, dir+"/hello.service.d/zz-fencer.conf", []byte("[Service]\nSystemCallFilter=@system-service\nNoSuchKey=1\n"), 0o644))
	err = h.Verify(ctx, "hello.service")
	if err == nil || !strings.Contains(err.Error(), "Unknown key 'NoSuchKey'") || !strings.Contains(err.Error(), "zz-fencer.conf") {
		t.Errorf("Verify of a broken drop-in: %v", err)
	}
	must(h.Remove(ctx, dir+"/hello.service.d/zz-fencer.conf"))
	_, err = h.Systemctl(ctx, "daemon-reload")
	must(err)
	if v, err := um.Show("hello.service", "DropInPaths"); err != nil || v != "" {
		t.Errorf("DropInPaths after Remove: %q %v", v, err)
	}
	_, err = h.Systemctl(ctx, "stop", "hello.service")
	must(err)
	if v, _ := um.Show("hello.service", "ActiveState"); v != "inactive" {
		t.Errorf("ActiveState after stop: %s", v)
	}
}

// TestSplitAndWrapAgreeWithSystemd runs commands through a real systemd
// 252 and compares the argv each program receives with what Split says,
// then does the same for the commands wrapped by Wrap: the loader (here the
// test binary, which records its argv) must see its own arguments, "--"
// and exactly the original argv.
func TestSplitAndWrapAgreeWithSystemd(t *testing.T) {
	um, h := userHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(exe, " \"'\\%$") {
		t.Skipf("test binary path %q needs quoting", exe)
	}
	lines := []string{
		exe + ` a "b c" 'd e' f"g h"i`,
		exe + ` \x41\101 \n \s "\"q\"" '\'' "it's"`,
		exe + ` \d a\ b \x4 back\\slash`,
		exe + ` a \; b ; ` + exe + ` second "x ; y"`,
		`@` + exe + ` my-name x "y z"`,
		`@` + exe + ` "spaced name" ${HOST_CHILD}`,
		exe + ` $$HOME ${HOST_CHILD} "${HOST_CHILD}x" %% %n`,
		`:` + exe + ` $$HOME ${HOST_CHILD} $HOST_CHILD`,
		`-` + exe + ` ""  '' end`,
		exe + ` continued \` + "\n   line",
	}
	out := filepath.Join(t.TempDir(), "argv")
	unit := "[Service]\nType=oneshot\nEnvironment=HOST_CHILD=argv HOST_ARGV_OUT=" + out + "\n"
	for _, l := range lines {
		unit += "ExecStart=" + l + "\n"
	}
	dir := um.Home + "/.config/systemd/user"
	if err := h.WriteFile(ctx, dir+"/argv.service", []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	// Read the unit back the way plan does.
	lk, err := unitfile.NewLookup(source(ctx, h), []string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := lk.Unit("argv.service")
	if err != nil {
		t.Fatal(err)
	}
	cmds, typ, err := unitfile.ExecStart(u.Fragments)
	if err != nil || typ != "oneshot" {
		t.Fatalf("ExecStart: %v %s", err, typ)
	}
	expand := func(cmd unitfile.Command, s string) string {
		s = strings.NewReplacer("%%", "%", "%n", "argv.service").Replace(s)
		if !cmd.Has(":") {
			s = strings.NewReplacer("$$", "$", "${HOST_CHILD}", "argv", "$HOST_CHILD", "argv").Replace(s)
		}
		return s
	}
	// What each program should receive according to Split.
	var want [][]string
	for _, c := range cmds {
		argv := c.Argv
		if c.Has("@") {
			argv = argv[1:]
		}
		var e []string
		for _, a := range argv {
			e = append(e, expand(c, a))
		}
		want = append(want, e)
	}
	got := runOneshot(t, um, h, "argv.service", out)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("systemd passed\n%q\nSplit says\n%q", got, want)
	}

	// Now wrapped.
	largs := []string{"exec", "-filter=/etc/fencer/filters/a b.bpf", "100%", "$HOME", `"q"`, "", "%n"}
	wrapped := "[Service]\nType=oneshot\nEnvironment=HOST_CHILD=argv HOST_ARGV_OUT=" + out + "\n"
	want = nil
	for _, c := range cmds {
		w, err := unitfile.Wrap(c, exe, largs)
		if err != nil {
			t.Fatalf("Wrap(%s): %v", c, err)
		}
		wrapped += "ExecStart=" + w + "\n"
		e := append([]string{exe}, largs...)
		rest := c.Argv
		if c.Has("@") {
			e = append(e, "-argv0="+expand(c, c.Argv[1]))
			rest = append([]string{c.Argv[0]}, c.Argv[2:]...)
		}
		e = append(e, "--")
		for _, a := range rest {
			e = append(e, expand(c, a))
		}
		want = append(want, e)
	}
	if err := h.WriteFile(ctx, dir+"/argv.service", []byte(wrapped), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	got = runOneshot(t, um, h, "argv.service", out)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("wrapped unit:\n%s\nsystemd passed\n%q\nwant\n%q", wrapped, got, want)
	}
}

// runOneshot reloads, starts a oneshot unit (which waits for it) and
// returns the argv lines its commands recorded in out.
func runOneshot(t *testing.T, um *usermanager.Manager, h *LocalHost, unit, out string) [][]string {
	t.Helper()
	ctx := context.Background()
	if _, err := h.Systemctl(ctx, "daemon-reload"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Systemctl(ctx, "start", unit); err != nil {
		st, _ := um.Systemctl("status", unit)
		t.Fatalf("%v\n%s", err, st)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var argv []string
		if err := json.Unmarshal(sc.Bytes(), &argv); err != nil {
			t.Fatal(err)
		}
		got = append(got, argv)
	}
	return got
}

// source reads host h for a unitfile.Lookup.
func source(ctx context.Context, h *LocalHost) unitfile.Source {
	return unitfile.Source{
		ReadFile: func(p string) ([]byte, error) { b, _, err := h.ReadFile(ctx, p); return b, err },
		ReadDir:  func(p string) ([]string, error) { return h.ReadDir(ctx, p) },
		Links:    func(p string) (map[string]string, error) { return h.Links(ctx, p) },
	}
}

// TestFragmentsAgreeWithSystemd lays out units, templates, aliases and
// drop-ins across the user search path and checks that a Lookup finds the
// same unit ID, names, unit file and drop-ins, in the same order, as the
// manager (Id, Names, FragmentPath, DropInPaths, LoadState).
func TestFragmentsAgreeWithSystemd(t *testing.T) {
	um, h := userHost(t)
	ctx := context.Background()
	f, err := h.Facts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := um.Home + "/.config/systemd/user"
	ctl := um.Home + "/.config/systemd/user.control"
	run := um.RuntimeDir + "/systemd/user"
	data := um.Home + "/.local/share/systemd/user"
	files := map[string]string{
		data + "/frag-a-b.service":                     "[Service]\nExecStart=/bin/false lowest\n",
		run + "/frag-a-b.service":                      "[Service]\nExecStart=/bin/true\n",
		cfg + "/frag-a-b.service.d/10-a.conf":          "[Service]\nEnvironment=A=cfg\n",
		data + "/frag-a-b.service.d/10-a.conf":         "[Service]\nEnvironment=A=data\n",
		data + "/frag-a-b.service.d/40-d.conf":         "[Service]\nEnvironment=D=1\n",
		run + "/frag-a-.service.d/20-p.conf":           "[Service]\nEnvironment=P=1\n",
		ctl + "/frag-a-b.service.d/05-c.conf":          "[Service]\nEnvironment=C=1\n",
		cfg + "/service.d/30-t.conf":                   "[Service]\nEnvironment=T=1\n",
		data + "/service.d/10-a.conf":                  "[Service]\nEnvironment=A=type\n",
		cfg + "/frag-a-b.service.d/zz-fencer.conf":     "[Service]\nEnvironment=F=1\n",
		cfg + "/frag-a-b.service.d/.hidden.conf":       "[Service]\nEnvironment=H=1\n",
		cfg + "/frag-a-b.service.d/notes":              "not a drop-in",
		data + "/tm-pl@.service":                       "[Service]\nExecStart=/bin/true %i\n",
		data + "/tm-pl@.service.d/10-t.conf":           "[Service]\nEnvironment=T=1\n",
		cfg + "/tm-pl@x.service.d/20-i.conf":           "[Service]\nEnvironment=I=1\n",
		cfg + "/tm-@.service.d/30-pt.conf":             "[Service]\nEnvironment=PT=1\n",
		run + "/tm-@x.service.d/40-pi.conf":            "[Service]\nEnvironment=PI=1\n",
		cfg + "/tm-pl@y.service.d/50-other.conf":       "[Service]\nEnvironment=O=1\n",
		cfg + "/tm-.service.d/60-template-prefix.conf": "[Service]\nEnvironment=N=1\n",
		// Aliases (issue 7, item 4): their drop-ins count, after the
		// unit's own name's.
		data + "/sl.service":                      "[Service]\nExecStart=/bin/true\n",
		cfg + "/sl.service.d/10-x.conf":           "[Service]\nEnvironment=X=unit\n",
		ctl + "/slalias.service.d/10-x.conf":      "[Service]\nEnvironment=X=alias, masked by the unit's\n",
		cfg + "/slalias.service.d/zzz-local.conf": "[Service]\nExecStart=\nExecStart=/bin/true\n",
		run + "/sl-chain.service.d/20-chain.conf": "[Service]\nEnvironment=C=1\n",
		cfg + "/web-.service.d/30-prefix.conf":    "[Service]\nEnvironment=W=1\n",
		data + "/al-t@.service":                   "[Service]\nExecStart=/bin/true %i\n",
		cfg + "/al-talias@.service.d/ta.conf":     "[Service]\nEnvironment=TA=1\n",
		cfg + "/al-talias@x.service.d/tax.conf":   "[Service]\nEnvironment=TAX=1\n",
		cfg + "/other@y.service.d/oy.conf":        "[Service]\nEnvironment=OY=1\n",
		cfg + "/sub/c.service":                    "[Service]\nExecStart=/bin/true\n",
		um.Home + "/opt/linked.service":           "[Service]\nExecStart=/bin/true\n",
		cfg + "/bad-type.service.d/b.conf":        "[Service]\nEnvironment=B=1\n",
		data + "/shadowed.service":                "[Service]\nExecStart=/bin/true\n",
		data + "/shadowed.service.d/s.conf":       "[Service]\nEnvironment=S=1\n",
		data + "/self.service":                    "[Service]\nExecStart=/bin/true\n",
		cfg + "/self.service.d/s.conf":            "[Service]\nEnvironment=S=1\n",
		data + "/sock-svc.socket":                 "[Socket]\nListenStream=127.0.0.1:1\n",
		cfg + "/sock-alias.socket.d/more.conf":    "[Socket]\nBacklog=4\n",
	}
	for p, c := range files {
		if err := h.WriteFile(ctx, p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		cfg + "/slalias.service":     "sl.service",
		ctl + "/sl-chain.service":    "slalias.service",
		run + "/web-sl.service":      data + "/sl.service", // as enabling with Alias= makes it
		data + "/al-talias@.service": "al-t@.service",
		cfg + "/other@y.service":     data + "/al-t@.service",
		cfg + "/c2.service":          "sub/c.service",
		cfg + "/linked.service":      um.Home + "/opt/linked.service",
		ctl + "/bad-type.service":    data + "/sl.socket",
		cfg + "/bad-type.service":    "sl.service",
		ctl + "/shadowed.service":    "sl.service",
		cfg + "/self.service":        data + "/self.service",
		cfg + "/sock-alias.socket":   "sock-svc.socket",
	}
	for l, target := range links {
		if err := os.Symlink(target, l); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Systemctl(ctx, "daemon-reload"); err != nil {
		t.Fatal(err)
	}
	lk, err := unitfile.NewLookup(source(ctx, h), f.UnitSearchPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	units := []string{"frag-a-b.service", "tm-pl@x.service", "sl.service", "slalias.service", "sl-chain.service", "web-sl.service",
		"al-t@x.service", "al-talias@x.service", "al-t@y.service", "other@y.service", "c2.service", "linked.service",
		"bad-type.service", "shadowed.service", "self.service", "sock-svc.socket", "sock-alias.socket", "nothing-here.service"}
	for _, unit := range units {
		props, err := h.Systemctl(ctx, "show", "-p", "Id,Names,FragmentPath,DropInPaths,LoadState", "--", unit)
		if err != nil {
			t.Fatal(err)
		}
		show := map[string]string{}
		for _, l := range strings.Split(string(props), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				show[k] = v
			}
		}
		u, err := lk.Unit(unit)
		if show["LoadState"] != "loaded" {
			if !errors.Is(err, unitfile.ErrNotFound) || show["LoadState"] != "not-found" {
				t.Errorf("%s: %v; systemd says LoadState=%s", unit, err, show["LoadState"])
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", unit, err)
			continue
		}
		var dropins []string
		for _, x := range u.Fragments[1:] {
			dropins = append(dropins, x.Path)
		}
		names := strings.Fields(show["Names"])
		sort.Strings(names)
		if u.ID != show["Id"] || !reflect.DeepEqual(u.Names, names) || u.Fragments[0].Path != show["FragmentPath"] || !reflect.DeepEqual(dropins, strings.Fields(show["DropInPaths"])) {
			t.Errorf("%s: fencer finds\n  id %s names %q\n  unit file %s\n  drop-ins %q\nsystemd says\n  id %s names %q\n  unit file %s\n  drop-ins %q",
				unit, u.ID, u.Names, u.Fragments[0].Path, dropins, show["Id"], names, show["FragmentPath"], strings.Fields(show["DropInPaths"]))
		}
	}
	// Masking a unit with a link to /dev/null.
	if err := os.Symlink("/dev/null", cfg+"/frag-a-b.service"); err != nil {
		t.Fatal(err)
	}
	if lk, err = unitfile.NewLookup(source(ctx, h), f.UnitSearchPath, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := lk.Unit("frag-a-b.service"); !errors.Is(err, unitfile.ErrMasked) {
		t.Errorf("masked unit: %v", err)
	}
	if _, err := h.Systemctl(ctx, "daemon-reload"); err != nil {
		t.Fatal(err)
	}
	if v, _ := um.Show("frag-a-b.service", "LoadState"); v != "masked" {
		t.Errorf("systemd says LoadState=%s", v)
	}
}
