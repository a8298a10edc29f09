package host

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

func newRoot(t *testing.T) (*RootHost, string) {
	t.Helper()
	dir := t.TempDir()
	h, err := Root("r", dir, "x86_64", ScopeSystem)
	if err != nil {
		t.Fatal(err)
	}
	return h, dir
}

func TestWriteFileRoot(t *testing.T) {
	ctx := context.Background()
	h, dir := newRoot(t)
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)

	p := "/etc/systemd/system/x.service.d/zz-fencer.conf"
	if err := h.WriteFile(ctx, p, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, p))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode() != 0o644 {
		t.Errorf("mode %v, want 0644 whatever the umask", st.Mode())
	}
	for _, d := range []string{"/etc", "/etc/systemd/system/x.service.d"} {
		st, err := os.Stat(filepath.Join(dir, d))
		if err != nil || st.Mode() != fs.ModeDir|0o755 {
			t.Errorf("%s: %v %v, want a 0755 directory", d, st.Mode(), err)
		}
	}
	data, mode, err := h.ReadFile(ctx, p)
	if err != nil || string(data) != "a\n" || mode != 0o644 {
		t.Errorf("ReadFile = %q %v %v", data, mode, err)
	}
	// Replace, with another mode.
	if err := h.WriteFile(ctx, p, []byte("b\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, mode, err = h.ReadFile(ctx, p)
	if err != nil || string(data) != "b\n" || mode != 0o755 {
		t.Errorf("ReadFile = %q %v %v", data, mode, err)
	}
	names, err := h.ReadDir(ctx, "/etc/systemd/system/x.service.d")
	if err != nil || !reflect.DeepEqual(names, []string{"zz-fencer.conf"}) {
		t.Errorf("ReadDir = %q %v (no temporary files may remain)", names, err)
	}
	if err := h.Remove(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := h.Remove(ctx, p); err != nil {
		t.Errorf("removing an absent file: %v", err)
	}
	if _, _, err := h.ReadFile(ctx, p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile after Remove: %v", err)
	}
	if _, err := h.ReadDir(ctx, "/nonexistent"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadDir of a missing directory: %v", err)
	}
}

func TestWriteFileRemovesStaleTemporaries(t *testing.T) {
	ctx := context.Background()
	h, dir := newRoot(t)
	d := filepath.Join(dir, "etc/systemd/system")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := []string{".fencer-tmp-a.service.0123456789abcdef", ".fencer-tmp-a.service.ffff"}
	other := ".fencer-tmp-b.service.0123" // another file's: left alone
	for _, n := range append(stale, other) {
		if err := os.WriteFile(filepath.Join(d, n), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.WriteFile(ctx, "/etc/systemd/system/a.service", []byte("[Service]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	names, _ := h.ReadDir(ctx, "/etc/systemd/system")
	if want := []string{other, "a.service"}; !reflect.DeepEqual(names, want) {
		t.Errorf("directory holds %q, want %q", names, want)
	}
}

func TestBadPaths(t *testing.T) {
	ctx := context.Background()
	h, _ := newRoot(t)
	for _, p := range []string{"", "etc/x", "/etc/../x", "/etc//x", "/etc/x/", "/", "/etc/./x"} {
		if err := h.WriteFile(ctx, p, nil, 0o644); err == nil || !strings.Contains(err.Error(), "not a clean absolute file path") {
			t.Errorf("WriteFile(%q): %v", p, err)
		}
		if _, _, err := h.ReadFile(ctx, p); err == nil {
			t.Errorf("ReadFile(%q) succeeded", p)
		}
	}
}

// TestSymlinkedDirectoryRefused: a drop-in directory that is a symbolic
// link (to anywhere) is refused for reading and writing, naming the link.
func TestSymlinkedDirectoryRefused(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{"root", "local"} {
		t.Run(kind, func(t *testing.T) {
			base := t.TempDir()
			var h Target
			var prefix string // host path of base
			if kind == "root" {
				r, err := Root("r", base, "", ScopeSystem)
				if err != nil {
					t.Fatal(err)
				}
				h = r
			} else {
				l, err := LocalEnv("l", ScopeUser, []string{"HOME=" + base})
				if err != nil {
					t.Fatal(err)
				}
				h, prefix = l, base
			}
			units := filepath.Join(base, "etc/systemd/system")
			elsewhere := filepath.Join(base, "elsewhere")
			for _, d := range []string{units, elsewhere} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(elsewhere, "10-x.conf"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, filepath.Join(units, "x.service.d")); err != nil {
				t.Fatal(err)
			}
			link := prefix + "/etc/systemd/system/x.service.d"
			p := link + "/zz-fencer.conf"
			check := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), link+" is a symbolic link") {
					t.Errorf("%s: err = %v, want one naming %s as a symbolic link", what, err, link)
				}
			}
			check("WriteFile", h.WriteFile(ctx, p, []byte("y"), 0o644))
			_, _, err := h.ReadFile(ctx, link+"/10-x.conf")
			check("ReadFile", err)
			_, err = h.ReadDir(ctx, link)
			check("ReadDir", err)
			check("Remove", h.Remove(ctx, link+"/10-x.conf"))
			if _, err := os.Stat(filepath.Join(elsewhere, "zz-fencer.conf")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a file was written through the link: %v", err)
			}
			if _, err := os.Stat(filepath.Join(elsewhere, "10-x.conf")); err != nil {
				t.Errorf("a file was removed through the link: %v", err)
			}
			// A deeper link is refused too; the unit file itself may be a
			// link.
			if err := os.Symlink(filepath.Join(elsewhere, "10-x.conf"), filepath.Join(units, "y.service")); err != nil {
				t.Fatal(err)
			}
			if kind == "root" {
				// Inside the tree the link is resolved under the
				// root: an absolute target means a path in the tree.
				os.Remove(filepath.Join(units, "y.service"))
				if err := os.Symlink("/elsewhere/10-x.conf", filepath.Join(units, "y.service")); err != nil {
					t.Fatal(err)
				}
			}
			data, _, err := h.ReadFile(ctx, prefix+"/etc/systemd/system/y.service")
			if err != nil || string(data) != "x" {
				t.Errorf("ReadFile through a file link: %q %v", data, err)
			}
		})
	}
}

func TestRootMaskedUnit(t *testing.T) {
	ctx := context.Background()
	h, dir := newRoot(t)
	units := filepath.Join(dir, "etc/systemd/system")
	if err := os.MkdirAll(units, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/null", filepath.Join(units, "m.service")); err != nil {
		t.Fatal(err)
	}
	data, _, err := h.ReadFile(ctx, "/etc/systemd/system/m.service")
	if err != nil || len(data) != 0 {
		t.Errorf("masked unit reads %q, %v; want empty", data, err)
	}
	// A link escaping the tree with .. is followed inside it only.
	if err := os.Symlink("../../../../../../../../etc/passwd", filepath.Join(units, "e.service")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.ReadFile(ctx, "/etc/systemd/system/e.service"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("escaping link: %v, want not found inside the tree", err)
	}
}

func TestRootTopLevelLink(t *testing.T) {
	ctx := context.Background()
	h, dir := newRoot(t)
	// Merged /usr: /lib -> usr/lib is accepted.
	if err := os.MkdirAll(filepath.Join(dir, "usr/lib/systemd/system"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/lib", filepath.Join(dir, "lib")); err != nil {
		t.Fatal(err)
	}
	if err := h.WriteFile(ctx, "/lib/systemd/system/v.service", []byte("v"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "usr/lib/systemd/system/v.service")); err != nil || string(b) != "v" {
		t.Errorf("%q %v", b, err)
	}
	// An absolute top-level link would leave the tree.
	if err := os.Symlink("/", filepath.Join(dir, "opt")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.ReadFile(ctx, "/opt/etc/passwd"); !errors.Is(err, ErrSymlink) {
		t.Errorf("absolute top-level link: %v", err)
	}
}

func TestLocalOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs as root")
		}
		t.Skip("needs root")
	}
	dir := t.TempDir()
	h, err := Local("l", ScopeSystem)
	if err != nil {
		t.Fatal(err)
	}
	// A directory owned by someone else: system-scope files still end
	// up root:root.
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "sub", "f.conf")
	if err := h.WriteFile(context.Background(), p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{p, filepath.Dir(p)} {
		st, err := os.Stat(q)
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if sys.Uid != 0 || sys.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want 0:0", q, sys.Uid, sys.Gid)
		}
	}
}

func TestRootFacts(t *testing.T) {
	dir := t.TempDir()
	h, err := Root("r", dir, "arm64", ScopeSystem)
	if err != nil {
		t.Fatal(err)
	}
	f, err := h.Facts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.Arch != "aarch64" || f.Live || f.Root != dir || f.Scope != "system" || f.Paths.UnitDir != "/etc/systemd/system" || len(f.UnitSearchPath) == 0 {
		t.Errorf("facts %+v", f)
	}
	if _, err := h.Systemctl(context.Background(), "daemon-reload"); !errors.Is(err, ErrNotLive) || !strings.Contains(err.Error(), "directory tree") {
		t.Errorf("Systemctl: %v", err)
	}
	if _, err := Root("r", dir, "vax", ScopeSystem); err == nil || !strings.Contains(err.Error(), `"vax"`) {
		t.Errorf("unknown arch: %v", err)
	}
	if _, err := Root("r", filepath.Join(dir, "missing"), "", ScopeSystem); err == nil {
		t.Error("missing directory accepted")
	}
	t.Setenv("HOME", "/home/u")
	t.Setenv("XDG_CONFIG_HOME", "")
	u, err := Root("r", dir, "", ScopeUser)
	if err != nil {
		t.Fatal(err)
	}
	f, _ = u.Facts(context.Background())
	if f.Paths.UnitDir != "/home/u/.config/systemd/user" || f.UnitSearchPath[4] != "/home/u/.config/systemd/user" {
		t.Errorf("user facts %+v", f)
	}
}

// TestRootVerify: systemd-analyze verify --root works in systemd 252 and
// tolerates only executables missing from the tree.
func TestRootVerify(t *testing.T) {
	requireCommand(t, "systemd-analyze")
	ctx := context.Background()
	h, _ := newRoot(t)
	write := func(p, s string) {
		t.Helper()
		if err := h.WriteFile(ctx, p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("/etc/systemd/system/ok.service", "[Unit]\nRequires=missing.service\n[Service]\nExecStart=/usr/bin/not-in-the-tree -x\n")
	if err := h.Verify(ctx, "ok.service"); err != nil {
		t.Errorf("Verify(ok): %v", err)
	}
	write("/etc/systemd/system/ok.service.d/zz-fencer.conf", "[Service]\nNoSuchSetting=1\n")
	if err := h.Verify(ctx, "ok.service"); err == nil || !strings.Contains(err.Error(), "Unknown key 'NoSuchSetting'") {
		t.Errorf("Verify(bad drop-in): %v", err)
	}
	write("/etc/systemd/system/bad.service", "[Service]\nExecStart=/bin/x\nType=wrong\n")
	if err := h.Verify(ctx, "bad.service"); err == nil || !strings.Contains(err.Error(), "Failed to parse service type") {
		t.Errorf("Verify(bad type): %v", err)
	}
}

func requireCommand(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s: %v", name, err)
	}
}

// TestSearchPathLinks: a directory of the unit search path may be a link
// (Debian's /etc/xdg/systemd/user -> ../../systemd/user); what is below it
// may not.
func TestSearchPathLinks(t *testing.T) {
	ctx := context.Background()
	h, dir := newRoot(t)
	if err := os.MkdirAll(filepath.Join(dir, "srv/units/x.service.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "etc/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../srv/units", filepath.Join(dir, "etc/systemd/system")); err != nil {
		t.Fatal(err)
	}
	if err := h.WriteFile(ctx, "/etc/systemd/system/x.service.d/zz-fencer.conf", []byte("z"), 0o644); err != nil {
		t.Fatalf("writing below a linked search path directory: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "srv/units/x.service.d/zz-fencer.conf")); err != nil || string(b) != "z" {
		t.Errorf("%q %v", b, err)
	}
	if _, err := h.ReadDir(ctx, "/etc/systemd/system"); err != nil {
		t.Errorf("ReadDir of a linked search path directory: %v", err)
	}
	// Below it, links are refused.
	if err := os.Symlink("x.service.d", filepath.Join(dir, "srv/units/y.service.d")); err != nil {
		t.Fatal(err)
	}
	if err := h.WriteFile(ctx, "/etc/systemd/system/y.service.d/zz-fencer.conf", []byte("z"), 0o644); !errors.Is(err, ErrSymlink) {
		t.Errorf("link below a search path directory: %v", err)
	}
	// A search path link that leaves the tree is refused.
	if err := os.MkdirAll(filepath.Join(dir, "run/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../../tmp", filepath.Join(dir, "run/systemd/system")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ReadDir(ctx, "/run/systemd/system"); !errors.Is(err, ErrSymlink) {
		t.Errorf("search path link leaving the tree: %v", err)
	}
	// Not in the search path: refused.
	if err := os.Symlink("/tmp", filepath.Join(dir, "etc/fencer")); err != nil {
		t.Fatal(err)
	}
	if err := h.WriteFile(ctx, "/etc/fencer/filters/x.bpf", []byte("z"), 0o644); !errors.Is(err, ErrSymlink) {
		t.Errorf("linked filter directory: %v", err)
	}
}

// TestReadFileOnlyRegular checks that a host file that is a FIFO, a
// device or larger than MaxHostFileBytes is refused at once, naming it,
// where reading it would block for ever or grow without bound; and that
// the local machine's /dev/null at a unit's path reads as a masked unit.
func TestReadFileOnlyRegular(t *testing.T) {
	ctx := context.Background()
	h, dir := newRoot(t)
	d := filepath.Join(dir, "etc/systemd/system/m.service.d")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(d, "50-fifo.conf"), 0o644); err != nil {
		t.Fatal(err)
	}
	big, err := os.Create(filepath.Join(d, "60-big.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(MaxHostFileBytes + 1); err != nil {
		t.Fatal(err)
	}
	big.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _, err := h.ReadFile(ctx, "/etc/systemd/system/m.service.d/50-fifo.conf")
		if err == nil || !strings.Contains(err.Error(), "/etc/systemd/system/m.service.d/50-fifo.conf is a FIFO, not a regular file") {
			t.Errorf("FIFO: %v", err)
		}
		_, _, err = h.ReadFile(ctx, "/etc/systemd/system/m.service.d/60-big.conf")
		if err == nil || !strings.Contains(err.Error(), "/etc/systemd/system/m.service.d/60-big.conf is larger than 64 MiB (67108864 bytes), the limit for a file fencer reads on a host") {
			t.Errorf("too large: %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ReadFile blocks on a FIFO")
	}

	local, err := LocalEnv("l", ScopeSystem, os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := local.ReadFile(ctx, "/dev/zero"); err == nil || !strings.Contains(err.Error(), "/dev/zero is a character device, not a regular file") {
		t.Errorf("/dev/zero: %v", err)
	}
	if b, mode, err := local.ReadFile(ctx, "/dev/null"); err != nil || len(b) != 0 || mode != devNullMode {
		t.Errorf("/dev/null: %q %v %v", b, mode, err)
	}
}

// TestFileModeAsReadFile: FileMode gives ReadFile's mode and errors
// without reading: a regular file, an executable, a missing one, a masked
// unit, /dev/null itself, a directory, a FIFO (no hang), a path through
// a symlinked directory.
func TestFileModeAsReadFile(t *testing.T) {
	ctx := context.Background()
	h, dir := newRoot(t)
	mk := func(p string, data string, mode fs.FileMode) {
		t.Helper()
		if err := h.WriteFile(ctx, p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	mk("/etc/systemd/system/a.service", "[Service]\n", 0o644)
	mk("/usr/local/bin/fencer", "\x7fELF", 0o755)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("/dev/null", filepath.Join(dir, "etc/systemd/system/masked.service")))
	must(os.Mkdir(filepath.Join(dir, "etc/systemd/system/d.service"), 0o755))
	must(syscall.Mkfifo(filepath.Join(dir, "etc/fifo"), 0o644))
	must(os.MkdirAll(filepath.Join(dir, "elsewhere"), 0o755))
	must(os.Symlink("../elsewhere", filepath.Join(dir, "usr/local/linked")))
	mk("/elsewhere/x", "x", 0o644)
	for _, p := range []string{"/etc/systemd/system/a.service", "/usr/local/bin/fencer", "/etc/missing",
		"/etc/systemd/system/masked.service", "/etc/systemd/system/d.service", "/etc/fifo", "/usr/local/linked/x"} {
		_, wantMode, wantErr := h.ReadFile(ctx, p)
		mode, err := h.FileMode(ctx, p)
		if mode != wantMode || (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Errorf("%s: FileMode = %v, %v; ReadFile's mode and error: %v, %v", p, mode, err, wantMode, wantErr)
		}
	}
	if _, err := h.FileMode(ctx, "/etc/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("FileMode of a missing file: %v, want fs.ErrNotExist", err)
	}
	if mode, _ := h.FileMode(ctx, "/usr/local/bin/fencer"); mode != 0o755 {
		t.Errorf("FileMode of an executable: %v", mode)
	}
}
