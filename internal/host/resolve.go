package host

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// How host paths are resolved.
//
// Every file operation first walks its path in user space (walk), one
// component at a time from a directory fd, the way a chroot to the host's
// / would: links are read with readlinkat and their targets resolved
// relative to the host's / (an absolute target) or to the directory holding
// the link, ".." never climbs above the host's /. Each link met on the way
// is checked against fencer's policy (a link for a directory is accepted
// only directly under / or at a trusted directory, and under -root only
// when it is relative and stays inside the tree); the walk's result is the
// canonical path: the directories the path really lies in, with no link
// among them.
//
// The operation then opens that canonical directory with openat2
// (RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS) beneath an
// O_PATH fd of the host's /, or where openat2 is missing (Linux before
// 5.6) component by component with O_NOFOLLOW, and does its work relative
// to that fd: openat, mkdirat, renameat, unlinkat, fstatat with
// AT_SYMLINK_NOFOLLOW, fsync of the directory fd. A link swapped in after
// the walk makes the open fail instead of being followed, so nothing a
// check accepted can be redirected before its use, and nothing resolves
// outside a -root tree.

// noOpenat2 is set once openat2 turned out to be missing (or refused by a
// seccomp filter); tests set it to exercise the fallback.
var noOpenat2 atomic.Bool

// maxHops bounds the symbolic links one walk follows (as the kernel's 40).
const maxHops = 40

// walked is where a host path lies after walk.
type walked struct {
	// dir is the directory holding the path's last component: canonical
	// components below the host's /, neither links nor "." nor "..".
	dir []string
	// name is the last component in dir; "" when the path was walked as
	// a directory (it is dir itself); "." when a followed link names a
	// directory.
	name string
	// missing, when set, are the components still to walk when
	// dir/missing[0] does not exist: the path does not exist.
	missing []string
	// masked is set when the last component is a link to /dev/null.
	masked bool
}

// comp is a path component still to walk.
type comp struct {
	name string
	// logical is the prefix of the path asked for that this component
	// stands for (a link's target stands for the link): a link found
	// while resolving a trusted directory is accepted too.
	logical string
	// viaFile is set for the components of a followed file link's
	// target.
	viaFile bool
}

// rootDir is the host's / on this machine.
func (f *files) rootDir() string {
	if f.root == "" {
		return "/"
	}
	return f.root
}

// openRoot returns an O_PATH fd of the host's /.
func (f *files) openRoot() (int, error) {
	fd, err := unix.Open(f.rootDir(), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("host %s: %w", f.host, &fs.PathError{Op: "open", Path: f.rootDir(), Err: err})
	}
	return fd, nil
}

// openCanon opens the canonical directory dir beneath rootfd with flags
// (O_PATH or O_RDONLY, with O_DIRECTORY), following no symbolic link at
// all: one that appeared since the walk fails the open with ELOOP.
func openCanon(rootfd int, dir []string, flags int) (int, error) {
	rel := "."
	if len(dir) > 0 {
		rel = strings.Join(dir, "/")
	}
	flags |= unix.O_DIRECTORY | unix.O_CLOEXEC
	if !noOpenat2.Load() {
		how := &unix.OpenHow{
			Flags:   uint64(flags),
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		}
		for try := 0; ; try++ {
			fd, err := unix.Openat2(rootfd, rel, how)
			if err == unix.EAGAIN && try < 100 {
				continue // a rename raced the lookup
			}
			if err == unix.ENOSYS || err == unix.EPERM {
				noOpenat2.Store(true)
				break
			}
			return fd, err
		}
	}
	fd, err := unix.Openat(rootfd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	for _, c := range dir {
		next, err := openDirNoFollow(fd, c, unix.O_PATH)
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	next, err := unix.Openat(fd, ".", flags, 0)
	unix.Close(fd)
	return next, err
}

// openDirNoFollow opens directory name in dirfd, failing with ELOOP when
// it is a symbolic link.
func openDirNoFollow(dirfd int, name string, flags int) (int, error) {
	if flags&unix.O_PATH == 0 {
		return unix.Openat(dirfd, name, flags|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	// O_PATH|O_NOFOLLOW opens a link itself: tell from the fd what it is.
	fd, err := unix.Openat(dirfd, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return fd, nil
	case unix.S_IFLNK:
		err = unix.ELOOP
	default:
		err = unix.ENOTDIR
	}
	unix.Close(fd)
	return -1, err
}

// check refuses a host path that is not absolute and clean, or is /.
func (f *files) check(p string) error {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
		return fmt.Errorf("host %s: %q is not a clean absolute file path", f.host, p)
	}
	return nil
}

// walk resolves host path p (checked by check) as described at the top of
// this file. The last component is walked as a directory when lastIsDir;
// otherwise it is followed when it is a link and followLast is set, and
// else left as it is (a write replaces a link, a remove removes it).
func (f *files) walk(p string, lastIsDir, followLast bool) (walked, error) {
	rootfd, err := f.openRoot()
	if err != nil {
		return walked{}, err
	}
	defer unix.Close(rootfd)
	w := &walker{f: f, p: p, lastIsDir: lastIsDir, followLast: followLast, rootfd: rootfd, cur: -1}
	parts := strings.Split(p[1:], "/")
	w.rest = make([]comp, len(parts))
	for i, c := range parts {
		w.rest[i] = comp{name: c, logical: "/" + strings.Join(parts[:i+1], "/")}
	}
	defer func() {
		if w.cur >= 0 {
			unix.Close(w.cur)
		}
	}()
	if err := w.reopen(); err != nil {
		return walked{}, err
	}
	for len(w.rest) > 0 {
		c := w.rest[0]
		w.rest = w.rest[1:]
		if out, done, err := w.step(c); done || err != nil {
			return out, err
		}
	}
	if lastIsDir {
		return walked{dir: w.dir}, nil
	}
	// A followed link's target ended in "/", "." or "..".
	return walked{dir: w.dir, name: "."}, nil
}

// walker is one walk of a host path (files.walk).
type walker struct {
	f                     *files
	p                     string
	lastIsDir, followLast bool
	rootfd                int
	// dir is the directory reached, cur an O_PATH fd of it (-1 for none);
	// rest the components still to walk.
	dir  []string
	cur  int
	rest []comp
	// hops counts the links followed and the directories looked at again.
	hops int
}

// reopen opens dir again as cur.
func (w *walker) reopen() error {
	if w.cur >= 0 {
		unix.Close(w.cur)
	}
	var err error
	w.cur, err = openCanon(w.rootfd, w.dir, unix.O_PATH)
	if err != nil {
		w.cur = -1
		return w.f.changed(w.p, "/"+strings.Join(w.dir, "/"), err)
	}
	return nil
}

// again puts c back to be walked again: what it is changed meanwhile.
func (w *walker) again(c comp) { w.rest = append([]comp{c}, w.rest...) }

// step walks component c; done is set when the walk ends there, with
// what it found.
func (w *walker) step(c comp) (out walked, done bool, err error) {
	f := w.f
	file := len(w.rest) == 0 && !w.lastIsDir
	switch c.name {
	case "", ".":
		return walked{}, false, nil
	case "..":
		// Never above the host's /; a link that would climb there
		// for a directory is refused before (staysInside).
		if len(w.dir) > 0 {
			w.dir = w.dir[:len(w.dir)-1]
			if err := w.reopen(); err != nil {
				return walked{}, true, err
			}
		}
		return walked{}, false, nil
	}
	if file && !w.followLast {
		return walked{dir: w.dir, name: c.name}, true, nil
	}
	where := "/" + strings.Join(append(w.dir[:len(w.dir):len(w.dir)], c.name), "/")
	var st unix.Stat_t
	err = unix.Fstatat(w.cur, c.name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.ENOENT {
		if file {
			return walked{dir: w.dir, name: c.name}, true, nil
		}
		out := walked{dir: w.dir, missing: []string{c.name}}
		for _, r := range w.rest {
			out.missing = append(out.missing, r.name)
		}
		return out, true, nil
	}
	if err != nil {
		return walked{}, true, fmt.Errorf("host %s: %w", f.host, &fs.PathError{Op: "lstat", Path: where, Err: err})
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		return w.link(c, where, file)
	case unix.S_IFDIR:
		if file {
			return walked{dir: w.dir, name: c.name}, true, nil
		}
		return w.enter(c, where)
	}
	if file {
		return walked{dir: w.dir, name: c.name}, true, nil
	}
	return walked{}, true, fmt.Errorf("host %s: %s: %s is not a directory", f.host, w.p, where)
}

// link follows the link c at where, the last component when file is set:
// its target's components are walked next, from / for an absolute one.
func (w *walker) link(c comp, where string, file bool) (walked, bool, error) {
	f := w.f
	if w.hops++; w.hops > maxHops {
		return walked{}, true, fmt.Errorf("host %s: %w", f.host, &fs.PathError{Op: "open", Path: w.p, Err: unix.ELOOP})
	}
	target, err := readlinkat(w.cur, c.name)
	if err == unix.EINVAL || err == unix.ENOENT {
		// No longer a link: look again.
		w.again(c)
		return walked{}, false, nil
	}
	if err != nil {
		return walked{}, true, fmt.Errorf("host %s: %w", f.host, &fs.PathError{Op: "readlink", Path: where, Err: err})
	}
	if file {
		if target == "/dev/null" {
			return walked{dir: w.dir, name: c.name, masked: true}, true, nil
		}
	} else if err := f.allowDirLink(w.p, where, target, c, len(w.dir)); err != nil {
		return walked{}, true, err
	}
	next := make([]comp, 0, len(w.rest)+8)
	for _, t := range strings.Split(target, "/") {
		next = append(next, comp{name: t, logical: c.logical, viaFile: c.viaFile || file})
	}
	w.rest = append(next, w.rest...)
	if filepath.IsAbs(target) {
		w.dir = nil
		if err := w.reopen(); err != nil {
			return walked{}, true, err
		}
	}
	return walked{}, false, nil
}

// enter goes down into the directory c at where.
func (w *walker) enter(c comp, where string) (walked, bool, error) {
	next, err := openDirNoFollow(w.cur, c.name, unix.O_PATH)
	if (err == unix.ELOOP || err == unix.ENOENT || err == unix.ENOTDIR) && w.hops < maxHops {
		// No longer a directory: look again.
		w.hops++
		w.again(c)
		return walked{}, false, nil
	}
	if err != nil {
		return walked{}, true, w.f.changed(w.p, where, err)
	}
	unix.Close(w.cur)
	w.cur = next
	w.dir = append(w.dir, c.name)
	return walked{}, false, nil
}

// allowDirLink applies fencer's policy to the link at host path where,
// met for a directory while walking p: accepted are links directly under
// / (merged /usr: /lib -> usr/lib), trusted directories and what their
// targets resolve through, and on the machine itself the directories of a
// followed unit file link's target; under a root directory only relative
// links whose ".." never climb above the root.
func (f *files) allowDirLink(p, where, target string, c comp, depth int) error {
	if !(depth == 0 || f.isTrusted(where) || f.isTrusted(c.logical) || (c.viaFile && f.root == "")) {
		return fmt.Errorf("host %s: refusing %s: %s %w (fencer does not follow links in directories it reads or writes)", f.host, p, where, ErrSymlink)
	}
	if f.root != "" && !staysInside(target, depth) {
		return fmt.Errorf("host %s: refusing %s: %s %w to %q, which leaves the tree (under -root fencer follows only relative links for directories that stay inside it)", f.host, p, where, ErrSymlink, target)
	}
	return nil
}

// staysInside reports whether a link's target, for a link depth
// directories below the root, is relative and its ".." never climb above
// the root.
func staysInside(target string, depth int) bool {
	if filepath.IsAbs(target) {
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

// changed is the error for an open of a directory the walk had found: a
// link in its place means the tree changed under fencer.
func (f *files) changed(p, where string, err error) error {
	if errors.Is(err, unix.ELOOP) {
		return fmt.Errorf("host %s: refusing %s: %s %w now (it changed while fencer was using it)", f.host, p, where, ErrSymlink)
	}
	if errors.Is(err, unix.ENOTDIR) {
		return fmt.Errorf("host %s: %s: %s is not a directory now (it changed while fencer was using it)", f.host, p, where)
	}
	return fmt.Errorf("host %s: %w", f.host, &fs.PathError{Op: "open", Path: where, Err: err})
}

// readlinkat returns the target of the link name in dirfd.
func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// at is an open directory of the host, for operations relative to it.
type at struct {
	f    *files
	fd   int
	path string // the host path, for messages
}

// openAt opens the canonical directory dir (from walk) for reading,
// listing and fsync.
func (f *files) openAt(p string, dir []string) (*at, error) {
	rootfd, err := f.openRoot()
	if err != nil {
		return nil, err
	}
	defer unix.Close(rootfd)
	where := "/" + strings.Join(dir, "/")
	fd, err := openCanon(rootfd, dir, unix.O_RDONLY)
	if err != nil {
		return nil, f.changed(p, where, err)
	}
	return &at{f: f, fd: fd, path: where}, nil
}

func (d *at) close() { unix.Close(d.fd) }

// join is the host path of name in d.
func (d *at) join(name string) string {
	if d.path == "/" {
		return "/" + name
	}
	return d.path + "/" + name
}

// err wraps errno from op on name in d as a host error.
func (d *at) err(op, name string, errno error) error {
	return fmt.Errorf("host %s: %w", d.f.host, &fs.PathError{Op: op, Path: d.join(name), Err: errno})
}

// sync fsyncs the directory.
func (d *at) sync() error {
	if err := unix.Fsync(d.fd); err != nil {
		return d.err("fsync", ".", err)
	}
	return nil
}
