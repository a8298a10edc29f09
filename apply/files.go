package apply

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// tmpPrefix starts the names of WriteFile's temporary files.
const tmpPrefix = ".fencer-tmp-"

// files does the file operations of a host whose paths live under root
// ("" for the machine itself).
type files struct {
	host  string // the host's name, for messages
	root  string // "" or an absolute directory
	chown bool   // give written files to root:root

	mu      sync.Mutex
	trusted map[string]bool // host directories that may be symbolic links
}

// trust accepts the directories dirs (host paths) and their parents as
// symbolic links: the unit search path is the distribution's layout (Debian
// links /etc/xdg/systemd/user to ../../systemd/user), not something to
// refuse. Directories below them — drop-in directories above all — must
// be real directories.
func (f *files) trust(dirs []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.trusted == nil {
		f.trusted = map[string]bool{}
	}
	for _, d := range dirs {
		for d = filepath.Clean(d); filepath.IsAbs(d) && d != "/"; d = filepath.Dir(d) {
			f.trusted[d] = true
		}
	}
}

func (f *files) isTrusted(d string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.trusted[d]
}

// ErrSymlink is wrapped by the errors for paths through a symbolic link.
var ErrSymlink = errors.New("is a symbolic link")

// local returns the path on this machine for host path p, after checking
// that p is absolute and clean.
func (f *files) local(p string) (string, error) {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
		return "", fmt.Errorf("host %s: %q is not a clean absolute file path", f.host, p)
	}
	if f.root == "" {
		return p, nil
	}
	return f.root + p, nil
}

// checkDirs refuses host path p when an existing directory on it (the
// final component too when last is set) is a symbolic link. Accepted are
// links directly under / (merged /usr: /lib -> usr/lib) and trusted
// directories (see trust) — under a root directory only when the link is
// relative and stays inside the tree.
func (f *files) checkDirs(p string, last bool) error {
	comps := strings.Split(p[1:], "/")
	n := len(comps) - 1
	if last {
		n = len(comps)
	}
	cur := f.root
	for i := 0; i < n; i++ {
		cur += "/" + comps[i]
		st, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("host %s: %w", f.host, err)
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			hp := "/" + strings.Join(comps[:i+1], "/")
			if (i == 0 || f.isTrusted(hp)) && f.linkStaysInside(cur, i) {
				continue
			}
			return fmt.Errorf("host %s: refusing %s: %s %w (fencer does not follow links in directories it reads or writes)", f.host, p, "/"+strings.Join(comps[:i+1], "/"), ErrSymlink)
		}
		if !st.IsDir() {
			return fmt.Errorf("host %s: %s: %s is not a directory", f.host, p, "/"+strings.Join(comps[:i+1], "/"))
		}
	}
	return nil
}

// linkStaysInside reports whether the link at local path link, depth
// directories below the host's /, resolves inside the tree: always on the
// machine itself; under a root directory when it is relative and its ".."
// never climb above the root.
func (f *files) linkStaysInside(link string, depth int) bool {
	if f.root == "" {
		return true
	}
	target, err := os.Readlink(link)
	if err != nil || filepath.IsAbs(target) {
		return false
	}
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return false
			}
		default:
			depth++
		}
	}
	return true
}

// resolve follows symbolic links in the final component of the local path
// lp of a root host inside the root, as systemd --root would; a link to
// /dev/null stays /dev/null (a masked unit). On the machine itself the
// kernel follows them.
func (f *files) resolve(lp string) (string, error) {
	if f.root == "" {
		return lp, nil
	}
	for hops := 0; hops < 32; hops++ {
		st, err := os.Lstat(lp)
		if err != nil || st.Mode()&fs.ModeSymlink == 0 {
			return lp, nil
		}
		target, err := os.Readlink(lp)
		if err != nil {
			return "", err
		}
		if target == "/dev/null" {
			return target, nil
		}
		var hp string
		if filepath.IsAbs(target) {
			hp = filepath.Clean(target)
		} else {
			hp = filepath.Clean(filepath.Join(filepath.Dir(lp[len(f.root):]), target))
		}
		if err := f.checkDirs(hp, false); err != nil {
			return "", err
		}
		lp = f.root + hp
	}
	return "", fmt.Errorf("host %s: %s: too many levels of symbolic links", f.host, lp)
}

func (f *files) readFile(p string) ([]byte, fs.FileMode, error) {
	lp, err := f.local(p)
	if err != nil {
		return nil, 0, err
	}
	if err := f.checkDirs(p, false); err != nil {
		return nil, 0, err
	}
	if lp, err = f.resolve(lp); err != nil {
		return nil, 0, fmt.Errorf("host %s: %w", f.host, err)
	}
	fh, err := os.Open(lp)
	if err != nil {
		return nil, 0, fmt.Errorf("host %s: %w", f.host, err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("host %s: %w", f.host, err)
	}
	if st.IsDir() {
		return nil, 0, fmt.Errorf("host %s: %s is a directory", f.host, p)
	}
	data, err := io.ReadAll(fh)
	if err != nil {
		return nil, 0, fmt.Errorf("host %s: reading %s: %w", f.host, p, err)
	}
	return data, st.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky | fs.ModeCharDevice | fs.ModeDevice), nil
}

func (f *files) readDir(p string) ([]string, error) {
	lp, err := f.local(p)
	if err != nil {
		return nil, err
	}
	if err := f.checkDirs(p, true); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(lp)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", f.host, err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// mkdirs creates the missing directories of host directory dir (0755),
// fsyncing each parent after an entry is added.
func (f *files) mkdirs(dir string) error {
	comps := strings.Split(dir[1:], "/")
	cur := f.root
	for _, c := range comps {
		parent := cur
		if parent == "" {
			parent = "/"
		}
		cur += "/" + c
		err := os.Mkdir(cur, 0o755)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("host %s: %w", f.host, err)
		}
		if err := os.Chmod(cur, 0o755); err != nil {
			return fmt.Errorf("host %s: %w", f.host, err)
		}
		if f.chown {
			if err := os.Lchown(cur, 0, 0); err != nil {
				return fmt.Errorf("host %s: %w", f.host, err)
			}
		}
		if err := syncDir(parent); err != nil {
			return fmt.Errorf("host %s: %w", f.host, err)
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// removeStale removes temporary files an interrupted write of base left in
// local directory dir.
func removeStale(dir, base string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	removed := false
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, tmpPrefix+base+".") && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			removed = true
		}
	}
	if removed {
		return syncDir(dir)
	}
	return nil
}

func (f *files) writeFile(p string, data []byte, mode fs.FileMode) (err error) {
	lp, err := f.local(p)
	if err != nil {
		return err
	}
	if err := f.checkDirs(p, false); err != nil {
		return err
	}
	hostDir := filepath.Dir(p)
	if hostDir != "/" {
		if err := f.mkdirs(hostDir); err != nil {
			return err
		}
		// A directory created concurrently could be a link.
		if err := f.checkDirs(p, false); err != nil {
			return err
		}
	}
	dir, base := filepath.Dir(lp), filepath.Base(lp)
	if err := removeStale(dir, base); err != nil {
		return fmt.Errorf("host %s: removing stale temporary files: %w", f.host, err)
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := filepath.Join(dir, tmpPrefix+base+"."+hex.EncodeToString(rnd[:]))
	fh, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("host %s: writing %s: %w", f.host, p, err)
	}
	defer func() {
		if err != nil {
			fh.Close()
			os.Remove(tmp)
			err = fmt.Errorf("host %s: writing %s: %w", f.host, p, err)
		}
	}()
	if _, err := fh.Write(data); err != nil {
		return err
	}
	if err := fh.Chmod(mode); err != nil {
		return err
	}
	if f.chown {
		if err := fh.Chown(0, 0); err != nil {
			return err
		}
	}
	if err := fh.Sync(); err != nil {
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, lp); err != nil {
		return err
	}
	return syncDir(dir)
}

func (f *files) remove(p string) error {
	lp, err := f.local(p)
	if err != nil {
		return err
	}
	if err := f.checkDirs(p, false); err != nil {
		return err
	}
	err = os.Remove(lp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("host %s: %w", f.host, err)
	}
	if err := syncDir(filepath.Dir(lp)); err != nil {
		return fmt.Errorf("host %s: %w", f.host, err)
	}
	return nil
}
