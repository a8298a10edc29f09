package draft

import (
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/observe"
)

// Origins of an fd argument: an index into Recording.Fds for an fd the
// program started with and still held under that number, or one of these.
const (
	// ownFd is an fd the program made itself (opened, accepted, dup'ed,
	// or an inherited number it closed and reused): its number depends on
	// the run.
	ownFd = -1
	// unknownFd is a value that is no open fd fencer knows of: negative
	// (-1 for "none"), closed, or in a process whose fd table the
	// recording does not show from its start.
	unknownFd = -2
)

// fdUse is one fd argument of one call.
type fdUse struct {
	arg    int
	number int64 // the argument as the kernel reads an fd (int)
	origin int   // index into Recording.Fds, ownFd or unknownFd
}

// fdTracker follows every process's fd table through the recording.
type fdTracker struct {
	rec *observe.Recording
	a   *arch.Arch
	// uses holds each call's fd arguments, by call index.
	uses map[int][]fdUse
	// lost lists the inherited fds (by index into Recording.Fds) that
	// some process closed or replaced: their numbers may hold the
	// program's own files later.
	lost map[int]bool
	// tables maps each thread to its fd table (threads of one process,
	// and CLONE_FILES children, share one).
	tables map[int]*fdTable
}

// fdTable is one fd table.
type fdTable struct {
	// fds maps open numbers to their origin (index into Recording.Fds or
	// ownFd) and close-on-exec flag.
	fds map[int64]fdEntry
	// partial is set when the table's start is unknown: a number it does
	// not hold may still be open.
	partial bool
}

type fdEntry struct {
	origin  int
	cloexec bool
}

func (t *fdTable) copy() *fdTable {
	c := &fdTable{fds: make(map[int64]fdEntry, len(t.fds)), partial: t.partial}
	for n, e := range t.fds {
		c.fds[n] = e
	}
	return c
}

// lowestFree is the lowest number t does not hold, as the kernel gives
// a new fd.
func (t *fdTable) lowestFree() int64 {
	for n := int64(0); ; n++ {
		if _, ok := t.fds[n]; !ok {
			return n
		}
	}
}

// socketFdCalls take a socket in arg0; the kernel's table does not name
// their arguments.
var socketFdCalls = map[string]bool{
	"accept": true, "accept4": true, "bind": true, "connect": true, "listen": true,
	"getsockname": true, "getpeername": true, "sendto": true, "recvfrom": true,
	"sendmsg": true, "recvmsg": true, "sendmmsg": true, "recvmmsg": true, "recvmmsg_time64": true,
	"shutdown": true, "setsockopt": true, "getsockopt": true, "send": true, "recv": true,
}

// fdArgNames are the kernel's names of arguments that are an open fd the
// call acts on.
var fdArgNames = map[string]bool{
	"fd": true, "ufd": true, "epfd": true, "in_fd": true, "out_fd": true, "oldfd": true,
	"fd_in": true, "fd_out": true, "fdin": true, "fdout": true,
}

// notFdArgs are syscalls whose argument named fd is not one to pin:
// close_range's is the first of a range, old_mmap's is in memory.
var notFdArgs = map[string]bool{"old_mmap": true, "close_range": true}

// fdArgs lists the arguments of the syscall on a that are an open fd the
// call acts on (dup2's and dup3's target, newfd, is not among them: it
// need not be open).
func fdArgs(a *arch.Arch, name string) []int {
	if socketFdCalls[name] {
		return []int{0}
	}
	if notFdArgs[name] {
		return nil
	}
	n, ok := a.NumArgs(name)
	if !ok {
		// A split syscall (pread64 on i386): the arguments before the
		// split are where the prototype puts them.
		first, split := a.SplitFrom(name)
		if !split {
			return nil
		}
		if splitFd[name] && first > 0 {
			return []int{0}
		}
		n = first
	}
	var out []int
	for i := 0; i < n; i++ {
		if fdArgNames[a.ArgName(name, i)] {
			out = append(out, i)
		}
	}
	return out
}

// splitFd are the syscalls that split a 64-bit argument over two
// registers on 32-bit architectures (where fencer has no argument names
// for them) and take an fd first.
var splitFd = map[string]bool{
	"pread64": true, "pwrite64": true, "preadv": true, "pwritev": true, "preadv2": true, "pwritev2": true,
	"ftruncate64": true, "fallocate": true, "sync_file_range": true, "sync_file_range2": true,
	"fadvise64_64": true, "arm_fadvise64_64": true, "readahead": true,
}

// newFd gives, for a syscall that returns a new fd, the argument and
// constant of its close-on-exec flag (arg -1: it has none, arg -2: the
// fd is always close-on-exec).
var newFd = map[string]struct {
	arg  int
	flag string
}{
	"open": {1, "O_CLOEXEC"}, "openat": {2, "O_CLOEXEC"}, "openat2": {-1, ""}, "creat": {-1, ""},
	"open_by_handle_at": {2, "O_CLOEXEC"},
	"socket":            {1, "SOCK_CLOEXEC"}, "accept": {-1, ""}, "accept4": {3, "SOCK_CLOEXEC"},
	"dup": {-1, ""}, "epoll_create": {-1, ""}, "epoll_create1": {0, "EPOLL_CLOEXEC"},
	"eventfd": {-1, ""}, "eventfd2": {1, "EFD_CLOEXEC"}, "signalfd": {-1, ""}, "signalfd4": {3, "SFD_CLOEXEC"},
	"timerfd_create": {1, "TFD_CLOEXEC"}, "inotify_init": {-1, ""}, "inotify_init1": {0, "IN_CLOEXEC"},
	"fanotify_init": {0, "FAN_CLOEXEC"}, "memfd_create": {1, "MFD_CLOEXEC"}, "memfd_secret": {0, "O_CLOEXEC"},
	"userfaultfd": {0, "O_CLOEXEC"}, "perf_event_open": {4, "PERF_FLAG_FD_CLOEXEC"},
	"pidfd_open": {-2, ""}, "pidfd_getfd": {-2, ""}, "io_uring_setup": {-2, ""},
	"fsopen": {0, "FSOPEN_CLOEXEC"}, "fsmount": {1, "FSMOUNT_CLOEXEC"}, "open_tree": {2, "OPEN_TREE_CLOEXEC"},
	"fspick": {2, "FSPICK_CLOEXEC"}, "mq_open": {1, "O_CLOEXEC"}, "landlock_create_ruleset": {-2, ""},
	"bpf": {-1, ""}, "seccomp": {-2, ""}, "mount_setattr": {-1, ""},
}

// trackFds follows the fd tables through the recording and records the
// origin of every fd argument.
func trackFds(rec *observe.Recording, an *analysis, a *arch.Arch) *fdTracker {
	t := &fdTracker{rec: rec, a: a, uses: map[int][]fdUse{}, lost: map[int]bool{}, tables: map[int]*fdTable{}}
	if len(rec.Calls) > 0 {
		first := &fdTable{fds: map[int64]fdEntry{}}
		for i, fd := range rec.Fds {
			first.fds[int64(fd.Number)] = fdEntry{origin: i}
		}
		t.tables[rec.Calls[0].TID] = first
	}
	for i := range rec.Calls {
		name := an.calls[i].name
		if name == "" {
			continue
		}
		c := &rec.Calls[i]
		tab := t.tables[c.TID]
		if tab == nil {
			tab = &fdTable{fds: map[int64]fdEntry{}, partial: true}
			t.tables[c.TID] = tab
		}
		for _, arg := range trackedFdArgs(a, name) {
			n := int64(int32(uint32(c.Args[arg])))
			t.uses[i] = append(t.uses[i], fdUse{arg: arg, number: n, origin: tab.origin(n)})
		}
		t.effect(name, c, tab)
	}
	return t
}

// origin is where fd n of t comes from.
func (tab *fdTable) origin(n int64) int {
	if e, ok := tab.fds[n]; ok {
		return e.origin
	}
	return unknownFd
}

// effect applies what call c did to the fd tables.
func (t *fdTracker) effect(name string, c *observe.Call, tab *fdTable) {
	ok := c.Returned && c.Ret >= 0
	switch name {
	case "close":
		if !c.Returned || c.Ret != -9 { // EBADF: nothing was closed
			t.drop(tab, int64(int32(uint32(c.Args[0]))))
		}
		return
	case "close_range":
		if ok {
			t.closeRange(c, tab)
		}
		return
	case "dup2", "dup3":
		if ok && c.Args[0] != c.Args[1] {
			t.put(tab, c.Ret, fdEntry{origin: ownFd, cloexec: name == "dup3" && t.flag(c.Args[2], "O_CLOEXEC")})
		}
		return
	case "fcntl", "fcntl64":
		if ok {
			t.fcntl(c, tab)
		}
		return
	case "pipe", "pipe2", "socketpair":
		if ok && !tab.partial {
			cloexec := name == "pipe2" && t.flag(c.Args[1], "O_CLOEXEC") || name == "socketpair" && t.flag(c.Args[1], "SOCK_CLOEXEC")
			for k := 0; k < 2; k++ {
				t.put(tab, tab.lowestFree(), fdEntry{origin: ownFd, cloexec: cloexec})
			}
		}
		return
	case "clone", "clone3", "fork", "vfork":
		if ok && c.Ret > 0 {
			t.child(name, c, tab)
		}
		return
	case "unshare":
		if ok && t.flag(c.Args[0], "CLONE_FILES") {
			t.tables[c.TID] = tab.copy()
		}
		return
	case "execve", "execveat":
		if !c.Returned || c.Ret == 0 {
			t.exec(c, tab)
		}
		return
	}
	if nf, isNew := newFd[name]; isNew && ok {
		t.put(tab, c.Ret, fdEntry{origin: ownFd, cloexec: nf.arg == -2 || nf.arg >= 0 && t.flag(c.Args[nf.arg], nf.flag)})
	}
}

// flag reports whether v has the named constant's bits, all of them.
func (t *fdTracker) flag(v uint64, name string) bool {
	k, ok := t.a.Const(name)
	return ok && k != 0 && v&k == k
}

// put makes number n of tab e, losing the inherited fd it held.
func (t *fdTracker) put(tab *fdTable, n int64, e fdEntry) {
	t.drop(tab, n)
	tab.fds[n] = e
}

// drop closes number n of tab.
func (t *fdTracker) drop(tab *fdTable, n int64) {
	if e, ok := tab.fds[n]; ok {
		if e.origin >= 0 {
			t.lost[e.origin] = true
		}
		delete(tab.fds, n)
	}
}

func (t *fdTracker) closeRange(c *observe.Call, tab *fdTable) {
	first, last := int64(uint32(c.Args[0])), int64(uint32(c.Args[1]))
	flags := c.Args[2]
	if t.flag(flags, "CLOSE_RANGE_UNSHARE") {
		tab = tab.copy()
		t.tables[c.TID] = tab
	}
	for n, e := range tab.fds {
		if n < first || n > last {
			continue
		}
		if t.flag(flags, "CLOSE_RANGE_CLOEXEC") {
			e.cloexec = true
			tab.fds[n] = e
		} else {
			t.drop(tab, n)
		}
	}
}

func (t *fdTracker) fcntl(c *observe.Call, tab *fdTable) {
	cmd := c.Args[1] & 0xffffffff
	is := func(name string) bool { k, ok := t.a.Const(name); return ok && cmd == k }
	switch {
	case is("F_DUPFD"), is("F_DUPFD_CLOEXEC"):
		t.put(tab, c.Ret, fdEntry{origin: ownFd, cloexec: is("F_DUPFD_CLOEXEC")})
	case is("F_SETFD"):
		n := int64(int32(uint32(c.Args[0])))
		if e, ok := tab.fds[n]; ok {
			e.cloexec = t.flag(c.Args[2], "FD_CLOEXEC")
			tab.fds[n] = e
		}
	}
}

// child gives the thread or process a clone made its fd table.
func (t *fdTracker) child(name string, c *observe.Call, tab *fdTable) {
	var flags uint64
	switch name {
	case "clone":
		flags = c.Args[t.a.CloneFlagsArg()]
	case "clone3":
		flags = c.CloneFlags
	}
	if t.flag(flags, "CLONE_FILES") {
		t.tables[int(c.Ret)] = tab
		return
	}
	t.tables[int(c.Ret)] = tab.copy()
}

// exec closes the close-on-exec fds of the thread's (now unshared) table.
func (t *fdTracker) exec(c *observe.Call, tab *fdTable) {
	nt := tab.copy()
	for n, e := range nt.fds {
		if e.cloexec {
			t.drop(nt, n)
		}
	}
	t.tables[c.TID] = nt
}
