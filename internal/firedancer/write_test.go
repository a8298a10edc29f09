package firedancer

import (
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
)

// TestWrite checks how each form of the policy language is written.
func TestWrite(t *testing.T) {
	src := `# the fds
uint logfile_fd, uint sock_fd
# about write
write: (or (eq (arg 0) 2) (eq (arg 0) logfile_fd))
read: (not (or (eq (arg 0) 2) (eq (arg 0) logfile_fd)))
close: (not (eq (arg 0) sock_fd))
fsync: (not (not (eq (arg 0) 2)))
lseek: (and (>= (arg 0) logfile_fd) (< 9 (arg 0)) (eq (arg 2) "SEEK_SET"))
socket: (and (eq (arg 1) "SOCK_STREAM|SOCK_CLOEXEC") (eq (arg 2) IPPROTO_TCP))
bind: (eq (arg 2) "sizeof(struct sockaddr_in6)")
shutdown: (eq (arg 1) "SHUT_WR")
poll: (eq (arg 2) "(int)-1")
wait4: (eq (arg 2) "(int)__WALL | (int)WNOHANG")
ioctl: (eq (arg 1) "0x100005401")
getpid
`
	p, diags := Parse("t.seccomppolicy", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	x86, _ := arch.Lookup("x86_64")
	out, err := Write(p, WriteOptions{Header: []string{"head"}, Hosts: []string{"x86_64"}, Arches: []*arch.Arch{x86}, Params: ParamNumbers(p)})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# head\n\nservice \"t\" {\n  unit           = \"t.service\"\n  hosts          = [\"x86_64\"]\n  default_action = kill_process\n\n  # the fds\n  fd \"logfile_fd\" {\n    number = 4\n  }\n  fd \"sock_fd\" {\n    number = 6\n  }\n",
		"  # about write\n  rule \"write\" {\n    syscalls = [\"write\"]\n    when     = contains([2, fd.logfile_fd], arg0)\n  }\n",
		"when     = !contains([2, fd.logfile_fd], arg0)\n",
		"when     = arg0 != fd.sock_fd\n",
		"when     = !(arg0 != 2)\n",
		"when     = arg0 >= fd.logfile_fd && 9 < arg0 && arg2 == SEEK_SET\n",
		"when     = arg1 == bitor(SOCK_STREAM, SOCK_CLOEXEC) && arg2 == IPPROTO_TCP\n",
		"  # 28 is sizeof(struct sockaddr_in6)\n  rule \"bind\" {\n    syscalls = [\"bind\"]\n    when     = arg2 == 28\n",
		// fencer knows SHUT_WR on every architecture asked for: its name.
		"    syscalls = [\"shutdown\"]\n    when     = arg1 == SHUT_WR\n",
		"when     = arg2 == -1\n",
		"  rule \"wait4\" {\n    syscalls = [\"wait4\"]\n    when     = arg2 == bitor(__WALL, WNOHANG)\n",
		// ioctl's request is an int to Firedancer: it compares the low word.
		"  # 21505 is 0x100005401\n",
		"  rule \"getpid\" {\n    syscalls = [\"getpid\"]\n  }\n}\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

// TestCValues checks the values the generator compares with: the low
// word (uint)(int)x and the high word (ulong)x >> 32.
func TestCValues(t *testing.T) {
	for _, tc := range []struct {
		c      string
		lo, hi uint32
	}{
		{"(int)-1", 0xffffffff, 0xffffffff},
		{"-1", 0xffffffff, 0xffffffff},
		{"(uint)-1", 0xffffffff, 0},
		{"(long)-2", 0xfffffffe, 0xffffffff},
		{"0xffffffff", 0xffffffff, 0},
		{"0x80000000", 0x80000000, 0},
		{"2147483648", 0x80000000, 0},
		{"0x100000002", 2, 1},
		{"1 | 0x100000000", 1, 1},
		{"(int)__WALL | (int)WNOHANG", 0x40000001, 0},
		{"SOCK_CLOEXEC|SOCK_NONBLOCK", 0x80800, 0},
		{"sizeof(struct sockaddr_in)", 16, 0},
		{"(MSG_NOSIGNAL)", 0x4000, 0},
		{"-MSG_NOSIGNAL | 0u", 0xffffc000, 0},
		{"010", 8, 0},
		{"p", 7, 0},
	} {
		x, err := parseC(tc.c)
		if err != nil {
			t.Errorf("%s: %v", tc.c, err)
			continue
		}
		v, err := x.eval(map[string]uint64{"p": 7})
		lo, hi := v.words()
		if err != nil || lo != tc.lo || hi != tc.hi {
			t.Errorf("%s: %#x %#x (%v), want %#x %#x", tc.c, lo, hi, err, tc.lo, tc.hi)
		}
	}
	for _, bad := range []string{"", "1 +", "(int", "sizeof(struct nope)", "0x", "1 2", "a.b", "((1)"} {
		if _, err := parseC(bad); err == nil {
			t.Errorf("%q parses", bad)
		}
	}
}
