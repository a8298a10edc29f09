package lint

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/configtest"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// lintText is a lint as the tests compare it: summary, subject range and
// detail, one per line.
func lintText(d *hcl.Diagnostic) string {
	return d.Summary + "\n" + d.Subject.String() + "\n" + d.Detail
}

// checkLints lints src on the architectures only and compares every
// warning with want, in order.
func checkLints(t *testing.T, src string, only []string, want []string) {
	t.Helper()
	cfg := configtest.Parse(t, src)
	if _, diags := resolve.CompileAll(cfg, only); diags.HasErrors() {
		t.Fatalf("the configuration does not validate: %v", diags)
	}
	got := Policies(cfg, only)
	for i, d := range got {
		if d.Severity != hcl.DiagWarning {
			t.Errorf("lint %d is not a warning: %v", i, d)
		}
		if i >= len(want) {
			t.Errorf("unexpected lint:\n%s", lintText(d))
			continue
		}
		if g := lintText(d); g != want[i] {
			t.Errorf("lint %d:\n got: %s\nwant: %s", i, g, want[i])
		}
	}
	for _, w := range want[min(len(got), len(want)):] {
		t.Errorf("missing lint:\n%s", w)
	}
}

var x86 = []string{"x86_64"}

// TestLintShadowed: rules that change nothing, named with the rule that
// makes them so; deny rules under allow rules, explicit denies that
// repeat the default, and an errno rule that decides before an equally
// restrictive one are not reported.
func TestLintShadowed(t *testing.T) {
	checkLints(t, `service "s" {
  unit = "s.service"
  default_action = kill_process
  fd "log" {
    stdout = "append:/var/log/s.log"
  }
  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2 || arg0 == fd.log
  }
  rule "any_write" {
    syscalls = ["write"]
  }
  rule "small" {
    syscalls = ["read"]
    when     = arg0 == 5
  }
  rule "low" {
    syscalls = ["read"]
    when     = arg0 < 10
  }
  rule "kill_ptrace" {
    syscalls = ["ptrace"]
    action   = kill_process
  }
  rule "eperm_ptrace" {
    syscalls = ["ptrace"]
    when     = arg0 == 0
    action   = errno(EPERM)
  }
  rule "sync_one" {
    syscalls = ["fsync"]
    when     = arg0 == 3
  }
  rule "sync_other" {
    syscalls = ["fsync"]
    when     = arg0 == 3
  }
  rule "close_12" {
    syscalls = ["close"]
    when     = contains([1, 2], arg0)
  }
  rule "close_1" {
    syscalls = ["close"]
    when     = arg0 == 1
  }
  rule "close_2" {
    syscalls = ["close"]
    when     = arg0 == 2
  }
  rule "eacces" {
    syscalls = ["kill"]
    action   = errno(EACCES)
  }
  rule "eperm_later" {
    syscalls = ["kill"]
    when     = arg1 == 9
    action   = errno(EPERM)
  }
  rule "eperm_first" {
    syscalls = ["getpriority"]
    when     = arg0 == 0
    action   = errno(EPERM)
  }
  rule "eacces_after" {
    syscalls = ["getpriority"]
    action   = errno(EACCES)
  }
  rule "allow_lseek" {
    syscalls = ["lseek"]
  }
  rule "deny_lseek" {
    syscalls = ["lseek"]
    when     = arg0 == 3
    action   = kill_process
  }
  rule "doc_deny" {
    syscalls = ["mount"]
    when     = arg0 == 0
    action   = kill_process
  }
}
`, x86, []string{
		`Condition made meaningless by another rule
main.fencer.hcl:9,16-43
Rule "log_write" gives write the verdict allow when this condition holds, but rule "any_write" (main.fencer.hcl:11:3) gives it allow whatever the arguments, and a call gets the verdict of the rules that hold: this condition restricts nothing. If it says what you mean, take write out of that rule or give that rule a condition; otherwise take write out of rule "log_write".`,
		`Condition made meaningless by another rule
main.fencer.hcl:16,16-25
Rule "small" gives read the verdict allow when this condition holds, but wherever it holds, rule "low" (main.fencer.hcl:18:3) holds too with the same verdict. So rule "small" changes nothing: without it every call gets the same verdict. If its condition says what you mean, narrow that rule; otherwise take read out of rule "small".`,
		`Rule never decides
main.fencer.hcl:28,16-25
Rule "eperm_ptrace" would give ptrace the verdict errno(EPERM) when its condition holds, but rule "kill_ptrace" (main.fencer.hcl:22:3) holds whatever the arguments, and kill_process wins: among the rules that hold, the most restrictive action wins, and the first declared among equals. So rule "eperm_ptrace" never decides a call. If it should, narrow the other rule's condition so that it leaves these calls out; otherwise take ptrace out of rule "eperm_ptrace".`,
		`Condition made meaningless by another rule
main.fencer.hcl:37,16-25
Rule "sync_other" gives fsync the verdict allow when this condition holds, but wherever it holds, rule "sync_one" (main.fencer.hcl:31:3) holds too with the same verdict. So rule "sync_other" changes nothing: without it every call gets the same verdict. If its condition says what you mean, narrow that rule; otherwise take fsync out of rule "sync_other".`,
		`Condition made meaningless by another rule
main.fencer.hcl:45,16-25
Rule "close_1" gives close the verdict allow when this condition holds, but wherever it holds, rule "close_12" (main.fencer.hcl:39:3) holds too with the same verdict. So rule "close_1" changes nothing: without it every call gets the same verdict. If its condition says what you mean, narrow that rule; otherwise take close out of rule "close_1".`,
		`Condition made meaningless by another rule
main.fencer.hcl:49,16-25
Rule "close_2" gives close the verdict allow when this condition holds, but wherever it holds, rule "close_12" (main.fencer.hcl:39:3) holds too with the same verdict. So rule "close_2" changes nothing: without it every call gets the same verdict. If its condition says what you mean, narrow that rule; otherwise take close out of rule "close_2".`,
		`Rule never decides
main.fencer.hcl:57,16-25
Rule "eperm_later" would give kill the verdict errno(EPERM) when its condition holds, but rule "eacces" (main.fencer.hcl:51:3) holds whatever the arguments, and errno(EACCES) wins: among the rules that hold, the most restrictive action wins, and the first declared among equals. So rule "eperm_later" never decides a call. If it should, narrow the other rule's condition so that it leaves these calls out; otherwise take kill out of rule "eperm_later".`,
	})
}

// TestLintConstants: conditions and parts of conditions that are always
// or never true, and a value of contains() that can never match. Single
// comparisons are resolve.Policy's ("decided by its mask"), and a literal true
// is what it says.
func TestLintConstants(t *testing.T) {
	checkLints(t, `service "s" {
  unit = "s.service"
  default_action = kill_process
  fd "log" {
    stdout = "append:/var/log/s.log"
  }
  rule "ro_open" {
    syscalls = ["openat"]
    when     = arg0 == AT_FDCWD && has_bits(arg2, O_RDONLY)
  }
  rule "only_ro" {
    syscalls = ["open"]
    when     = has_bits(arg1, O_RDONLY)
  }
  rule "both" {
    syscalls = ["read"]
    when     = arg0 == 1 && arg0 == 2
  }
  rule "either" {
    syscalls = ["lseek"]
    when     = arg0 < 5 || arg0 >= 5
  }
  rule "dead_alt" {
    syscalls = ["fsync"]
    when     = arg0 == 3 || (arg0 == 1 && arg0 == 2)
  }
  rule "neg" {
    syscalls = ["close"]
    when     = !(has_bits(arg0, 0) || arg0 == 7)
  }
  rule "items" {
    syscalls = ["fcntl"]
    when     = contains([1, 16], masked(arg1, 15))
  }
  rule "decided" {
    syscalls = ["dup"]
    when     = masked(arg0, 15) < 16 && arg0 != 3
  }
  rule "lit" {
    syscalls = ["getpid"]
    when     = true
  }
}
`, x86, []string{
		`Part of a condition always true
main.fencer.hcl:9,36-60
This part of rule "ro_open"'s condition holds whatever the arguments for openat, so it restricts nothing. has_bits(arg2, ...) with a mask of 0 checks no bit, so it always holds. O_RDONLY is 0: to match read-only opens, compare the access mode, masked(arg2, O_ACCMODE) == O_RDONLY.`,
		`Condition always true
main.fencer.hcl:13,16-40
Rule "only_ro"'s condition holds whatever the arguments for open, so rule "only_ro" applies to every call, as if it had no condition. has_bits(arg1, ...) with a mask of 0 checks no bit, so it always holds. O_RDONLY is 0: to match read-only opens, compare the access mode, masked(arg1, O_ACCMODE) == O_RDONLY.`,
		`Condition never true
main.fencer.hcl:17,16-38
Rule "both"'s condition never holds for read, so rule "both" never applies (the calls get what the other rules or the default action give them). Its parts cannot all hold at once (an argument has one value): did you mean ||?`,
		`Condition always true
main.fencer.hcl:21,16-37
Rule "either"'s condition holds whatever the arguments for lseek, so rule "either" applies to every call, as if it had no condition. Between them its parts cover every value: did you mean &&?`,
		`Part of a condition never true
main.fencer.hcl:25,30-52
This part of rule "dead_alt"'s condition never holds for fsync, so the alternative it belongs to never lets a call through. Its parts cannot all hold at once (an argument has one value): did you mean ||?`,
		`Part of a condition always true
main.fencer.hcl:29,18-35
This part of rule "neg"'s condition holds whatever the arguments for close, so the whole condition never holds, and rule "neg" never applies (the calls get what the other rules or the default action give them). has_bits(arg0, ...) with a mask of 0 checks no bit, so it always holds.`,
		`Value never matches
main.fencer.hcl:33,29-31
In rule "items", the bits of arg1 that are compared (mask 0xf) can never make 0x10, so this value matches no call to fcntl. Check the mask and the value.`,
		`dup can move files onto the fds fsync may use
main.fencer.hcl:36,17-22
Rule "dead_alt" (main.fencer.hcl:23:3) lets fsync use only some fds (fd 0 is refused, for one), but rule "decided" allows dup: dup(0) puts the file of fd 0 on the lowest free fd, and fds it may use can be free. A condition on an fd number holds only while the number means the same file. Deny dup: it takes the lowest free fd, which can be one that fd conditions allow.`,
	})
}

// TestLintSiblings: restrictions that a sibling undoes (writev, sendto,
// io_uring_enter and mmap around write, sendmsg and read; clone3 around
// clone), exact equivalents (fork and clone, open and openat) and
// renumbering (dup2, fcntl). sendmsg restricted on its own fd is not
// reported as undoing write.
func TestLintSiblings(t *testing.T) {
	checkLints(t, `service "s" {
  unit = "s.service"
  default_action = kill_process
  fd "log" {
    stdout = "append:/var/log/s.log"
  }
  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2 || arg0 == fd.log
  }
  rule "vectors" {
    syscalls = ["writev", "pwritev"]
  }
  rule "net" {
    syscalls = ["sendto"]
    when     = arg3 == 0
  }
  rule "clients" {
    syscalls = ["sendmsg"]
    when     = arg0 > 2
  }
  rule "ring" {
    syscalls = ["io_uring_enter"]
  }
  rule "threads" {
    syscalls = ["clone"]
    when     = has_bits(arg0, CLONE_THREAD)
    arch     = ["x86_64", "aarch64"]
  }
  rule "start" {
    syscalls = ["clone3", "fork"]
  }
  rule "ro" {
    syscalls = ["openat"]
    when     = masked(arg2, O_ACCMODE) == O_RDONLY
  }
  rule "old_open" {
    syscalls = ["open"]
  }
  rule "mem" {
    syscalls = ["mmap"]
  }
  rule "reads" {
    syscalls = ["read"]
    when     = arg0 == 0
  }
  rule "moves" {
    syscalls = ["dup2", "fcntl"]
  }
}
`, x86, []string{
		`writev and pwritev undo the condition on write
main.fencer.hcl:12,17-25
Rule "log_write" (main.fencer.hcl:7:3) allows write only for some values of its fd, arg0 (0 is refused, for one), but rule "vectors" allows writev and pwritev whatever the fd, and writev and pwritev can write to any fd, as write does: the condition on write does not limit what the service can write to. Give writev and pwritev a condition on their fd too, or deny them.`,
		`sendto undoes the condition on write
main.fencer.hcl:15,17-25
Rule "log_write" (main.fencer.hcl:7:3) allows write only for some values of its fd, arg0 (0 is refused, for one), but rule "net" allows sendto whatever the fd, and sendto can write to any socket, as write does: the condition on write does not limit what the service can write to. Give sendto a condition on its fd too, or deny it.`,
		// A shared mapping of a file writes it: openat(O_RDWR), mmap
		// (MAP_SHARED), memcpy, and no write at all.
		`mmap undoes the condition on write
main.fencer.hcl:41,17-23
Rule "log_write" (main.fencer.hcl:7:3) allows write only for some values of its fd, arg0 (0 is refused, for one), but rule "mem" allows mmap whatever the fd, and mmap can write to any file, as write does: the condition on write does not limit what the service can write to. Give mmap the condition ` + "`arg4 == -1 || !has_bits(arg3, MAP_SHARED)`" + ` (anonymous or private mappings only: a private mapping's writes stay in memory), or the same fds as the writes.`,
		`io_uring_enter undoes the condition on write
main.fencer.hcl:23,17-33
Rule "log_write" (main.fencer.hcl:7:3) allows write only for some values of its fd, arg0 (0 is refused, for one), but rule "ring" allows io_uring_enter, which runs reads, writes and other operations queued in memory, where no filter sees their fds or flags: the condition on write does not limit what the service can write to. Deny io_uring_enter (and io_uring_setup) unless the service needs io_uring: its operations pass no filter.`,
		`writev and pwritev undo the condition on sendmsg
main.fencer.hcl:12,17-25
Rule "clients" (main.fencer.hcl:18:3) allows sendmsg only for some values of its fd, arg0 (0 is refused, for one), but rule "vectors" allows writev and pwritev whatever the fd, and writev and pwritev can write to any fd, as sendmsg does: the condition on sendmsg does not limit what the service can write to. Give writev and pwritev a condition on their fd too, or deny them.`,
		`sendto undoes the condition on sendmsg
main.fencer.hcl:15,17-25
Rule "clients" (main.fencer.hcl:18:3) allows sendmsg only for some values of its fd, arg0 (0 is refused, for one), but rule "net" allows sendto whatever the fd, and sendto can write to any socket, as sendmsg does: the condition on sendmsg does not limit what the service can write to. Give sendto a condition on its fd too, or deny it.`,
		`io_uring_enter undoes the condition on sendmsg
main.fencer.hcl:23,17-33
Rule "clients" (main.fencer.hcl:18:3) allows sendmsg only for some values of its fd, arg0 (0 is refused, for one), but rule "ring" allows io_uring_enter, which runs reads, writes and other operations queued in memory, where no filter sees their fds or flags: the condition on sendmsg does not limit what the service can write to. Deny io_uring_enter (and io_uring_setup) unless the service needs io_uring: its operations pass no filter.`,
		`mmap undoes the condition on read
main.fencer.hcl:41,17-23
Rule "reads" (main.fencer.hcl:43:3) allows read only for some values of its fd, arg0 (1 is refused, for one), but rule "mem" allows mmap whatever the fd, and mmap can read from any file, as read does: the condition on read does not limit what the service can read from. Give mmap the condition arg4 == -1 (anonymous memory only), or the same fds as the reads.`,
		`io_uring_enter undoes the condition on read
main.fencer.hcl:23,17-33
Rule "reads" (main.fencer.hcl:43:3) allows read only for some values of its fd, arg0 (1 is refused, for one), but rule "ring" allows io_uring_enter, which runs reads, writes and other operations queued in memory, where no filter sees their fds or flags: the condition on read does not limit what the service can read from. Deny io_uring_enter (and io_uring_setup) unless the service needs io_uring: its operations pass no filter.`,
		`io_uring_enter undoes the condition on openat
main.fencer.hcl:23,17-33
Rule "ro" (main.fencer.hcl:33:3) allows openat only for some values of its flags, arg2 (0x1 is refused, for one), but rule "ring" allows io_uring_enter, which runs reads, writes and other operations queued in memory, where no filter sees their fds or flags: the condition on openat does not limit what the service can open files with. Deny io_uring_enter (and io_uring_setup) unless the service needs io_uring: its operations pass no filter.`,
		`clone3 undoes the condition on clone
main.fencer.hcl:31,17-25
Rule "threads" (main.fencer.hcl:25:3) allows clone only for some values of its flags, arg0 (0x0 is refused, for one), but rule "start" allows clone3, which takes its flags in memory (struct clone_args): the condition on clone does not limit what the service can start processes and threads with. Give clone3 the action errno(ENOSYS): glibc then falls back to clone, which the condition checks.`,
		`fork does what the rules for clone refuse
main.fencer.hcl:31,27-33
fork() is clone(SIGCHLD, 0, 0, 0, 0) (the kernel runs the same code). Rule "start" allows fork, but its counterpart is a call to clone that rule "threads" (main.fencer.hcl:25:3) refuses: the condition on clone does not hold. Deny fork and vfork, or let clone start processes the same way: glibc's fork() calls clone.`,
		`open does what the rules for openat refuse
main.fencer.hcl:38,17-23
open(arg0, arg1, arg2) is openat(AT_FDCWD, arg0, arg1, arg2) (the kernel runs the same code). Rule "old_open" allows open with arg1 = 0x1, but its counterpart is a call to openat that rule "ro" (main.fencer.hcl:33:3) refuses: the condition on openat does not hold. Give open a condition that refuses what openat refuses, or deny it.`,
		`dup2 can move files onto the fds write may use
main.fencer.hcl:48,17-23
Rule "log_write" (main.fencer.hcl:7:3) lets write use only some fds (fd 0 is refused, for one), but rule "moves" allows dup2: dup2(0, 1) puts the file of fd 0 on fd 1, which it may use. A condition on an fd number holds only while the number means the same file. Deny dup2, or give it a condition on arg1 (the new fd) that keeps it off the fds that fd conditions allow.`,
		`dup2 can move files onto the fds sendmsg may use
main.fencer.hcl:48,17-23
Rule "clients" (main.fencer.hcl:18:3) lets sendmsg use only some fds (fd 0 is refused, for one), but rule "moves" allows dup2: dup2(0, 3) puts the file of fd 0 on fd 3, which it may use. A condition on an fd number holds only while the number means the same file. Deny dup2, or give it a condition on arg1 (the new fd) that keeps it off the fds that fd conditions allow.`,
		`fcntl can move files onto the fds sendmsg may use
main.fencer.hcl:48,25-32
Rule "clients" (main.fencer.hcl:18:3) lets sendmsg use only some fds (fd 0 is refused, for one), but rule "moves" allows fcntl: fcntl(0, F_DUPFD, 0) puts the file of fd 0 on the lowest free fd from 0 up, and fds it may use can be free there. A condition on an fd number holds only while the number means the same file. Refuse F_DUPFD and F_DUPFD_CLOEXEC in fcntl's arg1, or deny fcntl.`,
		`dup2 can move files onto the fds read may use
main.fencer.hcl:48,17-23
Rule "reads" (main.fencer.hcl:43:3) lets read use only some fds (fd 1 is refused, for one), but rule "moves" allows dup2: dup2(1, 0) puts the file of fd 1 on fd 0, which it may use. A condition on an fd number holds only while the number means the same file. Deny dup2, or give it a condition on arg1 (the new fd) that keeps it off the fds that fd conditions allow.`,
	})
}

// TestLintQuiet: policies that say what they mean get no lint.
func TestLintQuiet(t *testing.T) {
	for _, c := range []struct{ name, rules string }{
		{"write to logs, sendto to clients (the example's split)", `
  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2 || arg0 == fd.log
  }
  rule "client_io" {
    syscalls = ["read", "sendto", "close"]
    when     = !contains([2, fd.log, fd.sock], arg0)
  }`},
		{"a deny rule inside an allow rule: deny wins", `
  rule "all" {
    syscalls = ["write"]
  }
  rule "not_sock" {
    syscalls = ["write"]
    when     = arg0 == fd.sock
    action   = kill_process
  }`},
		{"an explicit deny that repeats the default", `
  rule "no_traceme" {
    syscalls = ["ptrace"]
    when     = arg0 == 0
    action   = errno(EPERM)
  }`},
		{"clone3 answered ENOSYS, fork started as clone allows", `
  rule "threads_or_fork" {
    syscalls = ["clone"]
    when     = masked(arg0, bitor(CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET)) == 0
    arch     = ["x86_64"]
  }
  rule "no_clone3" {
    syscalls = ["clone3"]
    action   = errno(ENOSYS)
  }
  rule "fork" {
    syscalls = ["fork", "vfork"]
    arch     = ["x86_64"]
  }`},
		{"anonymous mmap next to restricted reads", `
  rule "reads" {
    syscalls = ["read"]
    when     = arg0 == 0
  }
  rule "anon" {
    syscalls = ["mmap"]
    when     = arg4 == -1
  }`},
		{"dup2 only onto fds no fd condition allows", `
  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2
  }
  rule "stdin" {
    syscalls = ["dup2"]
    when     = arg1 == 0
  }`},
		{"fcntl without F_DUPFD", `
  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2
  }
  rule "flags" {
    syscalls = ["fcntl"]
    when     = arg1 == F_GETFL || arg1 == F_SETFL
  }`},
		{"dup while the fds conditions allow are open and cannot be closed", `
  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2 || arg0 == fd.log
  }
  rule "dup" {
    syscalls = ["dup"]
  }`},
		{"open restricted as openat is", `
  rule "ro" {
    syscalls = ["openat"]
    when     = masked(arg2, O_ACCMODE) == O_RDONLY
  }
  rule "ro_old" {
    syscalls = ["open"]
    when     = masked(arg1, O_ACCMODE) == O_RDONLY
    arch     = ["x86_64"]
  }`},
		{"fstat of one fd next to newfstatat of paths", `
  rule "fstat" {
    syscalls = ["fstat"]
    when     = arg0 == fd.log
  }
  rule "paths" {
    syscalls = ["newfstatat"]
    when     = arg0 == AT_FDCWD && arg3 == 0
    arch     = ["x86_64"]
  }`},
		{"a literal true", `
  rule "always" {
    syscalls = ["getpid"]
    when     = true
  }`},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkLints(t, configtest.Service(c.rules), x86, nil)
		})
	}
}

// TestLintExampleClean: the bundled example has nothing to lint on any
// architecture.
func TestLintExampleClean(t *testing.T) {
	cfg, diags := hclspec.Load(filepath.Join("..", "..", "examples", "metrics"), hclspec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, d := range Policies(cfg, nil) {
		t.Errorf("lint on the example:\n%s", lintText(d))
	}
}

// TestLintArches: a finding on some of the architectures checked names
// them; one on all of them does not; the same finding on several is one
// warning.
func TestLintArches(t *testing.T) {
	src := configtest.Service(`
  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2
  }
  rule "vectors" {
    syscalls = ["writev"]
  }
  rule "threads" {
    syscalls = ["clone"]
    when     = has_bits(arg0, CLONE_THREAD)
    arch     = ["x86_64", "aarch64"]
  }
  rule "start" {
    syscalls = ["clone3"]
    arch     = ["x86_64"]
  }`)
	cfg := configtest.Parse(t, src)
	got := Policies(cfg, []string{"x86_64", "aarch64", "arm"})
	if len(got) != 2 {
		for _, d := range got {
			t.Log(lintText(d))
		}
		t.Fatalf("got %d lints, want 2", len(got))
	}
	if d := got[0].Detail; !strings.Contains(d, `allows writev whatever the fd`) || strings.Contains(d, "x86_64") {
		t.Errorf("the writev lint, on every architecture checked, names one: %s", d)
	}
	if d := got[1].Detail; !strings.Contains(d, `allows clone3 on x86_64, which`) {
		t.Errorf("the clone3 lint does not say it is x86_64's: %s", d)
	}
}

// TestLintBounded: a condition whose diagram is exponential in the
// argument order (bit i of arg0 and bit i of arg1, for every i) gives no
// warning about it, in bounded time.
func TestLintBounded(t *testing.T) {
	var parts []string
	for b := range 40 {
		parts = append(parts, fmt.Sprintf("(has_bits(arg0, %d) && has_bits(arg1, %d))", uint64(1)<<b, uint64(1)<<b))
	}
	src := configtest.Service(`
  rule "huge" {
    syscalls = ["mmap"]
    when     = ` + strings.Join(parts, " || ") + `
  }
  rule "huge_too" {
    syscalls = ["mmap"]
    when     = ` + strings.Join(parts, " || ") + `
  }`)
	cfg := configtest.Parse(t, src)
	if _, diags := resolve.CompileAll(cfg, x86); diags.HasErrors() {
		t.Fatal(diags)
	}
	start := time.Now()
	got := Policies(cfg, x86)
	if len(got) != 0 {
		t.Errorf("lints on an undecidable policy: %v", got)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("linting took %v", d)
	}
}

// TestLintCallDependentComparison: a comparison on an argument whose
// width depends on the call (keyctl's arg1) is a guarded || of
// comparisons that resolve.Policy's "decided" does not look at; the lint does.
func TestLintCallDependentComparison(t *testing.T) {
	checkLints(t, `service "s" {
  unit = "s.service"
  default_action = kill_process
  rule "keys" {
    syscalls = ["keyctl"]
    when     = masked(arg1, 255) < 256
  }
}
`, x86, []string{
		`Condition always true
main.fencer.hcl:6,16-39
Rule "keys"'s condition holds whatever the arguments for keyctl, so rule "keys" applies to every call, as if it had no condition. Check its operators and values.`,
	})
}

// TestLintFlagEquality: a deny rule that matches a flags argument with one
// exact value (the issue's own mmap rule, arg2 == PROT_READ|PROT_WRITE|
// PROT_EXEC, is dodged by prot 0x17, which maps rwx all the same), and an
// allow rule that lets through everything but one value, warn; has_bits,
// masked() and an allow of one exact value do not.
func TestLintFlagEquality(t *testing.T) {
	tail := `. A caller can add a flag bit the kernel ignores or that changes nothing that matters here (mmap's prot 0x17 maps as 0x7 does), and the comparison no longer matches. Test the bits that matter with has_bits(arg%d, ...), or compare masked(arg%d, MASK).`
	checkLints(t, `service "s" {
  unit = "s.service"
  default_action = errno(EPERM)
  rule "no_rwx" {
    syscalls = ["mmap"]
    when     = arg2 == bitor(PROT_READ, PROT_WRITE, PROT_EXEC)
    action   = kill_process
  }
  rule "no_wx" {
    syscalls = ["mprotect"]
    when     = has_bits(arg2, bitor(PROT_WRITE, PROT_EXEC))
    action   = kill_process
  }
  rule "no_shared" {
    syscalls = ["mmap"]
    when     = !(arg3 != MAP_SHARED) || contains([MAP_SHARED_VALIDATE], arg3)
    action   = kill_process
  }
  rule "reads" {
    syscalls = ["openat"]
    when     = arg2 != O_WRONLY
  }
  rule "accept" {
    syscalls = ["accept4"]
    when     = arg3 == bitor(SOCK_CLOEXEC, SOCK_NONBLOCK)
  }
  rule "masked" {
    syscalls = ["socket"]
    when     = masked(arg1, 15) == SOCK_RAW
    action   = kill_process
  }
  rule "no_world_writable" {
    syscalls = ["fchmodat"]
    when     = arg2 == 511
    action   = kill_process
  }
  rule "no_umask_0" {
    syscalls = ["umask"]
    when     = arg0 == 0
    action   = errno(EPERM)
  }
  rule "exact_create_mode" {
    syscalls = ["openat"]
    when     = arg3 == 384
  }
}
`, x86, []string{
		"Flags compared with one exact value\nmain.fencer.hcl:6,16-63\nRule \"no_rwx\" denies mmap only when arg2 (prot) has exactly these bits" + fmt.Sprintf(tail, 2, 2),
		"Flags compared with one exact value\nmain.fencer.hcl:16,18-36\nRule \"no_shared\" denies mmap only when arg3 (flags) has exactly these bits" + fmt.Sprintf(tail, 3, 3),
		"Flags compared with one exact value\nmain.fencer.hcl:16,41-78\nRule \"no_shared\" denies mmap only when arg3 (flags) has exactly these bits" + fmt.Sprintf(tail, 3, 3),
		"Flags compared with one exact value\nmain.fencer.hcl:21,16-32\nRule \"reads\" allows openat whenever arg2 (flags) has other bits than these" + fmt.Sprintf(tail, 2, 2),
		// fchmodat(AT_FDCWD, path, 0100777) sets 0777 (the kernel keeps
		// mode & 07777), umask(0x1000) sets 0.
		"Flags compared with one exact value\nmain.fencer.hcl:34,16-27\nRule \"no_world_writable\" denies fchmodat only when arg2 (mode) has exactly these bits" + fmt.Sprintf(tail, 2, 2),
		"Flags compared with one exact value\nmain.fencer.hcl:39,16-25\nRule \"no_umask_0\" denies umask only when arg0 (mask) has exactly these bits" + fmt.Sprintf(tail, 0, 0),
	})
}

// TestLintReopen: an fd condition that close and a syscall giving new fds
// get around together. write is allowed on stderr and the log file only,
// but close may close the log file's fd 1, and the next file openat opens
// (or socket accept4 accepts) then gets fd 1: write(1) writes to it. On
// the main this policy validated without a word. A condition that
// already allows the fd where new files land (the example's client fds),
// a close kept off the fds conditions allow, and a policy that cannot make
// new fds are not reported.
func TestLintReopen(t *testing.T) {
	checkLints(t, configtest.Service(`
  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2 || arg0 == fd.log
  }
  rule "misc" {
    syscalls = ["close", "openat", "exit_group"]
  }`), x86, []string{
		`close can put new files on the fds write may use
main.fencer.hcl:16,17-24
Rule "log_write" (main.fencer.hcl:11:3) lets write use fd 1, which the service starts with, and refuses fd 4, where the first file it opens lands; but rule "misc" allows close(1), and openat is allowed: after close(1) the next file the service opens (or socket it makes, connection it accepts) gets fd 1, the lowest free one, which write may use. A condition on an fd number holds only while the number means the same file. Keep close off fd 1: add ` + "`arg0 != 1`" + ` to rule "misc"'s condition.`,
	})
	// The listening socket (fd 3), and a connection accepted in its place.
	checkLints(t, configtest.Service(`
  rule "accept" {
    syscalls = ["accept4"]
    when     = arg0 == fd.sock
  }
  rule "closes" {
    syscalls = ["close"]
    when     = arg0 != 2
  }`), x86, []string{
		`close can put new files on the fds accept4 may use
main.fencer.hcl:16,17-24
Rule "accept" (main.fencer.hcl:11:3) lets accept4 use fd 3, which the service starts with, and refuses fd 4, where the first file it opens lands; but rule "closes" allows close(3), and accept4 is allowed: after close(3) the next file the service opens (or socket it makes, connection it accepts) gets fd 3, the lowest free one, which accept4 may use. A condition on an fd number holds only while the number means the same file. Keep close off fd 3: add ` + "`arg0 != 3`" + ` to rule "closes"'s condition.`,
	})
	// close kept off them, but close_range (glibc's closefrom) allowed.
	checkLints(t, configtest.Service(`
  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2 || arg0 == fd.log
  }
  rule "close" {
    syscalls = ["close"]
    when     = !contains([1, 2], arg0)
  }
  rule "misc" {
    syscalls = ["close_range", "socket"]
  }`), x86, []string{
		`close_range can put new files on the fds write may use
main.fencer.hcl:20,17-30
Rule "log_write" (main.fencer.hcl:11:3) lets write use fd 1, which the service starts with, and refuses fd 4, where the first file it opens lands; but rule "misc" allows close_range(1, 1, 0x0), and socket is allowed: after close_range(1, 1, 0x0) the next file the service opens (or socket it makes, connection it accepts) gets fd 1, the lowest free one, which write may use. A condition on an fd number holds only while the number means the same file. Keep close_range off fd 1: let it close only fds above those the service starts with (` + "`arg0 > 3`" + `), or give it the action errno(ENOSYS), from which glibc's closefrom falls back to close.`,
	})
	for _, c := range []struct{ name, rules string }{
		{"close and close_range kept off the fds write may use", `
  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2 || arg0 == fd.log
  }
  rule "close" {
    syscalls = ["close"]
    when     = !contains([1, 2], arg0)
  }
  rule "closefrom" {
    syscalls = ["close_range"]
    when     = arg0 > 3
  }
  rule "open" {
    syscalls = ["openat"]
  }`},
		{"close kept off the fds write may use", `
  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2 || arg0 == fd.log
  }
  rule "close" {
    syscalls = ["close"]
    when     = !contains([1, 2], arg0)
  }
  rule "open" {
    syscalls = ["openat"]
  }`},
		{"reads allowed on every fd a new file gets", `
  rule "client_io" {
    syscalls = ["read", "close"]
    when     = !contains([2, fd.log, fd.sock], arg0)
  }
  rule "accept" {
    syscalls = ["accept4"]
    when     = arg0 == fd.sock
  }`},
		{"no syscall that makes an fd", `
  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2 || arg0 == fd.log
  }
  rule "close" {
    syscalls = ["close"]
  }`},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkLints(t, configtest.Service(c.rules), x86, nil)
		})
	}
}

// TestLintSiblingArgsInMemory: i386's and s390x's mmap take a pointer to
// their arguments, so the fd that makes mmap a sibling of read is in
// memory there. The warning said "allows mmap on i386, which : the
// condition ..." and advised a condition on arg4 that the filter cannot
// check there; it now says why and what to do.
func TestLintSiblingArgsInMemory(t *testing.T) {
	checkLints(t, configtest.Service(`
  rule "reads" {
    syscalls = ["read"]
    when     = arg0 == 0
  }
  rule "mem" {
    syscalls = ["mmap"]
  }`), []string{"i386", "s390x"}, []string{
		`mmap undoes the condition on read
main.fencer.hcl:16,17-23
Rule "reads" (main.fencer.hcl:11:3) allows read only for some values of its fd, arg0 (1 is refused, for one), but rule "mem" allows mmap, which takes its arguments from memory there (a pointer to them), where no filter sees its fd: the condition on read does not limit what the service can read from. Deny mmap where its fd is in memory; a condition on it cannot be checked there.`,
	})
}

// TestLintSiblingsReachDisjoint: recvfrom reads sockets only and mmap maps
// files only, so a condition on recvfrom's fd says nothing of mmap's. A UDP
// service that may recvfrom its socket alone, and mmap as malloc does, was
// warned that mmap "can read from any file, as recvfrom does".
func TestLintSiblingsReachDisjoint(t *testing.T) {
	checkLints(t, configtest.Service(`
  rule "net" {
    syscalls = ["recvfrom", "recvmsg"]
    when     = arg0 == fd.sock
  }
  rule "mem" {
    syscalls = ["mmap"]
  }`), x86, nil)
}

// TestLintMmapWriteQuiet: mmap kept to anonymous and private mappings
// writes no file, so it does not undo a condition on write's fd.
func TestLintMmapWriteQuiet(t *testing.T) {
	checkLints(t, configtest.Service(`
  rule "log_write" {
    syscalls = ["write"]
    when     = arg0 == 2 || arg0 == fd.log
  }
  rule "mem" {
    syscalls = ["mmap"]
    when     = arg4 == -1 || !has_bits(arg3, MAP_SHARED)
  }`), x86, nil)
}
