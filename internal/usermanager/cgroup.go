package usermanager

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Cgroup is one cgroup: its directory in each hierarchy where systemd
// tracks processes (the cgroup2 one, and name=systemd on a hybrid or
// legacy machine). Empty when the machine has none this process can use.
type Cgroup []string

// MakeCgroup creates the cgroup name (one path component, which must not
// exist yet) at the root of each hierarchy that tracks processes and
// returns it, or nothing when it cannot. A user manager roots its units'
// cgroups in its own: without one, every manager started from the root
// cgroup (as on a machine whose PID 1 is not systemd) would put
// metrics.service in the same /app.slice/metrics.service, and one manager
// stopping its unit would kill the others' processes in it: tests running
// side by side, in this process or another, would kill each other's
// services. The cgroup also finds every process started in it when
// tearing down (Cgroup.Kill).
func MakeCgroup(name string) Cgroup {
	var dirs Cgroup
	for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"} {
		var fs unix.Statfs_t
		if unix.Statfs(root, &fs) != nil {
			continue
		}
		if fs.Type != unix.CGROUP2_SUPER_MAGIC && (root == "/sys/fs/cgroup" || fs.Type != unix.CGROUP_SUPER_MAGIC) {
			continue
		}
		d := filepath.Join(root, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			dirs.Remove()
			return nil
		}
		dirs = append(dirs, d)
	}
	return dirs
}

// Sub creates the child cgroup name in each of c's directories, owned by
// uid and gid (directory and files) when uid is not 0: delegated, so that
// a user manager running as that user can make its own cgroups below it,
// as systemd --user insists on.
func (c Cgroup) Sub(name string, uid, gid int) (Cgroup, error) {
	var sub Cgroup
	for _, d := range c {
		s := filepath.Join(d, name)
		if err := os.Mkdir(s, 0o755); err != nil {
			return sub, fmt.Errorf("cgroup: %w", err)
		}
		sub = append(sub, s)
		if uid == 0 {
			continue
		}
		files, err := os.ReadDir(s)
		if err != nil {
			return sub, fmt.Errorf("cgroup: %w", err)
		}
		for _, f := range append([]os.DirEntry{nil}, files...) {
			p := s
			if f != nil {
				p = filepath.Join(s, f.Name())
			}
			if err := os.Lchown(p, uid, gid); err != nil {
				return sub, fmt.Errorf("cgroup: delegating %s: %w", s, err)
			}
		}
	}
	return sub, nil
}

// Procs lists the pids in c and its descendants.
func (c Cgroup) Procs() []int {
	seen := map[int]bool{}
	var pids []int
	for _, d := range c {
		filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil || !e.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && !seen[pid] {
					seen[pid] = true
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// Kill kills every process in c and its descendants and waits (10
// seconds at most) until none is left: on cgroup v2 by writing "1" to
// cgroup.kill, which kills the whole subtree at once (forks included);
// where no hierarchy has cgroup.kill (cgroup v1 only, Linux before 5.14)
// by SIGKILLing every pid in the subtrees' cgroup.procs until none is
// left. Exited processes leave the cgroups at once, before whoever waits
// for them reaps them.
func (c Cgroup) Kill() error {
	if len(c) == 0 {
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := c.Procs()
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still in %s 10s after SIGKILL", pids, strings.Join(c, ", "))
		}
		killed := false
		for _, d := range c {
			if writeCgroupFile(filepath.Join(d, "cgroup.kill"), "1") == nil {
				killed = true
			}
		}
		if !killed {
			for _, pid := range pids {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writeCgroupFile writes s to an existing cgroup file.
func writeCgroupFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Remove removes c and what is below it, deepest first, in every
// hierarchy — systemd makes cgroups of the same path in hierarchies c
// does not list — and reports the directories still there (cgroups
// still in use stay).
func (c Cgroup) Remove() []string {
	dirs := append(Cgroup{}, c...)
	var fs unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &fs) == nil && fs.Type != unix.CGROUP2_SUPER_MAGIC {
		// Hierarchies mounted at /sys/fs/cgroup/*: the same path in each.
		for _, d := range c {
			rel, err := filepath.Rel("/sys/fs/cgroup", d)
			if _, path, ok := strings.Cut(rel, "/"); err == nil && ok && path != "" && !strings.HasPrefix(rel, "..") {
				more, _ := filepath.Glob("/sys/fs/cgroup/*/" + path)
				dirs = append(dirs, more...)
			}
		}
	}
	var left []string
	seen := map[string]bool{}
	for _, d := range dirs {
		if seen[d] {
			continue
		}
		seen[d] = true
		var all []string
		filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				all = append(all, p)
			}
			return nil
		})
		for i := len(all) - 1; i >= 0; i-- {
			if err := os.Remove(all[i]); err != nil && !os.IsNotExist(err) {
				left = append(left, all[i])
			}
		}
	}
	return left
}
