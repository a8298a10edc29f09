package lint

// The data behind the sibling lints (see lint.go and docs/language.md,
// "Lints"): syscalls that do what another does, so that a condition on one
// means little while the other is allowed.
//
// There are two kinds of entry.
//
// A family is syscalls that act on the same thing, one argument of each
// (the fd written to, the flags of a new process, ...). When a policy
// restricts that argument of a family member marked restricts, and allows
// another member whatever its argument (or at all, for a member that takes
// it from memory, where no filter sees it), the restriction does not limit
// what the service can do, and validate says so. A member whose own rules
// restrict the argument is taken as deliberate and not reported: sendto
// allowed on client sockets next to write allowed on the log file is a
// policy, not an oversight. Members that do the family's thing only as a
// side effect (mmap reads a file, but a condition on mmap's fd is about
// memory, not about reading) are siblings but never the restricted one.
//
// An equivalent is a syscall that is another with some arguments fixed, as
// the kernel implements it: fork is clone(SIGCHLD, 0, ...), open is
// openat(AT_FDCWD, ...). Those are checked exactly: any call the policy
// allows to the one whose counterpart it refuses to the other is reported.
//
// Members that do not exist on an architecture are skipped there; an
// argument that is not in a register on an architecture (i386's and
// s390x's mmap take a pointer to their arguments, a 64-bit argument split
// over two registers moves those after it) counts as taken from memory.

// A family of syscalls that act on the same argument.
type family struct {
	// name identifies the family in tests.
	name string
	// param is what the argument is, for messages: "fd", "flags", ...
	param string
	// does says what the members do with it: "write to".
	does string
	// fd is set when param is an fd, which the renumbering lint checks.
	fd bool
	// hex prints example values in hexadecimal (flags, protections).
	hex     bool
	members []member
}

// A member of a family.
type member struct {
	syscall string
	// arg is the argument that carries the family's parameter: 0-5,
	// argCloneFlags for clone's flags (arg1 on s390x, arg0 elsewhere), or
	// argMemory when the syscall reads it from memory.
	arg int
	// restricts is set for a member whose condition on arg is a
	// restriction of the family's thing that its siblings can undo.
	restricts bool
	// why says, for a member that takes the parameter from memory, what
	// it does that no filter sees.
	why string
	// reaches, when set, narrows what the member acts on: "socket" for
	// send and recv, which fail with ENOTSOCK on other fds.
	reaches string
	// advice, when set, replaces the general fix in the message.
	advice string
	// guard, when set, is the bits (a constant's name) that argument
	// guardArg must have for the member to do the family's thing: mmap
	// writes a file only through a shared mapping (MAP_SHARED in its
	// flags; its prot can be made writable later with mprotect).
	guard    string
	guardArg int
}

const (
	argMemory     = -1
	argCloneFlags = -2
)

var (
	ioUringWhy    = "runs reads, writes and other operations queued in memory, where no filter sees their fds or flags"
	ioSubmitWhy   = "submits asynchronous reads, writes and syncs whose fds are in memory"
	socketcallWhy = "takes its socket operation's arguments from memory"
	ioUringAdvice = "Deny io_uring_enter (and io_uring_setup) unless the service needs io_uring: its operations pass no filter."
)

// mmapWriteAdvice is the fix for a shared mapping that undoes a write
// restriction.
func mmapWriteAdvice(syscall string) string {
	return "Give " + syscall + " the condition `arg4 == -1 || !has_bits(arg3, MAP_SHARED)` (anonymous or private mappings only: " +
		"a private mapping's writes stay in memory), or the same fds as the writes."
}

// families is the sibling table.
var families = []family{
	{
		name: "write", param: "fd", does: "write to", fd: true,
		members: []member{
			{syscall: "write", arg: 0, restricts: true},
			{syscall: "writev", arg: 0, restricts: true},
			{syscall: "pwrite64", arg: 0, restricts: true},
			{syscall: "pwritev", arg: 0, restricts: true},
			{syscall: "pwritev2", arg: 0, restricts: true},
			{syscall: "send", arg: 0, restricts: true, reaches: "socket"},
			{syscall: "sendto", arg: 0, restricts: true, reaches: "socket"},
			{syscall: "sendmsg", arg: 0, restricts: true, reaches: "socket"},
			{syscall: "sendmmsg", arg: 0, restricts: true, reaches: "socket"},
			{syscall: "sendfile", arg: 0},   // out_fd
			{syscall: "sendfile64", arg: 0}, // out_fd
			{syscall: "splice", arg: 2},     // fd_out
			{syscall: "tee", arg: 1},        // fd_out
			{syscall: "vmsplice", arg: 0},
			{syscall: "copy_file_range", arg: 2}, // fd_out
			// A shared mapping of a file writes the file.
			{syscall: "mmap", arg: 4, reaches: "file", guard: "MAP_SHARED", guardArg: 3, advice: mmapWriteAdvice("mmap")},
			{syscall: "mmap2", arg: 4, reaches: "file", guard: "MAP_SHARED", guardArg: 3, advice: mmapWriteAdvice("mmap2")},
			{syscall: "io_uring_enter", arg: argMemory, why: ioUringWhy, advice: ioUringAdvice},
			{syscall: "io_submit", arg: argMemory, why: ioSubmitWhy},
			{syscall: "socketcall", arg: argMemory, why: socketcallWhy},
		},
	},
	{
		name: "read", param: "fd", does: "read from", fd: true,
		members: []member{
			{syscall: "read", arg: 0, restricts: true},
			{syscall: "readv", arg: 0, restricts: true},
			{syscall: "pread64", arg: 0, restricts: true},
			{syscall: "preadv", arg: 0, restricts: true},
			{syscall: "preadv2", arg: 0, restricts: true},
			{syscall: "recv", arg: 0, restricts: true, reaches: "socket"},
			{syscall: "recvfrom", arg: 0, restricts: true, reaches: "socket"},
			{syscall: "recvmsg", arg: 0, restricts: true, reaches: "socket"},
			{syscall: "recvmmsg", arg: 0, restricts: true, reaches: "socket"},
			{syscall: "recvmmsg_time64", arg: 0, restricts: true, reaches: "socket"},
			{syscall: "sendfile", arg: 1},   // in_fd
			{syscall: "sendfile64", arg: 1}, // in_fd
			{syscall: "splice", arg: 0},     // fd_in
			{syscall: "tee", arg: 0},        // fd_in
			{syscall: "vmsplice", arg: 0},   // also reads a pipe into memory
			{syscall: "copy_file_range", arg: 0},
			// A file mapping is a way to read the file.
			{syscall: "mmap", arg: 4, reaches: "file", advice: "Give mmap the condition arg4 == -1 (anonymous memory only), or the same fds as the reads."},
			{syscall: "mmap2", arg: 4, reaches: "file", advice: "Give mmap2 the condition arg4 == -1 (anonymous memory only), or the same fds as the reads."},
			{syscall: "io_uring_enter", arg: argMemory, why: ioUringWhy, advice: ioUringAdvice},
			{syscall: "io_submit", arg: argMemory, why: ioSubmitWhy},
			{syscall: "socketcall", arg: argMemory, why: socketcallWhy},
		},
	},
	{
		name: "accept", param: "fd", does: "accept connections on", fd: true,
		members: []member{
			{syscall: "accept", arg: 0, restricts: true},
			{syscall: "accept4", arg: 0, restricts: true},
			{syscall: "io_uring_enter", arg: argMemory, why: ioUringWhy, advice: ioUringAdvice},
			{syscall: "socketcall", arg: argMemory, why: socketcallWhy},
		},
	},
	{
		name: "sync", param: "fd", does: "flush to disk", fd: true,
		members: []member{
			{syscall: "fsync", arg: 0, restricts: true},
			{syscall: "fdatasync", arg: 0, restricts: true},
			{syscall: "sync_file_range", arg: 0, restricts: true},
			{syscall: "sync_file_range2", arg: 0, restricts: true},
			// syncfs flushes the whole file system an fd is on, sync all
			// of them.
			{syscall: "syncfs", arg: 0},
			{syscall: "sync", arg: argMemory, why: "flushes every file system"},
			{syscall: "io_uring_enter", arg: argMemory, why: ioUringWhy, advice: ioUringAdvice},
			{syscall: "io_submit", arg: argMemory, why: ioSubmitWhy},
		},
	},
	{
		name: "fstat", param: "fd", does: "read the metadata of", fd: true,
		members: []member{
			{syscall: "fstat", arg: 0, restricts: true},
			{syscall: "fstat64", arg: 0, restricts: true},
			{syscall: "oldfstat", arg: 0, restricts: true},
			// With AT_EMPTY_PATH these stat their dirfd itself.
			{syscall: "newfstatat", arg: 0},
			{syscall: "fstatat64", arg: 0},
			{syscall: "statx", arg: 0},
			{syscall: "io_uring_enter", arg: argMemory, why: ioUringWhy, advice: ioUringAdvice},
		},
	},
	{
		name: "open", param: "flags", does: "open files with", hex: true,
		members: []member{
			{syscall: "open", arg: 1, restricts: true},
			{syscall: "openat", arg: 2, restricts: true},
			{syscall: "open_by_handle_at", arg: 2},
			{syscall: "openat2", arg: argMemory, why: "takes its flags in memory (struct open_how)"},
			{syscall: "io_uring_enter", arg: argMemory, why: ioUringWhy, advice: ioUringAdvice},
		},
	},
	{
		name: "socket domain", param: "domain", does: "create sockets of",
		members: []member{
			{syscall: "socket", arg: 0, restricts: true},
			{syscall: "socketcall", arg: argMemory, why: socketcallWhy},
			{syscall: "io_uring_enter", arg: argMemory, why: ioUringWhy, advice: ioUringAdvice},
		},
	},
	{
		name: "socket type", param: "type", does: "create sockets of", hex: true,
		members: []member{
			{syscall: "socket", arg: 1, restricts: true},
			{syscall: "socketcall", arg: argMemory, why: socketcallWhy},
			{syscall: "io_uring_enter", arg: argMemory, why: ioUringWhy, advice: ioUringAdvice},
		},
	},
	{
		name: "prot", param: "protection", does: "map memory with", hex: true,
		members: []member{
			{syscall: "mmap", arg: 2, restricts: true},
			{syscall: "mmap2", arg: 2, restricts: true},
			{syscall: "mprotect", arg: 2, restricts: true},
			{syscall: "pkey_mprotect", arg: 2, restricts: true},
		},
	},
	{
		name: "clone", param: "flags", does: "start processes and threads with", hex: true,
		members: []member{
			{syscall: "clone", arg: argCloneFlags, restricts: true},
			{syscall: "clone3", arg: argMemory, why: "takes its flags in memory (struct clone_args)",
				advice: "Give clone3 the action errno(ENOSYS): glibc then falls back to clone, which the condition checks."},
		},
	},
	{
		name: "signal", param: "signal", does: "send signals with",
		members: []member{
			{syscall: "kill", arg: 1, restricts: true},
			{syscall: "tkill", arg: 1, restricts: true},
			{syscall: "tgkill", arg: 2, restricts: true},
			{syscall: "rt_sigqueueinfo", arg: 1, restricts: true},
			{syscall: "rt_tgsigqueueinfo", arg: 2, restricts: true},
			{syscall: "pidfd_send_signal", arg: 1, restricts: true},
		},
	},
	{
		name: "signal target", param: "target", does: "send signals to",
		members: []member{
			{syscall: "kill", arg: 0, restricts: true},
			{syscall: "tkill", arg: 0, restricts: true},
			{syscall: "tgkill", arg: 1, restricts: true}, // the thread; arg0 is its group
			{syscall: "rt_sigqueueinfo", arg: 0, restricts: true},
			{syscall: "rt_tgsigqueueinfo", arg: 1, restricts: true},
			{syscall: "pidfd_send_signal", arg: argMemory, why: "signals whatever process its pidfd refers to"},
		},
	},
}

// renumberers are the syscalls that put an open file on an fd number of
// the caller's choosing (dup2, dup3, fcntl's F_DUPFD), or on the lowest
// free one (dup), which breaks every condition that trusts an fd number.
var renumberers = []string{"dup2", "dup3", "fcntl", "fcntl64", "dup"}

// allocators are syscalls that give the caller a new fd, at the lowest
// number that is free (as every new fd is): after close(N), the next one
// is N. In the order the reopening lint names them: the first the policy
// allows.
var allocators = []string{
	"openat", "open", "openat2", "creat", "open_by_handle_at",
	"socket", "accept4", "accept", "socketpair", "socketcall", "recvmsg", "recvmmsg",
	"pipe2", "pipe", "memfd_create", "eventfd2", "eventfd", "epoll_create1", "epoll_create",
	"signalfd4", "signalfd", "timerfd_create", "inotify_init1", "inotify_init",
	"fanotify_init", "pidfd_open", "pidfd_getfd", "userfaultfd", "perf_event_open",
	"io_uring_setup", "bpf", "fsopen", "fspick", "fsmount", "open_tree", "mq_open",
}

// fdArgs are more syscalls whose argument is an fd, for the renumbering
// lint, besides the members of the fd families. close is not here:
// renumbering an fd that close refuses and closing the copy leaves the
// file open.
var fdArgs = []struct {
	syscall string
	arg     int
}{
	{"ioctl", 0}, {"fcntl", 0}, {"fcntl64", 0}, {"lseek", 0}, {"_llseek", 0},
	{"ftruncate", 0}, {"ftruncate64", 0}, {"fallocate", 0}, {"fadvise64", 0}, {"fadvise64_64", 0},
	{"fchmod", 0}, {"fchown", 0}, {"fchown32", 0}, {"fchdir", 0}, {"flock", 0},
	{"fstatfs", 0}, {"fstatfs64", 0}, {"getdents", 0}, {"getdents64", 0},
	{"fgetxattr", 0}, {"fsetxattr", 0}, {"flistxattr", 0}, {"fremovexattr", 0},
	{"connect", 0}, {"bind", 0}, {"listen", 0}, {"shutdown", 0},
	{"getsockopt", 0}, {"setsockopt", 0}, {"getsockname", 0}, {"getpeername", 0},
	{"epoll_ctl", 2}, {"mmap", 4}, {"mmap2", 4},
}

// An equivalent: syscall is as with the arguments args, when guard holds.
type equivalent struct {
	syscall string
	// guard are conditions on syscall's arguments under which it is the
	// other: argument index to constant.
	guard map[int]string
	as    string
	// args are as's arguments: "$N" is syscall's argument N, "*" an
	// argument whose value syscall does not fix (a pointer it makes up),
	// anything else a constant: a number, a constant's name, or names
	// joined by "|".
	args []string
	// cloneFlags, for as == "clone", is the flags (the other arguments
	// are 0), placed where the architecture has them.
	cloneFlags string
	advice     string
}

// equivalents is the table of exact equivalences.
var equivalents = []equivalent{
	{syscall: "fork", as: "clone", cloneFlags: "SIGCHLD",
		advice: "Deny fork and vfork, or let clone start processes the same way: glibc's fork() calls clone."},
	{syscall: "vfork", as: "clone", cloneFlags: "CLONE_VM|CLONE_VFORK|SIGCHLD",
		advice: "Deny fork and vfork, or let clone start processes the same way: glibc's fork() calls clone."},
	{syscall: "open", as: "openat", args: []string{"AT_FDCWD", "$0", "$1", "$2"}},
	{syscall: "creat", as: "openat", args: []string{"AT_FDCWD", "$0", "O_CREAT|O_WRONLY|O_TRUNC", "$1"}},
	{syscall: "creat", as: "open", args: []string{"$0", "O_CREAT|O_WRONLY|O_TRUNC", "$1"}},
	{syscall: "openat", guard: map[int]string{0: "AT_FDCWD"}, as: "open", args: []string{"$1", "$2", "$3"}},
	{syscall: "accept", as: "accept4", args: []string{"$0", "$1", "$2", "0"}},
	{syscall: "accept4", guard: map[int]string{3: "0"}, as: "accept", args: []string{"$0", "$1", "$2"}},
	{syscall: "send", as: "sendto", args: []string{"$0", "$1", "$2", "$3", "0", "0"}},
	{syscall: "sendto", guard: map[int]string{4: "0"}, as: "send", args: []string{"$0", "$1", "$2", "$3"}},
	{syscall: "recv", as: "recvfrom", args: []string{"$0", "$1", "$2", "$3", "0", "0"}},
	{syscall: "recvfrom", guard: map[int]string{4: "0"}, as: "recv", args: []string{"$0", "$1", "$2", "$3"}},
	{syscall: "pipe", as: "pipe2", args: []string{"$0", "0"}},
	{syscall: "pipe2", guard: map[int]string{1: "0"}, as: "pipe", args: []string{"$0"}},
	{syscall: "stat", as: "newfstatat", args: []string{"AT_FDCWD", "$0", "$1", "0"}},
	{syscall: "lstat", as: "newfstatat", args: []string{"AT_FDCWD", "$0", "$1", "AT_SYMLINK_NOFOLLOW"}},
	{syscall: "fstat", as: "newfstatat", args: []string{"$0", "*", "$1", "AT_EMPTY_PATH"}},
	{syscall: "stat64", as: "fstatat64", args: []string{"AT_FDCWD", "$0", "$1", "0"}},
	{syscall: "lstat64", as: "fstatat64", args: []string{"AT_FDCWD", "$0", "$1", "AT_SYMLINK_NOFOLLOW"}},
	{syscall: "fstat64", as: "fstatat64", args: []string{"$0", "*", "$1", "AT_EMPTY_PATH"}},
}
