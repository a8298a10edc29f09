package draft

import (
	"testing"

	"github.com/fencer-dev/fencer/internal/observe"
)

// stdio are fds 0-2 and a socket on 3, as systemd passes them.
var stdio = []observe.Fd{
	{Number: 0, Name: "stdin", Kind: "stdin", Value: "null"},
	{Number: 1, Name: "stdout", Kind: "stdout", Value: "journal"},
	{Number: 2, Name: "stderr", Kind: "stderr", Value: "journal"},
	{Number: 3, Name: "http", Kind: "listen_stream", Value: "8080"},
}

// originOf is the origin the tracker gave the fd argument arg of the
// recording's call i.
func originOf(t *testing.T, rec *observe.Recording, i, arg int) int {
	t.Helper()
	an := analyze(rec, mustArch(rec.Arch))
	for _, u := range an.fds.uses[i] {
		if u.arg == arg {
			return u.origin
		}
	}
	t.Fatalf("call %d (%s) has no fd argument %d", i, rec.Calls[i].Name, arg)
	return 0
}

func TestFdProvenance(t *testing.T) {
	const pid = 10
	for _, tc := range []struct {
		name string
		// calls fills the recording; the last call's argument arg is
		// checked.
		calls func(b *builder)
		arg   int
		want  int
		lost  []int // inherited fds (indices into stdio) the program lost
	}{
		{"an inherited fd", func(b *builder) {
			b.call(pid, pid, "write", 5, 2, 0, 5)
		}, 0, 2, nil},
		{"dup2 of its own file onto stdout", func(b *builder) {
			b.call(pid, pid, "openat", 5, b.k("AT_FDCWD")&0xffffffff, 0, b.k("O_WRONLY"))
			b.call(pid, pid, "dup2", 1, 5, 1)
			b.call(pid, pid, "write", 5, 1, 0, 5)
		}, 0, ownFd, []int{1}},
		{"dup2 onto itself changes nothing", func(b *builder) {
			b.call(pid, pid, "dup2", 3, 3, 3)
			b.call(pid, pid, "accept4", 5, 3, 0, 0, 0)
		}, 0, 3, nil},
		{"stdin closed, its number reused", func(b *builder) {
			b.call(pid, pid, "close", 0, 0)
			b.call(pid, pid, "openat", 0, b.k("AT_FDCWD")&0xffffffff, 0, 0)
			b.call(pid, pid, "read", 5, 0, 0, 5)
		}, 0, ownFd, []int{0}},
		{"a close that failed with EBADF closed nothing", func(b *builder) {
			b.call(pid, pid, "close", -9, 0)
			b.call(pid, pid, "read", 5, 0, 0, 5)
		}, 0, 0, nil},
		{"a copy made by fcntl is its own", func(b *builder) {
			b.call(pid, pid, "fcntl", 7, 2, b.k("F_DUPFD_CLOEXEC"), 3)
			b.call(pid, pid, "write", 5, 7, 0, 5)
		}, 0, ownFd, nil},
		{"a forked child has a copy of the table", func(b *builder) {
			b.call(pid, pid, "clone", 20, b.k("SIGCHLD"), 0, 0, 0, 0)
			b.call(20, 20, "write", 5, 2, 0, 5)
		}, 0, 2, nil},
		{"a child's close does not close the parent's fd", func(b *builder) {
			b.call(pid, pid, "clone", 20, b.k("SIGCHLD"), 0, 0, 0, 0)
			b.call(20, 20, "close", 0, 3)
			b.call(pid, pid, "accept4", 5, 3, 0, 0, 0)
		}, 0, 3, []int{3}},
		{"a thread shares the table", func(b *builder) {
			c := b.call(pid, pid, "clone3", 21, 0, 88)
			c.CloneFlags = b.k("CLONE_VM", "CLONE_FILES", "CLONE_THREAD", "CLONE_SIGHAND")
			b.call(pid, 21, "close", 0, 2)
			b.call(pid, 21, "socket", 2, b.k("AF_INET"), b.k("SOCK_STREAM"), 0)
			b.call(pid, pid, "write", 5, 2, 0, 5)
		}, 0, ownFd, []int{2}},
		{"a thread no clone made has a table fencer does not know", func(b *builder) {
			b.call(pid, 99, "write", 5, 2, 0, 5)
		}, 0, unknownFd, nil},
		{"exec closes what close_range marked close-on-exec", func(b *builder) {
			b.call(pid, pid, "close_range", 0, 3, 0xffffffff, b.k("CLOSE_RANGE_CLOEXEC"))
			b.call(pid, pid, "execve", 0, 0, 0, 0)
			b.call(pid, pid, "accept4", 5, 3, 0, 0, 0)
		}, 0, unknownFd, []int{3}},
		{"close_range closes", func(b *builder) {
			b.call(pid, pid, "close_range", 0, 1, 2, 0)
			b.call(pid, pid, "pipe2", 0, 0x7ffd0000, 0)
			b.call(pid, pid, "write", 5, 2, 0, 5)
		}, 0, ownFd, []int{1, 2}},
		{"a pipe takes the lowest free numbers", func(b *builder) {
			b.call(pid, pid, "close", 0, 0)
			b.call(pid, pid, "pipe2", 0, 0x7ffd0000, 0)
			b.call(pid, pid, "write", 5, 4, 0, 5)
		}, 0, ownFd, []int{0}},
		{"dup2's target is the number it replaces", func(b *builder) {
			b.call(pid, pid, "openat", 4, b.k("AT_FDCWD")&0xffffffff, 0, 0)
			b.call(pid, pid, "dup2", 1, 4, 1)
		}, 1, 1, []int{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder("x86_64", stdio...)
			b.call(pid, pid, "brk", 0, 0)
			tc.calls(b)
			rec := b.rec
			if got := originOf(t, rec, len(rec.Calls)-1, tc.arg); got != tc.want {
				t.Errorf("origin = %d, want %d", got, tc.want)
			}
			an := analyze(rec, mustArch("x86_64"))
			for k := range stdio {
				want := false
				for _, l := range tc.lost {
					want = want || l == k
				}
				if an.fds.lost[k] != want {
					t.Errorf("fd %d lost = %v, want %v", k, an.fds.lost[k], want)
				}
			}
		})
	}
}
