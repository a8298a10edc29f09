package host

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fencer-dev/fencer/internal/readlimit"
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

// readFile returns the content and mode of host file p; a link in the last
// component is followed (inside the tree), one to /dev/null reads as empty.
func (f *files) readFile(p string) ([]byte, fs.FileMode, error) {
	fh, mode, err := f.openFile(p)
	if err != nil || fh == nil {
		return nil, mode, err
	}
	defer fh.Close()
	data, err := readlimit.All(fh, p, MaxHostFileBytes, "a file fencer reads on a host")
	if err != nil {
		return nil, 0, fmt.Errorf("host %s: reading %s: %w", f.host, p, err)
	}
	return data, mode, nil
}

// fileMode returns the mode readFile gives host file p, with the same
// errors, without reading it.
func (f *files) fileMode(p string) (fs.FileMode, error) {
	fh, mode, err := f.openFile(p)
	if fh != nil {
		fh.Close()
	}
	return mode, err
}

// openFile opens host file p for readFile and returns it with its mode:
// a regular file within MaxHostFileBytes, or (nil, devNullMode) for a
// masked unit — a link to /dev/null, or /dev/null itself.
func (f *files) openFile(p string) (*os.File, fs.FileMode, error) {
	if err := f.check(p); err != nil {
		return nil, 0, err
	}
	w, err := f.walk(p, false, true)
	if err != nil {
		return nil, 0, err
	}
	if w.missing != nil {
		return nil, 0, fmt.Errorf("host %s: %w", f.host, &fs.PathError{Op: "open", Path: p, Err: unix.ENOENT})
	}
	if w.masked {
		return nil, devNullMode, nil
	}
	d, err := f.openAt(p, w.dir)
	if err != nil {
		return nil, 0, err
	}
	defer d.close()
	// O_NONBLOCK: a FIFO would otherwise block the open until a writer
	// comes; it is refused below, with devices, once fstat says what the
	// file is.
	fd, err := unix.Openat(d.fd, w.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err == unix.ELOOP {
		return nil, 0, f.changed(p, d.join(w.name), err)
	}
	if err != nil {
		return nil, 0, d.err("open", w.name, err)
	}
	fh := os.NewFile(uintptr(fd), d.join(w.name))
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, 0, fmt.Errorf("host %s: %w", f.host, err)
	}
	if !st.Mode().IsRegular() {
		defer fh.Close()
		// systemd reads /dev/null itself (a bind mount, say) as a
		// masked unit, as it does a link to it.
		var dst unix.Stat_t
		if unix.Fstat(fd, &dst) == nil && dst.Mode&unix.S_IFMT == unix.S_IFCHR && dst.Rdev == unix.Mkdev(1, 3) {
			return nil, devNullMode, nil
		}
		return nil, 0, fmt.Errorf("host %s: %s is %s, not a regular file", f.host, p, readlimit.Kind(st.Mode()))
	}
	if st.Size() > MaxHostFileBytes {
		fh.Close()
		return nil, 0, fmt.Errorf("host %s: %w", f.host, &readlimit.TooLargeError{Name: p, Limit: MaxHostFileBytes, What: "a file fencer reads on a host"})
	}
	return fh, st.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky | fs.ModeCharDevice | fs.ModeDevice), nil
}

// MaxHostFileBytes is the largest file fencer reads on a host
// (readlimit.HostFile). Only regular files are read, and links to
// /dev/null (masked units).
const MaxHostFileBytes = readlimit.HostFile

// devNullMode is the mode ReadFile gives a link to /dev/null.
const devNullMode = fs.ModeDevice | fs.ModeCharDevice | 0o666

// openDir opens host directory p, reached without following a link the
// host does not trust; the caller closes it.
func (f *files) openDir(p string) (*at, error) {
	if err := f.check(p); err != nil {
		return nil, err
	}
	w, err := f.walk(p, true, false)
	if err != nil {
		return nil, err
	}
	if w.missing != nil {
		return nil, fmt.Errorf("host %s: %w", f.host, &fs.PathError{Op: "open", Path: p, Err: unix.ENOENT})
	}
	return f.openAt(p, w.dir)
}

func (f *files) readDir(p string) ([]string, error) {
	d, err := f.openDir(p)
	if err != nil {
		return nil, err
	}
	defer d.close()
	names, err := d.names()
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// names lists the directory's entries.
func (d *at) names() ([]string, error) {
	fd, err := unix.Openat(d.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, d.err("open", ".", err)
	}
	fh := os.NewFile(uintptr(fd), d.path)
	defer fh.Close()
	names, err := fh.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", d.f.host, err)
	}
	return names, nil
}

// mkdirs creates the missing directories of host directory dir (0755,
// root:root when chown is set), fsyncing each parent after an entry is
// added, and returns dir opened.
func (f *files) mkdirs(p, dir string) (*at, error) {
	for tries := 0; ; tries++ {
		var w walked
		var err error
		if dir == "/" {
			w = walked{}
		} else if w, err = f.walk(dir, true, false); err != nil {
			return nil, err
		}
		d, err := f.openAt(p, w.dir)
		if err != nil {
			return nil, err
		}
		if w.missing == nil {
			return d, nil
		}
		if tries > 256 {
			d.close()
			return nil, fmt.Errorf("host %s: creating %s: the tree keeps changing", f.host, dir)
		}
		err = d.mkdir(w.missing[0], f.chown)
		if err == nil {
			err = d.sync()
		}
		d.close()
		if err != nil {
			return nil, err
		}
	}
}

// mkdir creates directory name in d, 0755 whatever the umask; one made
// concurrently is left alone.
func (d *at) mkdir(name string, chown bool) error {
	err := unix.Mkdirat(d.fd, name, 0o755)
	if err == unix.EEXIST {
		return nil
	}
	if err != nil {
		return d.err("mkdir", name, err)
	}
	fd, err := openDirNoFollow(d.fd, name, unix.O_RDONLY)
	if err != nil {
		return d.err("open", name, err)
	}
	defer unix.Close(fd)
	if err := unix.Fchmod(fd, 0o755); err != nil {
		return d.err("chmod", name, err)
	}
	if chown {
		if err := unix.Fchown(fd, 0, 0); err != nil {
			return d.err("chown", name, err)
		}
	}
	return nil
}

// removeStale removes temporary files an interrupted write of base left in
// d.
func (d *at) removeStale(base string) error {
	names, err := d.names()
	if err != nil {
		return err
	}
	removed := false
	for _, n := range names {
		if !strings.HasPrefix(n, tmpPrefix+base+".") {
			continue
		}
		var st unix.Stat_t
		if unix.Fstatat(d.fd, n, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			continue
		}
		if err := unix.Unlinkat(d.fd, n, 0); err != nil && err != unix.ENOENT {
			return d.err("remove", n, err)
		}
		removed = true
	}
	if removed {
		return d.sync()
	}
	return nil
}

func (f *files) writeFile(p string, data []byte, mode fs.FileMode) (err error) {
	if err := f.check(p); err != nil {
		return err
	}
	d, err := f.mkdirs(p, filepath.Dir(p))
	if err != nil {
		return err
	}
	defer d.close()
	base := filepath.Base(p)
	if err := d.removeStale(base); err != nil {
		return fmt.Errorf("host %s: removing stale temporary files: %w", f.host, err)
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := tmpPrefix + base + "." + hex.EncodeToString(rnd[:])
	fd, err := unix.Openat(d.fd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("host %s: writing %s: %w", f.host, p, &fs.PathError{Op: "open", Path: d.join(tmp), Err: err})
	}
	fh := os.NewFile(uintptr(fd), d.join(tmp))
	defer func() {
		if err != nil {
			fh.Close()
			unix.Unlinkat(d.fd, tmp, 0)
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
	if err := unix.Renameat(d.fd, tmp, d.fd, base); err != nil {
		return &os.LinkError{Op: "rename", Old: d.join(tmp), New: d.join(base), Err: err}
	}
	if err := unix.Fsync(d.fd); err != nil {
		return &fs.PathError{Op: "fsync", Path: d.path, Err: err}
	}
	return nil
}

func (f *files) remove(p string) error {
	if err := f.check(p); err != nil {
		return err
	}
	w, err := f.walk(p, false, false)
	if err != nil {
		return err
	}
	if w.missing != nil {
		return nil
	}
	d, err := f.openAt(p, w.dir)
	if err != nil {
		return err
	}
	defer d.close()
	err = unix.Unlinkat(d.fd, w.name, 0)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return d.err("remove", w.name, err)
	}
	return d.sync()
}

// modTime returns the modification time of host file p, following a link
// in the last component as readFile does.
func (f *files) modTime(p string) (time.Time, error) {
	if err := f.check(p); err != nil {
		return time.Time{}, err
	}
	w, err := f.walk(p, false, true)
	if err != nil {
		return time.Time{}, err
	}
	if w.missing != nil {
		return time.Time{}, fmt.Errorf("host %s: %w", f.host, &fs.PathError{Op: "stat", Path: p, Err: unix.ENOENT})
	}
	if w.masked {
		st, err := os.Stat("/dev/null")
		if err != nil {
			return time.Time{}, fmt.Errorf("host %s: %w", f.host, err)
		}
		return st.ModTime(), nil
	}
	d, err := f.openAt(p, w.dir)
	if err != nil {
		return time.Time{}, err
	}
	defer d.close()
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd, w.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return time.Time{}, d.err("stat", w.name, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return time.Time{}, f.changed(p, d.join(w.name), unix.ELOOP)
	}
	return time.Unix(st.Mtim.Unix()), nil
}
