package host

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// links lists the symbolic links directly in host directory p (reached
// as readDir reaches it), each with its target resolved by chase.
func (f *files) links(p string) (map[string]string, error) {
	d, err := f.openDir(p)
	if err != nil {
		return nil, err
	}
	defer d.close()
	names, err := d.names()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(d.fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if err == unix.ENOENT {
				continue // removed meanwhile
			}
			return nil, d.err("lstat", n, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			continue
		}
		target, err := readlinkat(d.fd, n)
		if err != nil {
			out[n] = "" // systemd ignores a link it cannot read
			continue
		}
		if !path.IsAbs(target) {
			target = p + "/" + target
		}
		out[n] = f.chase(target)
	}
	return out, nil
}

// chase resolves host path p the way systemd's chase_symlinks does with
// CHASE_NOFOLLOW|CHASE_NONEXISTENT, which is how it tells an alias link
// from a link to a unit file elsewhere: "." and ".." removed, every link
// among the directories followed (an absolute target from the host's /,
// ".." never above it), the last component kept as it is, and from the
// first component that does not exist on, the rest as written. It returns
// "" where systemd fails (a loop, an unreadable link, ".." after a missing
// component, a file for a directory), and such a link systemd ignores. It
// only computes a path: it opens nothing, so it follows links without
// fencer's rules for the paths it reads and writes.
func (f *files) chase(p string) string {
	rest := strings.Split(p, "/")
	var done []string
	hops := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		if len(rest) == 0 || onlyDots(rest) {
			// The last component: not followed.
			done = append(done, c)
			continue
		}
		real := f.rootDir() + "/" + strings.Join(append(done[:len(done):len(done)], c), "/")
		st, err := os.Lstat(real)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// What follows is taken as written, but ".." would be
			// guesswork: systemd refuses it.
			for _, r := range rest {
				if r == ".." {
					return ""
				}
			}
			done = append(done, c)
			for _, r := range rest {
				if r != "" && r != "." {
					done = append(done, r)
				}
			}
			rest = nil
			continue
		case err != nil:
			return ""
		case st.Mode()&fs.ModeSymlink != 0:
			if hops++; hops > maxHops {
				return ""
			}
			t, err := os.Readlink(real)
			if err != nil {
				return ""
			}
			if path.IsAbs(t) {
				done = nil
			}
			rest = append(strings.Split(t, "/"), rest...)
		case st.IsDir():
			done = append(done, c)
		default:
			return "" // a file where a directory should be
		}
	}
	return "/" + strings.Join(done, "/")
}

// onlyDots reports whether the components are all "" or ".".
func onlyDots(cs []string) bool {
	for _, c := range cs {
		if c != "" && c != "." {
			return false
		}
	}
	return true
}
