package draft

import (
	"fmt"
	"sort"
	"strings"

	"github.com/fencer-dev/fencer/internal/arch"
)

// part is a condition on one argument of one syscall that every recorded
// call of it meets.
type part struct {
	arg  int
	expr string
	note string
	// render writes call c's value of the argument for a test, with the
	// names the condition uses.
	render func(c int) string
	// deny is a value of the argument the condition refuses, "" when
	// Write knows none worth a test, and what says what such a call is.
	deny, what string
	// label names an fd condition's rule: the fds it pins, or "own_fds";
	// "" for other conditions.
	label string
	// sample is a value the condition allows, for a test of a syscall
	// that has none recorded (clone, allowed for clone3's fallback).
	sample string
}

// Kinds of argument specs.
const (
	specEnum     = iota // one of names
	specFlags           // an exact flag set, written with fs
	specWX              // a protection: never writable and executable at once
	specReadOnly        // open flags: read-only access
	specZero            // 0: the calling process itself
	specAbove           // above every fd the program started with and kept
)

// argSpec says how to condition one argument.
type argSpec struct {
	arg  int // -1: clone's flags, wherever the architecture has them
	kind int
	// names name an enum's values (specEnum); with numbers, a value no
	// name has is written as a number (a real-time signal).
	names   []string
	numbers bool
	fs      flagSet
	// deny lists values to refuse in a test, each the constants to or;
	// the first the condition refuses is used.
	deny [][]string
	what string
}

// argSpecs are the arguments Write puts a condition on, by syscall.
var argSpecs = map[string][]argSpec{
	"socket": {
		{arg: 0, kind: specEnum, names: families, deny: [][]string{{"AF_PACKET"}, {"AF_NETLINK"}, {"AF_INET6"}}, what: "family"},
		{arg: 1, kind: specFlags, fs: socketType, deny: [][]string{{"SOCK_RAW"}, {"SOCK_PACKET"}}, what: "type"},
	},
	"socketpair": {
		{arg: 0, kind: specEnum, names: families, what: "family"},
		{arg: 1, kind: specFlags, fs: socketType, what: "type"},
	},
	"accept4":           {{arg: 3, kind: specFlags, fs: flagSet{bits: []string{"SOCK_CLOEXEC", "SOCK_NONBLOCK"}}, deny: [][]string{{}}, what: "flags"}},
	"clone":             {{arg: -1, kind: specFlags, fs: cloneFlags, deny: [][]string{{"SIGCHLD"}, {"CLONE_NEWUSER", "SIGCHLD"}}, what: "flags"}},
	"mmap":              {{arg: 2, kind: specWX, deny: [][]string{{"PROT_READ", "PROT_WRITE", "PROT_EXEC"}}, what: "protection"}},
	"mmap2":             {{arg: 2, kind: specWX, deny: [][]string{{"PROT_READ", "PROT_WRITE", "PROT_EXEC"}}, what: "protection"}},
	"mprotect":          {{arg: 2, kind: specWX, deny: [][]string{{"PROT_READ", "PROT_WRITE", "PROT_EXEC"}}, what: "protection"}},
	"pkey_mprotect":     {{arg: 2, kind: specWX, deny: [][]string{{"PROT_READ", "PROT_WRITE", "PROT_EXEC"}}, what: "protection"}},
	"open":              {{arg: 1, kind: specReadOnly, deny: [][]string{{"O_RDWR"}}, what: "flags"}},
	"openat":            {{arg: 2, kind: specReadOnly, deny: [][]string{{"O_RDWR"}}, what: "flags"}},
	"fcntl":             {{arg: 1, kind: specEnum, names: fcntlCommands, deny: [][]string{{"F_DUPFD"}, {"F_SETOWN"}}, what: "command"}},
	"fcntl64":           {{arg: 1, kind: specEnum, names: fcntlCommands, deny: [][]string{{"F_DUPFD"}, {"F_SETOWN"}}, what: "command"}},
	"prctl":             {{arg: 0, kind: specEnum, names: prctlOptions, deny: [][]string{{"PR_SET_PTRACER"}, {"PR_SET_DUMPABLE"}}, what: "option"}},
	"ioctl":             {{arg: 1, kind: specEnum, names: ioctlRequests, deny: [][]string{{"TIOCSTI"}}, what: "request"}},
	"epoll_ctl":         {{arg: 1, kind: specEnum, names: []string{"EPOLL_CTL_ADD", "EPOLL_CTL_MOD", "EPOLL_CTL_DEL"}, what: "operation"}},
	"kill":              {signalSpec(1)},
	"tkill":             {signalSpec(1)},
	"tgkill":            {signalSpec(2)},
	"rt_sigqueueinfo":   {signalSpec(1)},
	"rt_tgsigqueueinfo": {signalSpec(2)},
	"pidfd_send_signal": {signalSpec(1)},
	"close_range":       {{arg: 0, kind: specAbove, what: "first fd"}},
	"dup3":              {{arg: 2, kind: specFlags, fs: flagSet{bits: []string{"O_CLOEXEC"}}, what: "flags"}},
	"pipe2":             {{arg: 1, kind: specFlags, fs: flagSet{bits: []string{"O_CLOEXEC", "O_NONBLOCK", "O_DIRECT"}}, what: "flags"}},
	"epoll_create1":     {{arg: 0, kind: specFlags, fs: flagSet{bits: []string{"EPOLL_CLOEXEC"}}, what: "flags"}},
	"eventfd2":          {{arg: 1, kind: specFlags, fs: flagSet{bits: []string{"EFD_CLOEXEC", "EFD_NONBLOCK", "EFD_SEMAPHORE"}}, what: "flags"}},
	"inotify_init1":     {{arg: 0, kind: specFlags, fs: flagSet{bits: []string{"IN_CLOEXEC", "IN_NONBLOCK"}}, what: "flags"}},
	"signalfd4":         {{arg: 3, kind: specFlags, fs: flagSet{bits: []string{"SFD_CLOEXEC", "SFD_NONBLOCK"}}, what: "flags"}},
	"timerfd_create":    {{arg: 1, kind: specFlags, fs: flagSet{bits: []string{"TFD_CLOEXEC", "TFD_NONBLOCK"}}, what: "flags"}},
	"memfd_create":      {{arg: 1, kind: specFlags, fs: flagSet{bits: []string{"MFD_CLOEXEC", "MFD_ALLOW_SEALING", "MFD_HUGETLB", "MFD_NOEXEC_SEAL", "MFD_EXEC"}}, what: "flags"}},
	"getrandom":         {{arg: 2, kind: specFlags, fs: flagSet{bits: []string{"GRND_NONBLOCK", "GRND_RANDOM", "GRND_INSECURE"}}, what: "flags"}},
	"prlimit64": {
		{arg: 0, kind: specZero, deny: [][]string{{"1"}}, what: "process"},
		{arg: 1, kind: specEnum, names: rlimits, what: "resource"},
	},
}

// signalSpec is the condition on a signal number in argument arg.
func signalSpec(arg int) argSpec {
	return argSpec{arg: arg, kind: specEnum, names: signals, numbers: true, deny: [][]string{{"SIGKILL"}, {"SIGSTOP"}}, what: "signal"}
}

var socketType = flagSet{fields: []field{{masks: 0xf, names: socketTypes}}, bits: []string{"SOCK_CLOEXEC", "SOCK_NONBLOCK"}}

var cloneFlags = flagSet{fields: []field{{masks: 0xff, names: signals}}, bits: cloneBits}

var rlimits = []string{"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
	"RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
	"RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"}

// fdCondSyscalls are the syscalls whose fd arguments Write conditions:
// those that read, write, accept on, sync, change, duplicate or close
// the file behind an fd.
var fdCondSyscalls = map[string]bool{
	"write": true, "writev": true, "pwrite64": true, "pwritev": true, "pwritev2": true,
	"read": true, "readv": true, "pread64": true, "preadv": true, "preadv2": true,
	"send": true, "sendto": true, "sendmsg": true, "sendmmsg": true,
	"recv": true, "recvfrom": true, "recvmsg": true, "recvmmsg": true, "recvmmsg_time64": true,
	"accept": true, "accept4": true, "listen": true, "bind": true, "connect": true, "shutdown": true,
	"fsync": true, "fdatasync": true, "sync_file_range": true, "ftruncate": true, "fallocate": true,
	"fchmod": true, "fchown": true, "flock": true, "ioctl": true, "fcntl": true, "fcntl64": true,
	"close": true, "dup": true, "dup2": true, "dup3": true, "sendfile": true, "splice": true,
	"copy_file_range": true, "fstat": true, "lseek": true, "getdents64": true,
	"mmap": true, "mmap2": true,
}

// parts derives the conditions on the syscall's arguments.
func (d *doc) parts(name string) []part {
	if ps, ok := d.partCache[name]; ok {
		return ps
	}
	var ps []part
	if fdCondSyscalls[name] {
		for _, arg := range trackedFdArgs(d.a, name) {
			if !d.conditionable(name, arg) {
				continue
			}
			if p, ok := d.fdPart(name, arg); ok {
				ps = append(ps, p)
			}
		}
	}
	for _, spec := range argSpecs[name] {
		arg := spec.arg
		if arg < 0 {
			arg = d.a.CloneFlagsArg()
		}
		if !d.conditionable(name, arg) {
			continue
		}
		if p, ok := d.specPart(name, arg, spec); ok {
			ps = append(ps, p)
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].arg < ps[j].arg })
	d.partCache[name] = ps
	return ps
}

// conditionable reports whether a condition on the argument means on a
// what the kernel's prototype says: the argument is in its register and
// its width is known.
func (d *doc) conditionable(name string, arg int) bool {
	first, split := d.a.SplitFrom(name)
	if split && arg >= first {
		return false
	}
	// NumArgs knows no count for a split syscall: the arguments before
	// the split are where the prototype puts them.
	if n, ok := d.a.NumArgs(name); !split && (!ok || arg >= n) {
		return false
	}
	_, known := d.a.ArgWidth(name, arg)
	return known
}

// value is call i's argument as the kernel reads it.
func (d *doc) value(name string, arg, i int) uint64 {
	c := &d.rec.Calls[i]
	if name == "clone3" {
		return c.CloneFlags
	}
	w, _ := d.a.ArgWidth(name, arg)
	return c.Args[arg] & arch.WidthMask(w)
}

// condition is what Write puts on the syscall besides its name.
func (d *doc) condition(name string) cond {
	if name == "clone3" && d.cloneFallback() {
		return cond{action: "errno(ENOSYS)", notes: []string{
			"clone3 takes its flags in memory, where no filter sees them: it fails with ENOSYS, and glibc",
			"falls back to clone, whose flags the rule on clone checks (it allows the flags clone3 was given).",
		}}
	}
	if name == "execve" {
		return cond{notes: []string{
			"The program started other programs after its own start: execve is allowed, so exec once does",
			"not stop a later exec, and what the program runs, runs under this same filter.",
		}}
	}
	ps := d.parts(name)
	var exprs, notes, labels []string
	for _, p := range ps {
		exprs = append(exprs, p.expr)
		if p.note != "" {
			notes = append(notes, p.note)
		}
		labels = append(labels, p.label)
	}
	label := ""
	if len(labels) == 1 {
		label = labels[0]
	}
	return cond{when: strings.Join(exprs, " && "), notes: notes, label: label}
}

// specPart derives the condition spec says on the argument, when every
// recorded call meets one.
func (d *doc) specPart(name string, arg int, spec argSpec) (part, bool) {
	n := namer{d.a}
	calls := d.callsOf(name)
	seen := map[uint64]bool{}
	var values []uint64
	for _, i := range calls {
		v := d.value(name, arg, i)
		if !seen[v] {
			seen[v] = true
			values = append(values, v)
		}
	}
	values = d.equivalents(name, values, seen)
	sort.Slice(values, func(i, j int) bool { return values[i] < values[j] })
	p := part{arg: arg, what: spec.what}
	switch spec.kind {
	case specWX:
		_, ok1 := n.value("PROT_WRITE")
		_, ok2 := n.value("PROT_EXEC")
		if !ok1 || !ok2 || d.a.ArgName(name, arg) != "prot" || d.wxSeen() {
			return part{}, false
		}
		p.expr = fmt.Sprintf("!has_bits(arg%d, bitor(PROT_WRITE, PROT_EXEC))", arg)
		p.note = "No mapping was writable and executable at once."
		p.render = func(i int) string { return n.flags(d.value(name, arg, i), protFlags) }
	case specReadOnly:
		mask, ok1 := n.value("O_ACCMODE")
		ro, ok2 := n.value("O_RDONLY")
		if !ok1 || !ok2 || d.a.ArgName(name, arg) != "flags" {
			return part{}, false
		}
		for _, v := range values {
			if v&mask != ro {
				return part{}, false
			}
		}
		p.expr = fmt.Sprintf("masked(arg%d, O_ACCMODE) == O_RDONLY", arg)
		p.note = "Every file was opened read-only."
		p.render = func(i int) string { return n.flags(d.value(name, arg, i), openFlags) }
	case specAbove:
		return d.abovePart(name, arg, values, p)
	case specZero:
		if len(values) != 1 || values[0] != 0 {
			return part{}, false
		}
		p.expr = fmt.Sprintf("arg%d == 0", arg)
		p.note = "Only on the process itself (0)."
		p.render = func(int) string { return "0" }
	default:
		return d.namedPart(name, arg, spec, values, p)
	}
	p.deny = d.denial(spec, func(v uint64) bool { return !d.partAllows(spec.kind, v) })
	return p, true
}

// partAllows is the meaning of the W^X and read-only conditions.
func (d *doc) partAllows(kind int, v uint64) bool {
	n := namer{d.a}
	switch kind {
	case specWX:
		w, _ := n.value("PROT_WRITE")
		x, _ := n.value("PROT_EXEC")
		return v&(w|x) != w|x
	case specReadOnly:
		mask, _ := n.value("O_ACCMODE")
		ro, _ := n.value("O_RDONLY")
		return v&mask == ro
	case specZero:
		return v == 0
	}
	return false
}

var protFlags = flagSet{bits: []string{"PROT_READ", "PROT_WRITE", "PROT_EXEC", "PROT_SEM", "PROT_GROWSDOWN", "PROT_GROWSUP"}}

var openFlags = flagSet{fields: []field{{mask: "O_ACCMODE", names: []string{"O_RDONLY", "O_WRONLY", "O_RDWR"}}}, bits: openBits}

// namedPart is the condition that the argument is one of the recorded
// values, each written with names: when one has no name, there is none.
func (d *doc) namedPart(name string, arg int, spec argSpec, values []uint64, p part) (part, bool) {
	n := namer{d.a}
	write := func(v uint64) (string, bool) {
		if spec.kind == specEnum {
			if v == 0 {
				if s, ok := n.enum(0, spec.names); ok {
					return s, true
				}
				return "0", true
			}
			if s, ok := n.enum(v, spec.names); ok || !spec.numbers {
				return s, ok
			}
			return fmt.Sprint(v), true
		}
		s := n.flags(v, spec.fs)
		return s, !hasNumber(s) || s == "0"
	}
	var written []string
	allowed := map[uint64]bool{}
	for _, v := range values {
		s, ok := write(v)
		if !ok {
			return part{}, false
		}
		written = append(written, s)
		allowed[v] = true
	}
	p.sample = written[0]
	if len(written) == 1 {
		p.expr = fmt.Sprintf("arg%d == %s", arg, written[0])
	} else {
		p.expr = fmt.Sprintf("contains([%s], arg%d)", strings.Join(written, ", "), arg)
	}
	p.render = func(i int) string { s, _ := write(d.value(name, arg, i)); return s }
	p.deny = d.denial(spec, func(v uint64) bool { return !allowed[v] })
	return p, true
}

// hasNumber reports whether a written value has a number in it (a bit or
// field no constant names).
func hasNumber(s string) bool {
	for _, t := range strings.FieldsFunc(s, func(r rune) bool { return r == '(' || r == ')' || r == ',' || r == ' ' }) {
		if t != "" && t[0] >= '0' && t[0] <= '9' {
			return true
		}
	}
	return false
}

// denial is the first of spec's denials that refused says the condition
// refuses, written; "" when none is.
func (d *doc) denial(spec argSpec, refused func(uint64) bool) string {
	n := namer{d.a}
	for _, names := range spec.deny {
		var v uint64
		ok := true
		for _, name := range names {
			if name >= "0" && name <= "9" {
				var x uint64
				fmt.Sscan(name, &x)
				v |= x
				continue
			}
			k, found := n.value(name)
			ok = ok && found
			v |= k
		}
		if ok && refused(v) {
			return bitor(names)
		}
	}
	return ""
}

// cloneFallback reports whether clone3 is answered ENOSYS so that glibc
// uses clone: when clone3 was seen and its flags can all be named.
func (d *doc) cloneFallback() bool {
	s := d.an.stats["clone3"]
	if s == nil || !d.conditionable("clone", d.a.CloneFlagsArg()) {
		return false
	}
	n := namer{d.a}
	for _, i := range s.idx {
		if hasNumber(n.flags(d.rec.Calls[i].CloneFlags, cloneFlags)) && d.rec.Calls[i].CloneFlags != 0 {
			return false
		}
	}
	return true
}

// equivalents adds to the recorded values of the syscall's conditioned
// argument those of the recorded calls of syscalls that are it with some
// arguments fixed, so that its condition allows what they do: clone the
// flags of fork (SIGCHLD), vfork (CLONE_VM|CLONE_VFORK|SIGCHLD) and of
// clone3 when clone3 falls back to it, accept4 accept's flags (0).
func (d *doc) equivalents(name string, values []uint64, seen map[uint64]bool) []uint64 {
	add := func(vs ...uint64) {
		for _, v := range vs {
			if !seen[v] {
				seen[v] = true
				values = append(values, v)
			}
		}
	}
	k := func(names ...string) uint64 {
		var v uint64
		for _, n := range names {
			x, _ := d.a.Const(n)
			v |= x
		}
		return v
	}
	switch name {
	case "accept4":
		if len(d.callsOf("accept")) > 0 {
			add(0)
		}
	case "clone":
		if len(d.callsOf("fork")) > 0 {
			add(k("SIGCHLD"))
		}
		if len(d.callsOf("vfork")) > 0 {
			add(k("CLONE_VM", "CLONE_VFORK", "SIGCHLD"))
		}
		if !d.cloneFallback() {
			break
		}
		for _, i := range d.callsOf("clone3") {
			// clone3 keeps the exit signal apart: a new process's is
			// SIGCHLD, a thread has none.
			f := d.rec.Calls[i].CloneFlags & 0xffffffff
			add(f)
			if f&k("CLONE_THREAD") == 0 {
				add(f | k("SIGCHLD"))
			}
		}
	}
	return values
}

// wxSeen reports whether a recorded mmap, mmap2, mprotect or
// pkey_mprotect asked for memory writable and executable at once (a JIT):
// then none of them gets the condition, which the others would undo.
func (d *doc) wxSeen() bool {
	w, _ := d.a.Const("PROT_WRITE")
	x, _ := d.a.Const("PROT_EXEC")
	for _, name := range []string{"mmap", "mmap2", "mprotect", "pkey_mprotect"} {
		if d.a.ArgName(name, 2) != "prot" {
			continue
		}
		for _, i := range d.callsOf(name) {
			if d.value(name, 2, i)&(w|x) == w|x {
				return true
			}
		}
	}
	return false
}

// abovePart is close_range's condition that it closes only fds above
// those the program started with and kept (which fd conditions may pin),
// when every recorded call did.
func (d *doc) abovePart(name string, arg int, values []uint64, p part) (part, bool) {
	top := -1
	for k, fd := range d.rec.Fds {
		if !d.an.fds.lost[k] && fd.Number > top {
			top = fd.Number
		}
	}
	if top < 0 {
		return part{}, false
	}
	for _, v := range values {
		if v <= uint64(top) {
			return part{}, false
		}
	}
	p.expr = fmt.Sprintf("arg%d > %d", arg, top)
	p.note = fmt.Sprintf("arg%d: only fds above %d, the last the program started with, so that no fd a condition names is closed and reused.", arg, top)
	p.render = func(i int) string { return fmt.Sprint(d.value(name, arg, i)) }
	p.deny = fmt.Sprint(top)
	p.sample = fmt.Sprint(top + 1)
	return p, true
}

// uses are the recorded fd arguments arg of the syscall.
func (d *doc) uses(name string, arg int) []fdUse {
	var out []fdUse
	for _, i := range d.callsOf(name) {
		for _, u := range d.an.fds.uses[i] {
			if u.arg == arg {
				out = append(out, u)
			}
		}
	}
	return out
}

// fdRef writes inherited fd k as a reference to its block.
func (d *doc) fdRef(k int) string {
	if name, ok := d.fdName[k]; ok {
		return "fd." + name
	}
	return fmt.Sprint(d.rec.Fds[k].Number)
}

// fdPart is the condition on an fd argument: the inherited fds it used,
// when it used no other; else, when it used others too, not the inherited
// fds it never used (and the program never closed).
func (d *doc) fdPart(name string, arg int) (part, bool) {
	uses := d.uses(name, arg)
	if len(uses) == 0 {
		return part{}, false
	}
	inherited := map[int]bool{}
	numbers := map[int64]bool{}
	pinned := true
	for _, u := range uses {
		numbers[u.number] = true
		if u.origin >= 0 && !d.an.fds.lost[u.origin] {
			inherited[u.origin] = true
		} else {
			// Its own fds, or one it started with but closed (after which
			// the number can hold a file it opened): no number pins it.
			pinned = false
		}
	}
	byIndex := map[int]int{} // call index -> origin of this argument
	for _, i := range d.callsOf(name) {
		for _, u := range d.an.fds.uses[i] {
			if u.arg == arg {
				byIndex[i] = u.origin
			}
		}
	}
	p := part{arg: arg, what: "fd"}
	p.render = func(i int) string {
		if o := byIndex[i]; o >= 0 {
			return d.fdRef(o)
		}
		return fmt.Sprint(int32(uint32(d.rec.Calls[i].Args[arg])))
	}
	if pinned {
		list := d.fdList(func(k int) bool { return inherited[k] })
		p.expr = fdExpr(arg, list, false)
		p.label = strings.ReplaceAll(strings.Join(list, "_"), "fd.", "")
		p.note = fmt.Sprintf("arg%d: only the fds the program started with that it used here.", arg)
		p.deny = d.otherFd(func(k int) bool { return !inherited[k] })
		return p, true
	}
	excluded := d.fdList(func(k int) bool {
		return !d.an.fds.lost[k] && !numbers[int64(d.rec.Fds[k].Number)]
	})
	if len(excluded) == 0 {
		return part{}, false
	}
	p.expr = fdExpr(arg, excluded, true)
	p.label = "own_fds"
	p.note = fmt.Sprintf("arg%d: fds the program opened itself (their numbers vary from run to run), never one it started with and did not use here.", arg)
	p.deny = excluded[0]
	return p, true
}

// fdList writes the inherited fds that keep says, in number order.
func (d *doc) fdList(keep func(k int) bool) []string {
	var ks []int
	for k := range d.rec.Fds {
		if keep(k) {
			ks = append(ks, k)
		}
	}
	sort.SliceStable(ks, func(i, j int) bool { return d.rec.Fds[ks[i]].Number < d.rec.Fds[ks[j]].Number })
	var out []string
	seen := map[string]bool{}
	for _, k := range ks {
		if r := d.fdRef(k); !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// otherFd is an fd a pinned condition refuses: an inherited one when
// there is one, else the lowest number no inherited fd has.
func (d *doc) otherFd(refused func(k int) bool) string {
	if l := d.fdList(refused); len(l) > 0 {
		return l[0]
	}
	taken := map[int]bool{}
	for _, fd := range d.rec.Fds {
		taken[fd.Number] = true
	}
	n := 0
	for taken[n] {
		n++
	}
	return fmt.Sprint(n)
}

func fdExpr(arg int, list []string, not bool) string {
	switch {
	case len(list) == 1 && not:
		return fmt.Sprintf("arg%d != %s", arg, list[0])
	case len(list) == 1:
		return fmt.Sprintf("arg%d == %s", arg, list[0])
	case not:
		return fmt.Sprintf("!contains([%s], arg%d)", strings.Join(list, ", "), arg)
	}
	return fmt.Sprintf("contains([%s], arg%d)", strings.Join(list, ", "), arg)
}

// trackedFdArgs are the fd arguments whose origin the tracker records:
// fdArgs, and dup2's and dup3's target.
func trackedFdArgs(a *arch.Arch, name string) []int {
	args := fdArgs(a, name)
	if name == "dup2" || name == "dup3" {
		args = append(args, 1)
	}
	return args
}
