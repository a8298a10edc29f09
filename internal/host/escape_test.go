package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// escapeTime is the modification time of every file outside the tree:
// ModTime must never return it.
var escapeTime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// escapeSecrets are the files put outside the tree, in a layout that
// mirrors the tree's, so that a path redirected there would find them.
var escapeSecrets = []string{
	"secret",
	"systemd/secret",
	"systemd/system/secret",
	"systemd/system/metrics.service.d/secret",
	"fencer/filters/secret",
	"etc/systemd/system/secret",
	"etc/systemd/system/metrics.service.d/secret",
	"etc/secret",
	"escape-only",
	"systemd/escape-only",
	"systemd/system/escape-only",
	"systemd/system/metrics.service.d/escape-only",
	"fencer/filters/escape-only",
	"etc/escape-only",
	"etc/systemd/escape-only",
	"etc/systemd/system/escape-only",
	"etc/systemd/system/metrics.service.d/escape-only",
}

// escapeTarget makes the directory outside the tree and fills it with
// escapeSecrets.
func escapeTarget(t *testing.T, dir string) {
	t.Helper()
	for _, s := range escapeSecrets {
		p := filepath.Join(dir, s)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("secret "+s+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, escapeTime, escapeTime); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshot lists every entry under dir (links not followed) with its
// type, content or link target.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+" -> "+target)
		case d.IsDir():
			out = append(out, rel+"/")
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			st, _ := d.Info()
			out = append(out, fmt.Sprintf("%s %q %s", rel, b, st.ModTime().UTC().Format(time.RFC3339)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// containsFile reports whether a regular file with content data lies
// under dir (links not followed).
func containsFile(dir string, data []byte) bool {
	found := false
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if b, err := os.ReadFile(p); err == nil && bytes.Equal(b, data) {
				found = true
			}
		}
		return nil
	})
	return found
}

// clearError reports whether err is one fencer gives for a path it will
// not or cannot use: a refused link, a missing file, a non-directory.
func clearError(err error) bool {
	return errors.Is(err, ErrSymlink) || errors.Is(err, fs.ErrNotExist) ||
		strings.Contains(err.Error(), "is not a directory") || strings.Contains(err.Error(), "is a directory")
}

// bothResolvers runs f with openat2 and with the component-by-component
// walk that stands in for it on kernels before 5.6.
func bothResolvers(t *testing.T, f func(t *testing.T)) {
	for _, mode := range []string{"openat2", "walk"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "walk" {
				noOpenat2.Store(true)
				defer noOpenat2.Store(false)
			} else if _, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC}); err != nil {
				t.Skipf("openat2: %v", err)
			}
			f(t)
		})
	}
}

// TestRootStaysInside is the review's -root escape (etc -> x,
// x -> /tmp/escape-target) and its relatives: chains of relative links,
// absolute links, ".." components and links to /, in directories and in
// the final component. Every WriteFile, ReadFile, ReadDir, Remove, ModTime
// and directory creation either stays inside the tree or fails with a
// clear error, and nothing outside the tree is written, removed or read.
func TestRootStaysInside(t *testing.T) {
	bothResolvers(t, testRootStaysInside)
}

func testRootStaysInside(t *testing.T) {
	ctx := context.Background()
	type escCase struct {
		name  string
		dirs  []string          // directories to make in the tree
		links map[string]string // link in the tree -> target; $ESC is the escape target, $UP climbs out of the tree
		// refused, when set, is the link every write under
		// refusedUnder (default /etc) must be refused for
		// (ErrSymlink, naming it).
		refused, refusedUnder string
	}
	cases := []escCase{
		{name: "review repro: etc -> x -> /escape", links: map[string]string{"etc": "x", "x": "$ESC"}, refused: "/x"},
		{name: "absolute top-level link", links: map[string]string{"etc": "$ESC"}, refused: "/etc"},
		{name: "chain of relative links climbing out", links: map[string]string{"etc": "a", "a": "b", "b": "$UP"}, refused: "/b"},
		{name: "relative chain through .. climbing out", dirs: []string{"d"}, links: map[string]string{"etc": "d/../a", "a": "d/../../$UPREL"}, refused: "/a"},
		{name: "search path dir via chain to absolute", dirs: []string{"etc/systemd"}, links: map[string]string{"etc/systemd/system": "../../s", "s": "$ESC/systemd/system"}, refused: "/s", refusedUnder: "/etc/systemd/system"},
		{name: "search path dir climbing out", dirs: []string{"etc/systemd"}, links: map[string]string{"etc/systemd/system": "../../../$UPREL/systemd/system"}, refused: "/etc/systemd/system", refusedUnder: "/etc/systemd/system"},
		{name: "drop-in dir to /", dirs: []string{"etc/systemd/system"}, links: map[string]string{"etc/systemd/system/metrics.service.d": "/"}},
		{name: "drop-in dir relative chain", dirs: []string{"etc/systemd/system", "elsewhere"}, links: map[string]string{"etc/systemd/system/metrics.service.d": "../../../elsewhere", "elsewhere/x": "$ESC"}},
		{name: "top-level link to /", links: map[string]string{"etc": "/"}, refused: "/etc"},
		{name: "top-level link to . and trusted link to ../..", dirs: []string{"etc/systemd"}, links: map[string]string{"etc/systemd/system": "../..", "x": "."}},
		{name: "top-level link to ..", links: map[string]string{"etc": ".."}, refused: "/etc"},
		{name: "dangling top-level link", links: map[string]string{"etc": "missing/dir"}},
		{name: "file links out", dirs: []string{"etc/systemd/system/metrics.service.d", "etc/fencer/filters"}, links: map[string]string{
			"etc/systemd/system/secret":                           "$ESC/secret",
			"etc/systemd/system/metrics.service.d/secret":         "$UP/systemd/system/metrics.service.d/secret",
			"etc/systemd/system/metrics.service":                  "$ESC/systemd/system/secret",
			"etc/systemd/system/metrics.socket":                   "/",
			"etc/systemd/system/metrics.service.d/zz-fencer.conf": "../../../../../../../../../../..$ESC/etc/systemd/system/metrics.service.d/secret",
			"etc/fencer/filters/metrics.service.bpf":              "../../../x/../..",
			"etc/secret":                                          "systemd/system/secret",
		}},
	}
	paths := []string{
		"/etc/systemd/system/metrics.service",
		"/etc/systemd/system/metrics.socket",
		"/etc/systemd/system/metrics.service.d/zz-fencer.conf",
		"/etc/fencer/filters/metrics.service.bpf",
	}
	readPaths := []string{
		"/etc/secret",
		"/etc/systemd/secret",
		"/etc/systemd/system/secret",
		"/etc/systemd/system/metrics.service.d/secret",
		"/etc/fencer/filters/secret",
		"/x/secret",
		"/secret",
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			root, esc := filepath.Join(base, "root"), filepath.Join(base, "escape-target")
			escapeTarget(t, esc)
			before := snapshot(t, esc)
			up := strings.Repeat("../", 12) + esc[1:]
			for _, d := range append([]string{"."}, c.dirs...) {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for l, target := range c.links {
				target = strings.NewReplacer("$ESC", esc, "$UPREL", "escape-target", "$UP", up).Replace(target)
				if err := os.Symlink(target, filepath.Join(root, l)); err != nil {
					t.Fatal(err)
				}
			}
			h, err := Root("r", root, "x86_64", ScopeSystem)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range paths {
				data := []byte(fmt.Sprintf("%s %d\n", p, i))
				err := h.WriteFile(ctx, p, data, 0o644)
				under := c.refusedUnder
				if under == "" {
					under = "/etc"
				}
				switch {
				case c.refused != "" && strings.HasPrefix(p, under+"/"):
					if !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), c.refused+" is a symbolic link") {
						t.Errorf("WriteFile(%s) = %v, want it refused naming %s", p, err, c.refused)
					}
				case err != nil:
					if !clearError(err) {
						t.Errorf("WriteFile(%s): unclear error %v", p, err)
					}
				case !containsFile(root, data):
					t.Errorf("WriteFile(%s) succeeded, but the file is nowhere in the tree", p)
				default:
					b, _, err := h.ReadFile(ctx, p)
					if err != nil || !bytes.Equal(b, data) {
						t.Errorf("ReadFile(%s) after writing it: %q %v", p, b, err)
					}
				}
			}
			for _, p := range append(readPaths, paths...) {
				b, _, err := h.ReadFile(ctx, p)
				if err != nil && !clearError(err) {
					t.Errorf("ReadFile(%s): unclear error %v", p, err)
				}
				if bytes.Contains(b, []byte("secret")) {
					t.Errorf("ReadFile(%s) read %q from outside the tree", p, b)
				}
				if mt, err := h.ModTime(ctx, p); err == nil && mt.Equal(escapeTime) {
					t.Errorf("ModTime(%s) is a file's outside the tree", p)
				} else if err != nil && !clearError(err) {
					t.Errorf("ModTime(%s): unclear error %v", p, err)
				}
				for _, d := range []string{p, filepath.Dir(p)} {
					if d == "/" {
						continue
					}
					names, err := h.ReadDir(ctx, d)
					if err != nil && !clearError(err) {
						t.Errorf("ReadDir(%s): unclear error %v", d, err)
					}
					for _, n := range names {
						if n == "escape-only" {
							t.Errorf("ReadDir(%s) lists %q from outside the tree", d, names)
						}
					}
				}
				if err := h.Remove(ctx, p); err != nil && !clearError(err) {
					t.Errorf("Remove(%s): unclear error %v", p, err)
				}
			}
			if after := snapshot(t, esc); !equalStrings(before, after) {
				t.Errorf("outside the tree changed:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRootSwappedLink swaps a directory of the tree with a link out of it
// (RENAME_EXCHANGE, atomically) over and over while files are written,
// read and removed through it: no check-then-use window lets the link
// redirect an operation outside the tree.
func TestRootSwappedLink(t *testing.T) {
	bothResolvers(t, testRootSwappedLink)
}

func testRootSwappedLink(t *testing.T) {
	ctx := context.Background()
	for _, swapped := range []string{"etc", "etc/systemd/system", "etc/systemd/system/metrics.service.d"} {
		t.Run(strings.ReplaceAll(swapped, "/", "_"), func(t *testing.T) {
			base := t.TempDir()
			root, esc := filepath.Join(base, "root"), filepath.Join(base, "escape-target")
			escapeTarget(t, esc)
			before := snapshot(t, esc)
			if err := os.MkdirAll(filepath.Join(root, "etc/systemd/system/metrics.service.d"), 0o755); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(root, swapped)
			link := dir + ".link"
			// The link points where the swapped directory's content
			// would be found outside.
			target := esc
			if swapped != "etc" {
				target = filepath.Join(esc, strings.TrimPrefix(swapped, "etc/"))
			}
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			if err := unix.Renameat2(unix.AT_FDCWD, dir, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE); err != nil {
				t.Skipf("RENAME_EXCHANGE: %v", err)
			}
			unix.Renameat2(unix.AT_FDCWD, dir, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE)
			h, err := Root("r", root, "x86_64", ScopeSystem)
			if err != nil {
				t.Fatal(err)
			}
			var stop atomic.Bool
			var wg sync.WaitGroup
			var swaps atomic.Int64
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					if err := unix.Renameat2(unix.AT_FDCWD, dir, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE); err != nil {
						t.Error(err)
						return
					}
					swaps.Add(1)
				}
			}()
			p := "/etc/systemd/system/metrics.service.d/zz-fencer.conf"
			secret := "/etc/systemd/system/metrics.service.d/secret"
			deadline := time.Now().Add(400 * time.Millisecond)
			var ok, refused int
			for i := 0; time.Now().Before(deadline); i++ {
				data := []byte(fmt.Sprintf("version %d\n", i))
				if err := h.WriteFile(ctx, p, data, 0o644); err != nil {
					if !clearError(err) {
						t.Errorf("WriteFile: unclear error %v", err)
					}
					refused++
				} else {
					ok++
				}
				if b, _, err := h.ReadFile(ctx, secret); err == nil || bytes.Contains(b, []byte("secret")) {
					t.Errorf("ReadFile(%s) = %q %v, read outside the tree", secret, b, err)
				}
				if mt, err := h.ModTime(ctx, secret); err == nil && mt.Equal(escapeTime) {
					t.Errorf("ModTime(%s) is a file's outside the tree", secret)
				}
				names, _ := h.ReadDir(ctx, filepath.Dir(p))
				for _, n := range names {
					if n == "escape-only" {
						t.Errorf("ReadDir lists %q from outside the tree", names)
					}
				}
				h.Remove(ctx, secret)
				h.WriteFile(ctx, "/etc/systemd/system/metrics.service.d/new/x.conf", data, 0o644)
				h.Remove(ctx, "/etc/systemd/system/metrics.service.d/new/x.conf")
			}
			stop.Store(true)
			wg.Wait()
			t.Logf("%d swaps; %d writes done, %d refused", swaps.Load(), ok, refused)
			if after := snapshot(t, esc); !equalStrings(before, after) {
				t.Errorf("outside the tree changed:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}
