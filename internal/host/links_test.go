package host

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestLinksRoot checks how Links resolves the links of a unit directory
// in a -root tree, as systemd's chase_symlinks with CHASE_NOFOLLOW|
// CHASE_NONEXISTENT does under --root: relative targets from the
// directory, absolute ones from the tree's /, links among the target's
// directories followed (merged /usr's /lib), the last component not, and
// nothing outside the tree.
func TestLinksRoot(t *testing.T) {
	ctx := context.Background()
	h, dir := newRoot(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	unitDir := filepath.Join(dir, "etc/systemd/system")
	must(os.MkdirAll(unitDir, 0o755))
	must(os.MkdirAll(filepath.Join(dir, "usr/lib/systemd/system"), 0o755))
	must(os.Symlink("usr/lib", filepath.Join(dir, "lib")))
	must(os.MkdirAll(filepath.Join(dir, "opt/sub"), 0o755))
	must(os.Symlink("sub", filepath.Join(dir, "opt/dirlink")))
	must(os.WriteFile(filepath.Join(unitDir, "file.service"), []byte("[Service]\n"), 0o644))
	links := map[string]string{
		"rel.service":       "sl.service",
		"dotdot.service":    "../system/./sl.service",
		"abs.service":       "/lib/systemd/system/ssh.service",
		"viadir.service":    "/opt/dirlink/x.service",
		"lastlink.service":  "/lib",
		"mask.service":      "/dev/null",
		"up.service":        "../../../../../../etc/x.service",
		"missing.service":   "/nonexistent/dir/y.service",
		"missingup.service": "/nonexistent/../y.service",
		"loop.service":      "/loop/x.service",
		"notdir.service":    "file.service/x.service",
	}
	for n, target := range links {
		must(os.Symlink(target, filepath.Join(unitDir, n)))
	}
	must(os.Symlink("loop", filepath.Join(dir, "loop")))
	got, err := h.Links(ctx, "/etc/systemd/system")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"rel.service":       "/etc/systemd/system/sl.service",
		"dotdot.service":    "/etc/systemd/system/sl.service",
		"abs.service":       "/usr/lib/systemd/system/ssh.service",
		"viadir.service":    "/opt/sub/x.service",
		"lastlink.service":  "/lib",
		"mask.service":      "/dev/null",
		"up.service":        "/etc/x.service",
		"missing.service":   "/nonexistent/dir/y.service",
		"missingup.service": "",
		"loop.service":      "",
		"notdir.service":    "",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Links\n got %q\nwant %q", got, want)
	}
	if _, err := h.Links(ctx, "/etc/systemd/nothing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing directory: %v", err)
	}
	// A directory reached through a link fencer does not follow is
	// refused, as ReadDir refuses it.
	must(os.Symlink("/etc", filepath.Join(unitDir, "x.service.d")))
	if _, err := h.Links(ctx, "/etc/systemd/system/x.service.d"); !errors.Is(err, ErrSymlink) {
		t.Errorf("a symlinked drop-in directory: %v", err)
	}
}
