package resolve

// A differential test at the level of the language: random configurations
// are generated as text (HCL, HCL's JSON syntax, or one file of each, with
// variables given by default, FENCER_VAR_* and -var), compiled with
// hclspec.Parse and Validate for all seven architectures, and the programs
// are run in the BPF interpreter on inputs derived from the configuration.
// Each verdict is compared with two evaluators written from
// docs/language.md, which take syscall numbers, constants, argument counts
// and widths from internal/arch but never call Policy or anything of
// internal/compile:
//
//   - the tree evaluator reads the hclspec tree (what the parser made of
//     the text) and gives it the documented meaning: argument widths,
//     negative numbers in two's complement within the width, constants per
//     architecture, fd numbers computed from the fd blocks, rule arch lists,
//     rule combination by precedence, the foreign-arch and x32 checks;
//   - the model evaluator reads the generator's own description of what it
//     wrote (comparisons on the side they were written, numbers before they
//     went through var., local. or parseint, syscall_sets expanded), so that
//     a parser that flips a comparison the wrong way, or misreads a
//     variable, is caught too: then the program agrees with the tree
//     evaluator and not with the model evaluator.
//
// The generator sometimes writes mistakes (a value wider than its argument,
// a negative number below the argument's signed range, a condition on an
// argument a syscall does not have, a clone condition whose argument means
// different things across the rule's architectures) and predicts from the
// documentation which configurations are errors; a configuration the
// compiler refuses must be one predicted to be refused, and the other way
// round.
//
// Reproduce a failure with go test ./plan -run TestLanguageDifferential
// -langdiff.seed=N; search longer with -langdiff.inputs, or fuzz with
// go test ./plan -run '^$' -fuzz FuzzLanguage -fuzzminimizetime 50x.

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/fuzzrand"
	"github.com/fencer-dev/fencer/internal/policy"
)

var (
	ldInputs = flag.Int("langdiff.inputs", 110_000, "inputs per architecture in TestLanguageDifferential")
	ldSeed   = flag.Int64("langdiff.seed", 1, "seed of TestLanguageDifferential's first configuration")
)

// ldSyscallPool are the syscalls rules are drawn from. Some do not exist
// everywhere (poll, open, dup2, epoll_wait, newfstatat, mmap on arm): the
// generator gives rules naming them an arch list that leaves those
// architectures out.
var ldSyscallPool = []string{
	"read", "write", "close", "openat", "fcntl", "mmap", "clone", "accept4", "sendto",
	"fchmod", "kill", "ptrace", "readv", "writev", "lseek", "poll", "open", "dup3",
	"socket", "setuid", "fchown", "mprotect", "futex", "pread64", "getpid", "ioctl",
	"madvise", "recvfrom", "fchmodat", "mknodat", "epoll_wait", "dup2", "newfstatat",
	"prctl", "exit_group", "keyctl", "semctl", "ipc",
	// A rule naming execve turns exec once off; one naming execveat is
	// a hole in it.
	"execve", "execveat",
	// Aliases (fstatat is newfstatat or fstatat64, llseek is _llseek) and
	// syscalls of one or a few architectures, some far from the others
	// (ARM's private syscalls are at 0xf0000).
	"fstatat", "_llseek", "llseek", "arch_prctl", "set_thread_area", "mmap2",
	"socketcall", "set_tls", "cacheflush", "riscv_flush_icache", "subpage_prot", "s390_runtime_instr",
}

// ldConstPool are the constants values are drawn from; several differ
// between architectures and two are negative.
var ldConstPool = []string{
	"O_DIRECTORY", "O_NOFOLLOW", "O_CLOEXEC", "O_NONBLOCK", "O_RDWR", "O_APPEND",
	"O_LARGEFILE", "O_TMPFILE", "O_DSYNC", "SOCK_NONBLOCK", "SOCK_CLOEXEC",
	"MAP_ANONYMOUS", "MAP_PRIVATE", "MAP_NORESERVE", "MAP_LOCKED", "MAP_FIXED",
	"MAP_STACK", "MAP_GROWSDOWN", "PROT_EXEC", "PROT_READ", "PROT_GROWSDOWN",
	"AT_FDCWD", "AT_EMPTY_PATH", "RUSAGE_CHILDREN", "EPERM", "EACCES", "F_SETFL",
	"F_GETFL", "CLONE_THREAD", "SIGKILL", "PTRACE_ATTACH", "S_IRWXU", "S_ISUID",
	"SEEK_END", "MSG_DONTWAIT",
	// Commands that change how wide another argument is read.
	"KEYCTL_GET_KEYRING_ID", "KEYCTL_JOIN_SESSION_KEYRING", "PR_SET_MM", "PR_SET_MM_EXE_FILE",
	"F_SETLK", "F_DUPFD",
	// Every x/sys constant, not some families; the kernel's spellings
	// with leading underscores.
	"SHUT_WR", "IPV6_V6ONLY", "XDP_STATISTICS", "__WALL", "__O_TMPFILE", "__O_SYNC",
}

// ldStructPool are the C types sizeof values are drawn from; several
// differ between 32-bit and 64-bit architectures.
var ldStructPool = []string{"sockaddr_in", "sockaddr_in6", "msghdr", "iovec", "long", "tcp_info"}

// ldAliases are other spellings of the architectures the language accepts.
var ldAliases = map[string]string{
	"x86_64": "amd64", "aarch64": "arm64", "i386": "i686", "arm": "armv7l",
	"riscv64": "riscv64", "ppc64le": "ppc64el", "s390x": "s390x",
}

func ldMask(w int) uint64 {
	if w >= 64 {
		return ^uint64(0)
	}
	return uint64(1)<<uint(w) - 1
}

// ldNarrowConst is a constant on an argument of w bits: a negative
// constant (AT_FDCWD, sign-extended to 64 bits) is the same number within
// the width when it fits a signed w-bit number; otherwise it is left as is
// (and does not fit).
func ldNarrowConst(c uint64, w int) uint64 {
	if w < 64 && int64(c) < 0 && int64(c) >= -(int64(1)<<uint(w-1)) {
		return c & ldMask(w)
	}
	return c
}

// ldRank is the documented precedence: kill_process > kill_thread > trap >
// errno > log > allow.
func ldRank(k policy.ActionKind) int {
	switch k {
	case policy.KillProcess:
		return 5
	case policy.KillThread:
		return 4
	case policy.Trap:
		return 3
	case policy.Errno:
		return 2
	case policy.Log:
		return 1
	case policy.Allow:
		return 0
	}
	panic(fmt.Sprintf("unknown action kind %d", k))
}

func ldOpText(op policy.Op) string {
	return [...]string{policy.EQ: "==", policy.NE: "!=", policy.LT: "<", policy.LE: "<=", policy.GT: ">", policy.GE: ">="}[op]
}

// ldFlip is the operator with its operands swapped: V < argN is argN > V.
func ldFlip(op policy.Op) policy.Op {
	return [...]policy.Op{policy.EQ: policy.EQ, policy.NE: policy.NE, policy.LT: policy.GT,
		policy.LE: policy.GE, policy.GT: policy.LT, policy.GE: policy.LE}[op]
}

func ldCompare(op policy.Op, a, b uint64) bool {
	switch op {
	case policy.EQ:
		return a == b
	case policy.NE:
		return a != b
	case policy.LT:
		return a < b
	case policy.LE:
		return a <= b
	case policy.GT:
		return a > b
	case policy.GE:
		return a >= b
	}
	panic(fmt.Sprintf("unknown op %d", op))
}

// ldAvail is the set of architectures a syscall exists on.
func ldAvail(name string) map[string]bool {
	on := map[string]bool{}
	for _, a := range arch.All() {
		if _, ok := a.Syscall(name); ok {
			on[a.Name] = true
		}
	}
	return on
}

// ---------------------------------------------------------------------
// The generator's model of a configuration.

// ldVal is a value as the generator meant it (spec) and as it wrote it
// (text).
type ldVal struct {
	spec hclspec.Value // Number, ConstRef, FdRef or BitOr, without ranges
	text string
}

type ldCondKind int

const (
	ldBool ldCondKind = iota
	ldAnd
	ldOr
	ldNot
	ldCmp
	ldContains
	ldHasBits
)

// ldCond is a condition as the generator meant it: comparisons with the
// argument on the left (swapped says it was written on the right).
type ldCond struct {
	kind    ldCondKind
	xs      []*ldCond
	b       bool
	arg     int
	mask    *ldVal
	op      policy.Op
	v       *ldVal
	list    []*ldVal
	swapped bool
	paren   bool
	text    string // leaves
}

type ldFd struct {
	name, attr, value string // value: HCL expression text
	number            int
}

type ldSet struct {
	name     string
	items    []string // syscall names and syscall_set.X references, as written
	syscalls []string // expanded
	on       map[string]bool
}

type ldAction struct {
	kind  policy.ActionKind
	errno *ldVal
	text  string // "" when omitted
}

type ldRule struct {
	name     string
	items    []string
	syscalls []string
	arch     []string // canonical; nil: every architecture
	archText []string
	when     *ldCond
	act      ldAction
}

type ldVar struct {
	name, typ, def string
}

type ldConfig struct {
	fds    []ldFd
	def    ldAction
	rules  []*ldRule
	sets   []*ldSet
	locals [][2]string
	vars   []ldVar
	opts   hclspec.LoadOptions
	order  int // 0: the service after the rest, 1: before
	format int // 0: HCL, 1: JSON, 2, 3: one file of each
	// systemd is set for enforce = "systemd".
	systemd bool
}

// ldCtx is what values and conditions of one rule must respect.
type ldCtx struct {
	arches []*arch.Arch
	nargs  int    // arguments every syscall of the rule has everywhere
	bits   [6]int // narrowest width of each argument
}

type ldGen struct {
	r       *rand.Rand
	c       *ldConfig
	invalid int // per mille of values made deliberately invalid
	n       int // names
}

func (g *ldGen) name(prefix string) string {
	g.n++
	return fmt.Sprintf("%s%d", prefix, g.n)
}

// ldGenerate draws a configuration.
func ldGenerate(r *rand.Rand) *ldConfig {
	g := &ldGen{r: r, c: &ldConfig{}}
	if r.Intn(3) == 0 {
		g.invalid = 15
	}
	g.fds()
	g.c.def = g.action(true)
	g.sets()
	for i, n := 0, 1+r.Intn(7); i < n; i++ {
		g.rule()
	}
	if r.Intn(4) == 0 {
		// enforce = "systemd": mostly with what it needs, a default
		// systemd can give and execve allowed whatever its arguments.
		g.c.systemd = true
		if r.Intn(10) != 0 {
			for g.c.def.kind != policy.KillProcess && g.c.def.kind != policy.Errno {
				g.c.def = g.action(true)
			}
		}
		if r.Intn(10) != 0 {
			for _, ru := range g.c.rules {
				for ru.act.kind == policy.Trap || ru.act.kind == policy.KillThread {
					ru.act = g.action(false)
				}
			}
		}
		if r.Intn(10) != 0 {
			// Rules that name execve (rarely: see rule) allow it too.
			for _, ru := range g.c.rules {
				if ldHas(ru.syscalls, "execve") && ru.act.kind != policy.Allow && ru.act.kind != policy.Log {
					ru.act = ldAction{kind: policy.Allow}
				}
			}
			ru := &ldRule{name: g.name("rule_"), items: []string{`"execve"`}, syscalls: []string{"execve"}, act: ldAction{kind: policy.Allow}}
			at := r.Intn(len(g.c.rules) + 1)
			g.c.rules = append(g.c.rules[:at], append([]*ldRule{ru}, g.c.rules[at:]...)...)
		}
	}
	g.c.order = r.Intn(2)
	if r.Intn(3) == 0 {
		g.c.format = 1 + r.Intn(3)
	}
	return g.c
}

func (g *ldGen) fds() {
	r := g.r
	n := r.Intn(6)
	stdio := map[string]bool{}
	var out []ldFd
	port := 1000 + r.Intn(50000)
	for i := 0; i < n; i++ {
		fd := ldFd{name: g.name("fd_")}
		switch k := r.Intn(9); {
		case k == 0 && !stdio["stdin"]:
			fd.attr, fd.value = "stdin", []string{`"null"`, `"file:/dev/null"`}[r.Intn(2)]
		case k == 1 && !stdio["stdout"]:
			fd.attr, fd.value = "stdout", []string{`"append:/var/log/x.log"`, `"journal"`, `"truncate:/tmp/out"`}[r.Intn(3)]
		case k == 2 && !stdio["stderr"]:
			fd.attr, fd.value = "stderr", []string{`"journal"`, `"append:/var/log/e.log"`, `"file:/var/log/f"`}[r.Intn(3)]
		case k <= 4:
			port++
			fd.attr = "listen_stream"
			fd.value = []string{
				fmt.Sprintf(`"127.0.0.1:%d"`, port), fmt.Sprintf(`"[::1]:%d"`, port), fmt.Sprintf(`"%d"`, port),
				fmt.Sprintf(`"/run/s%d.sock"`, port), fmt.Sprintf(`"@abs%d"`, port),
			}[r.Intn(5)]
		case k == 5:
			port++
			fd.attr, fd.value = "listen_datagram", []string{fmt.Sprintf(`"127.0.0.1:%d"`, port), fmt.Sprintf(`"/run/d%d.sock"`, port)}[r.Intn(2)]
		case k == 6:
			port++
			fd.attr, fd.value = "listen_sequential_packet", []string{fmt.Sprintf(`"/run/q%d.sock"`, port), fmt.Sprintf(`"@q%d"`, port)}[r.Intn(2)]
		case k == 7:
			fd.attr, fd.value = "open_file", []string{`"/etc/hosts"`, fmt.Sprintf(`"/etc/f%d:name%d:read-only"`, i, i)}[r.Intn(2)]
		default:
			fd.attr = "number"
		}
		if fd.attr == "stdin" || fd.attr == "stdout" || fd.attr == "stderr" {
			stdio[fd.attr] = true
		}
		out = append(out, fd)
	}
	// The numbers, as the table in docs/language.md gives them.
	taken := map[int]bool{}
	next := 3
	for i := range out {
		switch out[i].attr {
		case "stdin":
			out[i].number = 0
		case "stdout":
			out[i].number = 1
		case "stderr":
			out[i].number = 2
		case "listen_stream", "listen_datagram", "listen_sequential_packet":
			out[i].number = next
			next++
		}
	}
	for i := range out {
		if out[i].attr == "open_file" {
			out[i].number = next
			next++
		}
	}
	for _, fd := range out {
		if fd.attr != "number" {
			taken[fd.number] = true
		}
	}
	for i := range out {
		if out[i].attr != "number" {
			continue
		}
		n := r.Intn(next + 12)
		if r.Intn(8) == 0 {
			n = 100 + r.Intn(60000)
		}
		for taken[n] {
			n++
		}
		taken[n] = true
		out[i].number = n
		out[i].value = g.numText(false, uint64(n), true)
	}
	g.c.fds = out
}

func (g *ldGen) sets() {
	r := g.r
	for i, n := 0, r.Intn(4); i < n; i++ {
		s := &ldSet{name: g.name("set_"), on: map[string]bool{}}
		for _, a := range arch.Names() {
			s.on[a] = true
		}
		for j, m := 0, 1+r.Intn(3); j < m; j++ {
			if len(g.c.sets) > 0 && r.Intn(4) == 0 {
				sub := g.c.sets[r.Intn(len(g.c.sets))]
				s.items = append(s.items, "syscall_set."+sub.name)
				s.syscalls = append(s.syscalls, sub.syscalls...)
				for a := range s.on {
					s.on[a] = s.on[a] && sub.on[a]
				}
				continue
			}
			name := ldSyscallPool[r.Intn(len(ldSyscallPool))]
			for name == "execve" {
				// Rules name execve themselves (see rule), more rarely
				// than a set would.
				name = ldSyscallPool[r.Intn(len(ldSyscallPool))]
			}
			if r.Intn(3) != 0 {
				// Mostly syscalls every architecture has, so that the set
				// can be used by rules without an arch list.
				for len(ldAvail(name)) != len(arch.All()) {
					name = ldSyscallPool[r.Intn(len(ldSyscallPool))]
				}
			}
			s.items = append(s.items, strconv.Quote(name))
			s.syscalls = append(s.syscalls, name)
			on := ldAvail(name)
			for a := range s.on {
				s.on[a] = s.on[a] && on[a]
			}
		}
		g.c.sets = append(g.c.sets, s)
	}
}

var ldCloneGroups = [][]string{{"x86_64"}, {"aarch64", "i386", "arm", "riscv64", "ppc64le"}, {"s390x"}}

func (g *ldGen) rule() {
	r := g.r
	ru := &ldRule{name: g.name("rule_")}
	allowed := map[string]bool{}
	if r.Intn(20) < 11 {
		for _, a := range arch.Names() {
			allowed[a] = true
		}
	} else if r.Intn(4) == 0 {
		a := arch.Names()[r.Intn(len(arch.All()))]
		allowed[a] = true
		ru.arch = []string{a}
	} else {
		for len(allowed) == 0 {
			for _, a := range arch.Names() {
				if r.Intn(2) == 0 {
					allowed[a] = true
				}
			}
		}
		for _, a := range arch.Names() {
			if allowed[a] {
				ru.arch = append(ru.arch, a)
			}
		}
	}
	covers := func(on map[string]bool) bool {
		for a := range allowed {
			if !on[a] {
				return false
			}
		}
		return true
	}
	var names []string
	for _, n := range ldSyscallPool {
		if covers(ldAvail(n)) {
			names = append(names, n)
		}
	}
	var sets []*ldSet
	for _, s := range g.c.sets {
		if covers(s.on) {
			sets = append(sets, s)
		}
	}
	for i, n := 0, 1+r.Intn(3); i < n; i++ {
		if len(sets) > 0 && r.Intn(5) == 0 {
			s := sets[r.Intn(len(sets))]
			ru.items = append(ru.items, "syscall_set."+s.name)
			ru.syscalls = append(ru.syscalls, s.syscalls...)
			continue
		}
		n := names[r.Intn(len(names))]
		if n == "execve" && r.Intn(2) == 0 {
			// Half as often as the others: a rule that denies it is
			// refused (the loader could never exec the service).
			n = names[r.Intn(len(names))]
		}
		if r.Intn(15) == 0 {
			n = "clone" // the syscall whose arguments move
		}
		ru.items = append(ru.items, strconv.Quote(n))
		ru.syscalls = append(ru.syscalls, n)
	}
	hasWhen := r.Intn(4) != 0
	if hasWhen && r.Intn(8) != 0 && ldHas(ru.syscalls, "clone") {
		// clone's arguments mean different things across architectures:
		// narrow the rule to architectures that agree.
		first := r.Intn(len(ldCloneGroups))
		for i := range ldCloneGroups {
			grp := ldCloneGroups[(first+i)%len(ldCloneGroups)]
			var keep []string
			for _, a := range grp {
				if allowed[a] {
					keep = append(keep, a)
				}
			}
			if len(keep) > 0 {
				ru.arch = keep
				allowed = map[string]bool{}
				for _, a := range keep {
					allowed[a] = true
				}
				break
			}
		}
	}
	for _, a := range ru.arch {
		if r.Intn(5) == 0 {
			ru.archText = append(ru.archText, strconv.Quote(ldAliases[a]))
		} else {
			ru.archText = append(ru.archText, strconv.Quote(a))
		}
	}
	ctx := &ldCtx{nargs: 6}
	for i := range ctx.bits {
		ctx.bits[i] = 64
	}
	for _, a := range arch.All() {
		if !allowed[a.Name] {
			continue
		}
		ctx.arches = append(ctx.arches, a)
		for _, s := range ru.syscalls {
			if n, ok := a.NumArgs(s); ok && n < ctx.nargs {
				ctx.nargs = n
			}
			for i := range ctx.bits {
				if w, _ := a.ArgWidth(s, i); w < ctx.bits[i] {
					ctx.bits[i] = w
				}
			}
		}
	}
	if hasWhen {
		ru.when = g.cond(ctx, 3)
	}
	ru.act = g.action(false)
	if ldHas(ru.syscalls, "execve") && r.Intn(2) == 0 {
		// Half of the rules naming execve allow it (the action left
		// out), so that fewer configurations stop the loader.
		ru.act = ldAction{kind: policy.Allow}
	}
	g.c.rules = append(g.c.rules, ru)
}

func ldHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// action draws a rule's action, or the default action.
func (g *ldGen) action(isDefault bool) ldAction {
	r := g.r
	kinds := []policy.ActionKind{policy.Allow, policy.Allow, policy.Allow, policy.Log, policy.Errno, policy.Errno,
		policy.Trap, policy.KillThread, policy.KillProcess, policy.KillProcess}
	if isDefault {
		kinds = []policy.ActionKind{policy.Log, policy.Errno, policy.Errno, policy.Trap, policy.KillThread, policy.KillProcess, policy.KillProcess}
	}
	k := kinds[r.Intn(len(kinds))]
	act := ldAction{kind: k}
	name := map[policy.ActionKind]string{policy.Allow: "allow", policy.Log: "log", policy.Trap: "trap",
		policy.KillThread: "kill_thread", policy.KillProcess: "kill_process"}[k]
	switch {
	case k == policy.Errno:
		var inner string
		switch r.Intn(4) {
		case 0:
			act.errno = &ldVal{spec: hclspec.ConstRef{Name: "EPERM"}}
			inner = "EPERM"
		case 1:
			act.errno = &ldVal{spec: hclspec.ConstRef{Name: "EACCES"}}
			inner = "EACCES"
		default:
			n := uint64(r.Intn(40))
			if r.Intn(3) == 0 {
				n = uint64(r.Intn(policy.MaxErrno + 1))
			}
			act.errno = &ldVal{spec: hclspec.Number{Abs: n}}
			inner = strconv.FormatUint(n, 10)
		}
		act.text = "errno(" + inner + ")"
	case (k == policy.KillProcess && isDefault || k == policy.Allow && !isDefault) && r.Intn(3) == 0:
		// Omitted: the documented default.
		return act
	default:
		act.text = name
	}
	if r.Intn(5) == 0 {
		act.text = strconv.Quote(act.text)
	}
	return act
}

// numText writes a number, literally or through a local, a variable or
// parseint; locals and variables are added to the configuration.
func (g *ldGen) numText(neg bool, abs uint64, indirect bool) string {
	r := g.r
	lit := strconv.FormatUint(abs, 10)
	if neg {
		lit = "-" + lit
	}
	sign := ""
	if neg {
		sign = "-"
	}
	parse := func() string {
		switch r.Intn(4) {
		case 0:
			return fmt.Sprintf("parseint(%q, 8)", sign+strconv.FormatUint(abs, 8))
		case 1:
			return fmt.Sprintf("parseint(%q, 16)", sign+strings.ToUpper(strconv.FormatUint(abs, 16)))
		}
		return fmt.Sprintf("parseint(%q, 16)", sign+strconv.FormatUint(abs, 16))
	}
	if !indirect {
		return lit
	}
	switch r.Intn(14) {
	case 0, 1:
		name := g.name("n")
		text := lit
		switch r.Intn(3) {
		case 0:
			if !neg && abs > 0 && abs < 1<<40 {
				a := r.Uint64() % abs
				text = fmt.Sprintf("%d + %d", a, abs-a)
			}
		case 1:
			text = parse()
		}
		g.c.locals = append(g.c.locals, [2]string{name, text})
		return "local." + name
	case 2:
		name := g.name("v")
		v := ldVar{name: name}
		if r.Intn(2) == 0 {
			v.typ = "number"
		}
		decoy := strconv.Itoa(r.Intn(1000))
		switch r.Intn(4) {
		case 0:
			v.def = decoy
			g.c.opts.Environ = append(g.c.opts.Environ, "FENCER_VAR_"+name+"="+lit)
		case 1:
			v.def = decoy
			g.c.opts.Environ = append(g.c.opts.Environ, "FENCER_VAR_"+name+"="+strconv.Itoa(r.Intn(1000)))
			g.c.opts.Vars = append(g.c.opts.Vars, name+"="+lit)
		default:
			v.def = lit
		}
		g.c.vars = append(g.c.vars, v)
		return "var." + name
	case 3:
		return parse()
	case 4:
		return "(" + lit + ")"
	}
	return lit
}

// num draws a number that fits an argument of w bits.
func (g *ldGen) num(w int) (bool, uint64) {
	r := g.r
	half := uint64(1) << uint(w-1)
	switch r.Intn(12) {
	case 0, 1, 2, 3:
		return false, uint64(r.Intn(20))
	case 4:
		return true, 1
	case 5:
		return true, uint64(1 + r.Intn(200))
	case 6:
		return false, r.Uint64() & ldMask(w)
	case 7:
		return false, []uint64{half, ldMask(w), ldMask(w) - 1, half - 1}[r.Intn(4)]
	case 8:
		if r.Intn(2) == 0 {
			return true, half
		}
		return true, 1 + r.Uint64()%half
	case 9:
		for _, v := range []uint64{0xffff, 0x10000, 0xffffffff, 0x100000000, 0x8000} {
			if v <= ldMask(w) && r.Intn(2) == 0 {
				return false, v
			}
		}
	}
	return false, uint64(r.Intn(5000))
}

func (g *ldGen) numVal(neg bool, abs uint64, indirect bool) *ldVal {
	return &ldVal{spec: hclspec.Number{Neg: neg, Abs: abs}, text: g.numText(neg, abs, indirect)}
}

// constFits reports whether constant name exists and fits w bits on every
// architecture of ctx.
func constFits(ctx *ldCtx, name string, w int) bool {
	for _, a := range ctx.arches {
		c, ok := a.Const(name)
		if !ok || ldNarrowConst(c, w)&^ldMask(w) != 0 {
			return false
		}
	}
	return true
}

// val draws a value for an argument of w bits (the narrowest the argument
// has among the rule's syscalls and architectures).
func (g *ldGen) val(ctx *ldCtx, w int, depth int) *ldVal {
	r := g.r
	if r.Intn(1000) < g.invalid {
		return g.invalidVal(ctx, w)
	}
	switch k := r.Intn(20); {
	case k < 8:
		neg, abs := g.num(w)
		return g.numVal(neg, abs, true)
	case k < 11 && len(g.c.fds) > 0:
		fd := g.c.fds[r.Intn(len(g.c.fds))]
		return &ldVal{spec: hclspec.FdRef{Name: fd.name}, text: "fd." + fd.name}
	case k < 16 && r.Intn(6) == 0:
		t := ldStructPool[r.Intn(len(ldStructPool))]
		return &ldVal{spec: hclspec.SizeOf{Type: t}, text: "sizeof(" + t + ")"}
	case k < 16:
		var fit []string
		for _, c := range ldConstPool {
			if constFits(ctx, c, w) {
				fit = append(fit, c)
			}
		}
		c := fit[r.Intn(len(fit))]
		return &ldVal{spec: hclspec.ConstRef{Name: c}, text: c}
	case k < 19 && depth > 0:
		or := hclspec.BitOr{}
		var texts []string
		for i, n := 0, 1+r.Intn(3); i < n; i++ {
			x := g.val(ctx, w, depth-1)
			or.Xs = append(or.Xs, x.spec)
			texts = append(texts, x.text)
		}
		return &ldVal{spec: or, text: "bitor(" + strings.Join(texts, ", ") + ")"}
	}
	neg, abs := g.num(w)
	return g.numVal(neg, abs, false)
}

// invalidVal draws a value that does not fit w bits on some architecture
// of ctx, when there is one.
func (g *ldGen) invalidVal(ctx *ldCtx, w int) *ldVal {
	r := g.r
	var wide []string
	for _, c := range ldConstPool {
		if !constFits(ctx, c, w) {
			wide = append(wide, c)
		}
	}
	if w < 64 {
		switch r.Intn(3) {
		case 0:
			return g.numVal(false, ldMask(w)+1+uint64(r.Intn(3)), true)
		case 1:
			return g.numVal(true, uint64(1)<<uint(w-1)+1, true)
		}
	}
	if len(wide) > 0 {
		c := wide[r.Intn(len(wide))]
		return &ldVal{spec: hclspec.ConstRef{Name: c}, text: c}
	}
	return g.numVal(false, 1, false)
}

func (g *ldGen) cond(ctx *ldCtx, depth int) *ldCond {
	r := g.r
	c := &ldCond{paren: r.Intn(8) == 0}
	if ctx.nargs == 0 {
		return g.boolCond(c)
	}
	if depth == 0 || r.Intn(3) == 0 {
		return g.leaf(ctx, c)
	}
	switch r.Intn(5) {
	case 0, 1:
		c.kind = ldAnd
	case 2, 3:
		c.kind = ldOr
	default:
		c.kind = ldNot
		c.xs = []*ldCond{g.cond(ctx, depth-1)}
		return c
	}
	for i, n := 0, 2+r.Intn(2); i < n; i++ {
		c.xs = append(c.xs, g.cond(ctx, depth-1))
	}
	return c
}

func (g *ldGen) boolCond(c *ldCond) *ldCond {
	c.kind, c.b = ldBool, g.r.Intn(2) == 0
	c.text = strconv.FormatBool(c.b)
	if g.r.Intn(3) == 0 {
		name := g.name("b")
		g.c.locals = append(g.c.locals, [2]string{name, c.text})
		c.text = "local." + name
	}
	return c
}

// pickArg draws an argument every syscall of the rule has, or rarely
// (when the configuration may be invalid) one some syscall lacks.
func (g *ldGen) pickArg(ctx *ldCtx) int {
	r := g.r
	if ctx.nargs < 6 && r.Intn(1000) < g.invalid {
		return ctx.nargs + r.Intn(6-ctx.nargs)
	}
	return r.Intn(ctx.nargs)
}

func (g *ldGen) argSide(c *ldCond, ctx *ldCtx, maskOdds int) string {
	r := g.r
	c.arg = g.pickArg(ctx)
	side := fmt.Sprintf("arg%d", c.arg)
	if r.Intn(maskOdds) == 0 {
		c.mask = g.val(ctx, ctx.bits[c.arg], 1)
		side = fmt.Sprintf("masked(%s, %s)", side, c.mask.text)
	}
	return side
}

func (g *ldGen) leaf(ctx *ldCtx, c *ldCond) *ldCond {
	r := g.r
	switch k := r.Intn(100); {
	case k < 55:
		c.kind = ldCmp
		side := g.argSide(c, ctx, 4)
		c.op = policy.Op(r.Intn(6))
		c.v = g.val(ctx, ctx.bits[c.arg], 2)
		if r.Intn(5) < 2 {
			c.swapped = true
			c.text = fmt.Sprintf("%s %s %s", c.v.text, ldOpText(ldFlip(c.op)), side)
		} else {
			c.text = fmt.Sprintf("%s %s %s", side, ldOpText(c.op), c.v.text)
		}
	case k < 72:
		c.kind = ldContains
		side := g.argSide(c, ctx, 5)
		w := ctx.bits[c.arg]
		n := 1 + r.Intn(4)
		if r.Intn(20) == 0 {
			n = 0
		}
		if r.Intn(6) == 0 {
			// A local or a variable holding a list of numbers.
			var texts []string
			for i := 0; i < n; i++ {
				neg, abs := g.num(w)
				c.list = append(c.list, &ldVal{spec: hclspec.Number{Neg: neg, Abs: abs}})
				texts = append(texts, g.numText(neg, abs, false))
			}
			list := "[" + strings.Join(texts, ", ") + "]"
			if r.Intn(2) == 0 {
				name := g.name("l")
				g.c.locals = append(g.c.locals, [2]string{name, list})
				c.text = fmt.Sprintf("contains(local.%s, %s)", name, side)
				break
			}
			v := ldVar{name: g.name("vl"), def: list}
			switch r.Intn(3) {
			case 0:
				v.typ = "list(number)"
			case 1:
				// Given on the command line, read as an HCL expression.
				v.typ, v.def = "list(number)", "[]"
				g.c.opts.Vars = append(g.c.opts.Vars, v.name+"="+list)
			}
			g.c.vars = append(g.c.vars, v)
			c.text = fmt.Sprintf("contains(var.%s, %s)", v.name, side)
			break
		}
		var texts []string
		for i := 0; i < n; i++ {
			v := g.val(ctx, w, 1)
			c.list = append(c.list, v)
			texts = append(texts, v.text)
		}
		c.text = fmt.Sprintf("contains([%s], %s)", strings.Join(texts, ", "), side)
	case k < 92:
		c.kind = ldHasBits
		c.arg = g.pickArg(ctx)
		c.mask = g.val(ctx, ctx.bits[c.arg], 2)
		c.text = fmt.Sprintf("has_bits(arg%d, %s)", c.arg, c.mask.text)
	default:
		return g.boolCond(c)
	}
	return c
}

// ---------------------------------------------------------------------
// Rendering.

func (c *ldCond) render() string {
	var s string
	switch c.kind {
	case ldAnd, ldOr:
		sep := " && "
		if c.kind == ldOr {
			sep = " || "
		}
		var parts []string
		for _, x := range c.xs {
			p := x.render()
			if c.kind == ldAnd && x.kind == ldOr && !x.paren {
				p = "(" + p + ")"
			}
			parts = append(parts, p)
		}
		s = strings.Join(parts, sep)
	case ldNot:
		x := c.xs[0]
		inner := x.render()
		if !x.paren && (x.kind == ldCmp || x.kind == ldAnd || x.kind == ldOr) {
			inner = "(" + inner + ")"
		}
		s = "!" + inner
	default:
		s = c.text
	}
	if c.paren {
		s = "(" + s + ")"
	}
	return s
}

// files writes the configuration: all HCL, all JSON (HCL's JSON syntax),
// or the service in one syntax and the rest in the other.
func (c *ldConfig) files() map[string][]byte {
	hclTop, hclSvc := c.hclTop(), c.hclService()
	switch c.format {
	case 1:
		return map[string][]byte{"main.fencer.json": []byte(ldJSONObject(append(c.jsonTop(), c.jsonService())))}
	case 2:
		return map[string][]byte{"a.fencer.hcl": []byte(hclSvc), "b.fencer.json": []byte(ldJSONObject(c.jsonTop()))}
	case 3:
		return map[string][]byte{"a.fencer.json": []byte(ldJSONObject([]string{c.jsonService()})), "b.fencer.hcl": []byte(hclTop)}
	}
	if c.order == 0 {
		return map[string][]byte{"main.fencer.hcl": []byte(hclTop + hclSvc)}
	}
	return map[string][]byte{"main.fencer.hcl": []byte(hclSvc + "\n" + hclTop)}
}

// ldListing shows files with line numbers.
func ldListing(files map[string][]byte) string {
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "--- %s\n", n)
		for i, line := range strings.Split(strings.TrimRight(string(files[n]), "\n"), "\n") {
			fmt.Fprintf(&b, "%4d  %s\n", i+1, line)
		}
	}
	return b.String()
}

// hclTop is everything but the service, in HCL.
func (c *ldConfig) hclTop() string {
	var b strings.Builder
	for _, s := range c.sets {
		fmt.Fprintf(&b, "syscall_set %q {\n  syscalls = [%s]\n}\n\n", s.name, strings.Join(s.items, ", "))
	}
	for _, v := range c.vars {
		fmt.Fprintf(&b, "variable %q {\n", v.name)
		if v.typ != "" {
			fmt.Fprintf(&b, "  type    = %s\n", v.typ)
		}
		fmt.Fprintf(&b, "  default = %s\n}\n\n", v.def)
	}
	if len(c.locals) > 0 {
		b.WriteString("locals {\n")
		for _, l := range c.locals {
			fmt.Fprintf(&b, "  %s = %s\n", l[0], l[1])
		}
		b.WriteString("}\n\n")
	}
	return b.String()
}

func (c *ldConfig) hclService() string {
	var b strings.Builder
	b.WriteString("service \"svc\" {\n  unit = \"svc.service\"\n")
	if c.systemd {
		b.WriteString("  enforce = \"systemd\"\n")
	}
	if c.def.text != "" {
		fmt.Fprintf(&b, "  default_action = %s\n", c.def.text)
	}
	for _, fd := range c.fds {
		fmt.Fprintf(&b, "\n  fd %q {\n    %s = %s\n  }\n", fd.name, fd.attr, fd.value)
	}
	for _, ru := range c.rules {
		fmt.Fprintf(&b, "\n  rule %q {\n    syscalls = [%s]\n", ru.name, strings.Join(ru.items, ", "))
		if ru.arch != nil {
			fmt.Fprintf(&b, "    arch     = [%s]\n", strings.Join(ru.archText, ", "))
		}
		if ru.when != nil {
			fmt.Fprintf(&b, "    when     = %s\n", ru.when.render())
		}
		if ru.act.text != "" {
			fmt.Fprintf(&b, "    action   = %s\n", ru.act.text)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func ldJSONString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// ldJSONExpr writes an HCL expression as a JSON value: a decimal number
// or a list of them as it is, anything else as a "${...}" template.
func ldJSONExpr(text string) string {
	if strings.HasPrefix(text, "\"") {
		return text // a string literal without escapes or interpolation
	}
	if strings.Trim(text, "0123456789-[], ") == "" || text == "true" || text == "false" {
		return text
	}
	return ldJSONString("${" + text + "}")
}

// ldJSONItem writes an item of a syscalls list: a quoted name as it is,
// a syscall_set reference as a string.
func ldJSONItem(item string) string {
	if strings.HasPrefix(item, "\"") {
		return item
	}
	return ldJSONString(item)
}

func ldJSONObject(members []string) string {
	var keep []string
	for _, m := range members {
		if m != "" {
			keep = append(keep, m)
		}
	}
	return "{\n" + strings.Join(keep, ",\n") + "\n}\n"
}

// jsonTop is everything but the service, as members of the top object.
func (c *ldConfig) jsonTop() []string {
	var out, parts []string
	for _, s := range c.sets {
		var items []string
		for _, it := range s.items {
			items = append(items, ldJSONItem(it))
		}
		parts = append(parts, fmt.Sprintf("    %q: {\"syscalls\": [%s]}", s.name, strings.Join(items, ", ")))
	}
	if parts != nil {
		out = append(out, "  \"syscall_set\": {\n"+strings.Join(parts, ",\n")+"\n  }")
	}
	parts = nil
	for _, v := range c.vars {
		typ := ""
		if v.typ != "" {
			typ = fmt.Sprintf("\"type\": %q, ", v.typ)
		}
		parts = append(parts, fmt.Sprintf("    %q: {%s\"default\": %s}", v.name, typ, ldJSONExpr(v.def)))
	}
	if parts != nil {
		out = append(out, "  \"variable\": {\n"+strings.Join(parts, ",\n")+"\n  }")
	}
	parts = nil
	for _, l := range c.locals {
		parts = append(parts, fmt.Sprintf("    %q: %s", l[0], ldJSONExpr(l[1])))
	}
	if parts != nil {
		out = append(out, "  \"locals\": {\n"+strings.Join(parts, ",\n")+"\n  }")
	}
	return out
}

func (c *ldConfig) jsonService() string {
	var b strings.Builder
	b.WriteString("  \"service\": {\n    \"svc\": {\n      \"unit\": \"svc.service\"")
	action := func(text string) string {
		if s, err := strconv.Unquote(text); err == nil {
			text = s
		}
		return ldJSONString(text)
	}
	if c.systemd {
		b.WriteString(",\n      \"enforce\": \"systemd\"")
	}
	if c.def.text != "" {
		fmt.Fprintf(&b, ",\n      \"default_action\": %s", action(c.def.text))
	}
	if len(c.fds) > 0 {
		var parts []string
		for _, fd := range c.fds {
			parts = append(parts, fmt.Sprintf("        %q: {%q: %s}", fd.name, fd.attr, ldJSONExpr(fd.value)))
		}
		b.WriteString(",\n      \"fd\": {\n" + strings.Join(parts, ",\n") + "\n      }")
	}
	var rules []string
	for _, ru := range c.rules {
		var items []string
		for _, it := range ru.items {
			items = append(items, ldJSONItem(it))
		}
		attrs := []string{fmt.Sprintf("\"syscalls\": [%s]", strings.Join(items, ", "))}
		if ru.arch != nil {
			attrs = append(attrs, fmt.Sprintf("\"arch\": [%s]", strings.Join(ru.archText, ", ")))
		}
		if ru.when != nil {
			attrs = append(attrs, "\"when\": "+ldJSONString(ru.when.render()))
		}
		if ru.act.text != "" {
			attrs = append(attrs, "\"action\": "+action(ru.act.text))
		}
		rules = append(rules, fmt.Sprintf("        %q: {\n          %s\n        }", ru.name, strings.Join(attrs, ",\n          ")))
	}
	b.WriteString(",\n      \"rule\": {\n" + strings.Join(rules, ",\n") + "\n      }")
	b.WriteString("\n    }\n  }")
	return b.String()
}

// ---------------------------------------------------------------------
// The evaluators.

// ldPolicy is a configuration's meaning on one architecture, from the
// documentation.
type ldPolicy struct {
	a      *arch.Arch
	def    policy.Action
	rules  []ldPRule
	fds    map[string]uint64
	widths map[string][6]int
	// systemd is set for enforce = "systemd".
	systemd bool
	// execOnce: execve gets exec_once (see ldExecOnce).
	execOnce bool
}

// ldExecOnce sets execOnce as "Exec once" in docs/language.md says: the
// loader starts the service (enforce = "exec"), default_action is not log,
// and no rule for the policy's architecture names execve.
func (p *ldPolicy) ldExecOnce(enforce string) {
	nr, _ := p.a.Syscall("execve")
	p.execOnce = enforce == "exec" && p.def.Kind != policy.Log
	for _, ru := range p.rules {
		for _, n := range ru.nrs {
			if n == uint32(nr) {
				p.execOnce = false
			}
		}
	}
}

type ldPRule struct {
	name     string
	syscalls []string
	nrs      []uint32
	cond     func(sys string, args *[6]uint64) bool // nil: unconditional
	act      policy.Action
}

func newLDPolicy(a *arch.Arch, fds map[string]uint64) *ldPolicy {
	return &ldPolicy{a: a, fds: fds, widths: map[string][6]int{}}
}

// bits is the width of argument n of sys on the policy's architecture.
func (p *ldPolicy) bits(sys string, n int) int {
	ws, ok := p.widths[sys]
	if !ok {
		for i := range ws {
			ws[i], _ = p.a.ArgWidth(sys, i)
		}
		p.widths[sys] = ws
	}
	return ws[n]
}

// val is a value on an argument of w bits.
func (p *ldPolicy) val(v hclspec.Value, w int) uint64 {
	switch x := v.(type) {
	case hclspec.Number:
		if x.Neg {
			// Two's complement in the width when it fits a signed number
			// of the width; where the width depends on the call and this
			// call's is narrower than the value, the 64-bit two's
			// complement, which the narrower argument never equals.
			if x.Abs <= uint64(1)<<uint(w-1) {
				return -x.Abs & ldMask(w)
			}
			return -x.Abs
		}
		return x.Abs
	case hclspec.ConstRef:
		c, ok := p.a.Const(x.Name)
		if !ok {
			panic("unknown constant " + x.Name)
		}
		return ldNarrowConst(c, w)
	case hclspec.SizeOf:
		n, ok := p.a.StructSize(x.Type)
		if !ok {
			panic("unknown struct " + x.Type)
		}
		return n
	case hclspec.FdRef:
		n, ok := p.fds[x.Name]
		if !ok {
			panic("unknown fd " + x.Name)
		}
		return n
	case hclspec.BitOr:
		var out uint64
		for _, y := range x.Xs {
			out |= p.val(y, w)
		}
		return out
	}
	panic(fmt.Sprintf("unknown value %T", v))
}

// arg is argument n of sys as the kernel reads it in this call, under mask
// when given. docs/language.md: the width of some arguments depends on the
// call (keyctl's arg1 on the option in arg0, fcntl's arg2 on the command).
func (p *ldPolicy) arg(sys string, n int, mask hclspec.Value, args *[6]uint64) (uint64, int) {
	w := p.a.ArgWidthIn(sys, n, args).Bits
	x := args[n] & ldMask(w)
	if mask != nil {
		x &= p.val(mask, w)
	}
	return x, w
}

// tree evaluates a condition of the hclspec tree.
func (p *ldPolicy) tree(c hclspec.Cond, sys string, args *[6]uint64) bool {
	switch x := c.(type) {
	case hclspec.BoolLit:
		return x.V
	case hclspec.And:
		for _, y := range x.Xs {
			if !p.tree(y, sys, args) {
				return false
			}
		}
		return true
	case hclspec.Or:
		for _, y := range x.Xs {
			if p.tree(y, sys, args) {
				return true
			}
		}
		return false
	case hclspec.Not:
		return !p.tree(x.X, sys, args)
	case hclspec.Compare:
		a, w := p.arg(sys, x.Arg, x.Mask, args)
		return ldCompare(x.Op, a, p.val(x.V, w))
	case hclspec.Contains:
		a, w := p.arg(sys, x.Arg, x.Mask, args)
		for _, y := range x.List {
			if a == p.val(y, w) {
				return true
			}
		}
		return false
	case hclspec.HasBits:
		a, w := p.arg(sys, x.Arg, nil, args)
		m := p.val(x.Mask, w)
		return a&m == m
	}
	panic(fmt.Sprintf("unknown condition %T", c))
}

// model evaluates a condition of the generator's model.
func (p *ldPolicy) model(c *ldCond, sys string, args *[6]uint64) bool {
	spec := func(v *ldVal) hclspec.Value {
		if v == nil {
			return nil
		}
		return v.spec
	}
	switch c.kind {
	case ldBool:
		return c.b
	case ldAnd:
		for _, y := range c.xs {
			if !p.model(y, sys, args) {
				return false
			}
		}
		return true
	case ldOr:
		for _, y := range c.xs {
			if p.model(y, sys, args) {
				return true
			}
		}
		return false
	case ldNot:
		return !p.model(c.xs[0], sys, args)
	case ldCmp:
		a, w := p.arg(sys, c.arg, spec(c.mask), args)
		return ldCompare(c.op, a, p.val(c.v.spec, w))
	case ldContains:
		a, w := p.arg(sys, c.arg, spec(c.mask), args)
		for _, y := range c.list {
			if a == p.val(y.spec, w) {
				return true
			}
		}
		return false
	case ldHasBits:
		a, w := p.arg(sys, c.arg, nil, args)
		m := p.val(c.mask.spec, w)
		return a&m == m
	}
	panic("unknown condition kind")
}

func (p *ldPolicy) action(kind policy.ActionKind, errno hclspec.Value) policy.Action {
	act := policy.Action{Kind: kind}
	if errno != nil {
		act.Data = uint16(p.val(errno, 64))
	}
	return act
}

// add adds a rule if it applies on the policy's architecture.
func (p *ldPolicy) add(name string, archs []string, syscalls []string, cond func(string, *[6]uint64) bool, act policy.Action) {
	if archs != nil && !ldHas(archs, p.a.Name) {
		return
	}
	ru := ldPRule{name: name, cond: cond, act: act}
	for _, s := range syscalls {
		nr, ok := p.a.Syscall(s)
		if !ok {
			panic(fmt.Sprintf("no syscall %s on %s", s, p.a.Name))
		}
		ru.syscalls = append(ru.syscalls, s)
		ru.nrs = append(ru.nrs, uint32(nr))
	}
	p.rules = append(p.rules, ru)
}

// decide is the documented meaning: another architecture's entry point
// and x32 syscalls on x86_64 kill the process; execve under exec once gets
// exec_once; otherwise the most
// restrictive action of the rules for the syscall whose condition holds
// wins, the first declared among equals; no rule holding, the default.
func (p *ldPolicy) decide(d policy.Data) (policy.Action, string) {
	if d.Arch != p.a.Audit {
		return policy.Action{Kind: policy.KillProcess}, "(foreign architecture)"
	}
	if p.a.Name == "x86_64" && uint32(d.Nr) >= 0x40000000 {
		return policy.Action{Kind: policy.KillProcess}, "(x32 syscall)"
	}
	if p.systemd {
		return p.decideSystemd(uint32(d.Nr))
	}
	if nr, _ := p.a.Syscall("execve"); p.execOnce && uint32(d.Nr) == uint32(nr) {
		return policy.Action{Kind: policy.ExecOnce}, "(exec once)"
	}
	var best policy.Action
	who := ""
	for _, ru := range p.rules {
		for i, nr := range ru.nrs {
			if nr != uint32(d.Nr) || ru.cond != nil && !ru.cond(ru.syscalls[i], &d.Args) {
				continue
			}
			if who == "" || ldRank(ru.act.Kind) > ldRank(best.Kind) {
				best, who = ru.act, ru.name
			}
		}
	}
	if who == "" {
		return p.def, "(default)"
	}
	return best, who
}

// decideSystemd is the documented meaning under enforce = "systemd":
// whatever the arguments, the most restrictive of the actions of the rules
// naming the syscall, and of the default action unless one of them has no
// condition (the default first, then the rules in order, the first among
// equals).
func (p *ldPolicy) decideSystemd(nr uint32) (policy.Action, string) {
	unconditional := false
	for _, ru := range p.rules {
		for _, n := range ru.nrs {
			unconditional = unconditional || n == nr && ru.cond == nil
		}
	}
	best, who := p.def, "(default)"
	first := unconditional
	for _, ru := range p.rules {
		for _, n := range ru.nrs {
			if n != nr {
				continue
			}
			if first || ldRank(ru.act.Kind) > ldRank(best.Kind) {
				best, who, first = ru.act, ru.name, false
			}
		}
	}
	return best, who
}

// ldFdNumbers numbers a service's fds from its fd blocks, as the table
// of docs/language.md says: stdio 0-2, sockets from 3 in declaration
// order, open files after the last socket, number = N as written.
func ldFdNumbers(svc *hclspec.Service) map[string]uint64 {
	out := map[string]uint64{}
	next := uint64(3)
	for _, fd := range svc.Fds {
		switch fd.Kind {
		case hclspec.FdStdin:
			out[fd.Name] = 0
		case hclspec.FdStdout:
			out[fd.Name] = 1
		case hclspec.FdStderr:
			out[fd.Name] = 2
		case hclspec.FdListenStream, hclspec.FdListenDatagram, hclspec.FdListenSeqPacket:
			out[fd.Name] = next
			next++
		case hclspec.FdNumber:
			out[fd.Name] = uint64(fd.Number) // only the tree knows what was written
		}
	}
	for _, fd := range svc.Fds {
		if fd.Kind == hclspec.FdOpenFile {
			out[fd.Name] = next
			next++
		}
	}
	return out
}

// ldTreePolicy is the meaning of a parsed service on a.
func ldTreePolicy(svc *hclspec.Service, a *arch.Arch) *ldPolicy {
	p := newLDPolicy(a, ldFdNumbers(svc))
	p.systemd = svc.Enforce == hclspec.EnforceSystemd
	p.def = p.action(svc.DefaultAction.Kind, svc.DefaultAction.Errno)
	for _, ru := range svc.Rules {
		var names []string
		for _, s := range ru.Syscalls {
			names = append(names, s.Name)
		}
		var cond func(string, *[6]uint64) bool
		if b, ok := ru.When.(hclspec.BoolLit); ok && b.V && p.systemd {
			// when = true: unconditional, which only enforce =
			// "systemd" tells apart.
		} else if ru.When != nil {
			when := ru.When
			cond = func(sys string, args *[6]uint64) bool { return p.tree(when, sys, args) }
		}
		p.add(ru.Name, ru.Arch, names, cond, p.action(ru.Action.Kind, ru.Action.Errno))
	}
	p.ldExecOnce(svc.Enforce)
	return p
}

// ldModelPolicy is the meaning of the generated configuration on a.
func ldModelPolicy(c *ldConfig, a *arch.Arch) *ldPolicy {
	fds := map[string]uint64{}
	for _, fd := range c.fds {
		fds[fd.name] = uint64(fd.number)
	}
	p := newLDPolicy(a, fds)
	p.systemd = c.systemd
	errno := func(act ldAction) hclspec.Value {
		if act.errno == nil {
			return nil
		}
		return act.errno.spec
	}
	p.def = p.action(c.def.kind, errno(c.def))
	if c.def.text == "" {
		p.def = policy.Action{Kind: policy.KillProcess}
	}
	for _, ru := range c.rules {
		var cond func(string, *[6]uint64) bool
		if ru.when != nil && ru.when.kind == ldBool && ru.when.b && p.systemd {
			// when = true, as written: unconditional.
		} else if ru.when != nil {
			when := ru.when
			cond = func(sys string, args *[6]uint64) bool { return p.model(when, sys, args) }
		}
		p.add(ru.name, ru.arch, ru.syscalls, cond, p.action(ru.act.kind, errno(ru.act)))
	}
	if p.systemd {
		p.ldExecOnce(hclspec.EnforceSystemd)
	} else {
		p.ldExecOnce(hclspec.EnforceExec)
	}
	return p
}

// ---------------------------------------------------------------------
// Which configurations are errors.

var ldCloneArgs = map[string][5]string{
	"x86_64": {"flags", "newsp", "parent_tid", "child_tid", "tls"},
	"s390x":  {"newsp", "flags", "parent_tid", "child_tid", "tls"},
	"":       {"flags", "newsp", "parent_tid", "tls", "child_tid"}, // CONFIG_CLONE_BACKWARDS
}

func ldCloneArg(archName string, n int) string {
	if m, ok := ldCloneArgs[archName]; ok {
		return m[n]
	}
	return ldCloneArgs[""][n]
}

// ldProblems lists what the documentation makes an error in svc on a.
func ldProblems(svc *hclspec.Service, a *arch.Arch) []string {
	p := newLDPolicy(a, ldFdNumbers(svc))
	var out []string
	// A negative number fits when it is a signed number of the width.
	var negFits func(v hclspec.Value, w int) (uint64, bool)
	negFits = func(v hclspec.Value, w int) (uint64, bool) {
		switch x := v.(type) {
		case hclspec.Number:
			return x.Abs, !x.Neg || x.Abs <= uint64(1)<<uint(w-1)
		case hclspec.BitOr:
			for _, y := range x.Xs {
				if abs, ok := negFits(y, w); !ok {
					return abs, false
				}
			}
		}
		return 0, true
	}
	fits := func(v hclspec.Value, w int, where string) {
		if abs, ok := negFits(v, w); !ok {
			out = append(out, fmt.Sprintf("%s: -%d does not fit a signed %d-bit argument", where, abs, w))
			return
		}
		if x := p.val(v, w); x&^ldMask(w) != 0 {
			out = append(out, fmt.Sprintf("%s: %#x is wider than %d bits", where, x, w))
		}
	}
	var walk func(c hclspec.Cond, sys, where string, args *[]int)
	walk = func(c hclspec.Cond, sys, where string, args *[]int) {
		checkArg := func(n int) int {
			*args = append(*args, n)
			if first, split := a.SplitFrom(sys); split && n >= first {
				out = append(out, fmt.Sprintf("%s: arg%d of %s is split across registers", where, n, sys))
			} else if max, ok := a.NumArgs(sys); ok && n >= max {
				out = append(out, fmt.Sprintf("%s: %s has no arg%d", where, sys, n))
			}
			return p.bits(sys, n)
		}
		switch x := c.(type) {
		case hclspec.And:
			for _, y := range x.Xs {
				walk(y, sys, where, args)
			}
		case hclspec.Or:
			for _, y := range x.Xs {
				walk(y, sys, where, args)
			}
		case hclspec.Not:
			walk(x.X, sys, where, args)
		case hclspec.Compare:
			w := checkArg(x.Arg)
			if x.Mask != nil {
				fits(x.Mask, w, where)
			}
			fits(x.V, w, where)
		case hclspec.Contains:
			w := checkArg(x.Arg)
			if x.Mask != nil {
				fits(x.Mask, w, where)
			}
			for _, y := range x.List {
				fits(y, w, where)
			}
		case hclspec.HasBits:
			fits(x.Mask, checkArg(x.Arg), where)
		}
	}
	for _, ru := range svc.Rules {
		if ru.Arch != nil && !ldHas(ru.Arch, a.Name) {
			continue
		}
		for _, s := range ru.Syscalls {
			where := fmt.Sprintf("rule %q, %s on %s", ru.Name, s.Name, a.Name)
			if _, ok := a.Syscall(s.Name); !ok {
				out = append(out, where+": no such syscall")
				continue
			}
			if ru.When == nil {
				continue
			}
			var args []int
			walk(ru.When, s.Name, where, &args)
			if s.Name != "clone" {
				continue
			}
			arches := ru.Arch
			if arches == nil {
				arches = arch.Names()
			}
			for _, n := range args {
				if n > 4 {
					continue
				}

				for _, other := range arches {
					if ldCloneArg(other, n) != ldCloneArg(arches[0], n) {
						out = append(out, fmt.Sprintf("%s: arg%d of clone is %s on %s and %s on %s", where, n,
							ldCloneArg(arches[0], n), arches[0], ldCloneArg(other, n), other))
						break
					}
				}
			}
		}
	}
	if len(out) == 0 && ldLoaderNeverExecs(svc, ldTreePolicy(svc, a)) {
		out = append(out, fmt.Sprintf("the loader can never exec the service on %s", a.Name))
	}
	if svc.Enforce == hclspec.EnforceSystemd && len(out) == 0 {
		// What systemd's SystemCallFilter= cannot do at all.
		tree := ldTreePolicy(svc, a)
		// SystemCallErrorNumber= takes 1 and up: not errno(0).
		if k := tree.def.Kind; k != policy.KillProcess && k != policy.Errno || k == policy.Errno && tree.def.Data == 0 {
			out = append(out, fmt.Sprintf("on %s: systemd cannot give default %v", a.Name, tree.def))
		}
		for _, ru := range tree.rules {
			if k := ru.act.Kind; (k == policy.Trap || k == policy.KillThread) && len(ru.nrs) > 0 {
				out = append(out, fmt.Sprintf("rule %q on %s: systemd cannot give %v", ru.name, a.Name, ru.act))
			}
		}
		nr, _ := a.Syscall("execve")
		if v, _ := tree.decideSystemd(uint32(nr)); v.Kind != policy.Allow && v.Kind != policy.Log {
			out = append(out, fmt.Sprintf("on %s: systemd cannot start the service: execve gets %v", a.Name, v))
		}
	}
	return out
}

// ldByDesign are the kinds of problem that are policies the generator
// means to write sometimes (the loader or systemd could not start the
// service), not mistakes in its values or arguments.
var ldByDesign = map[string]bool{"loader can never exec": true, "systemd cannot": true}

// ldProblemKinds are the kinds of problem ldProblems reports.
var ldProblemKinds = []string{"does not fit a signed", "is wider than", "has no arg", "of clone is", "loader can never exec", "no such syscall", "systemd cannot"}

// ldWhatever is what "Exec once" in docs/language.md says of a condition
// over arguments nobody knows: 1 when it holds whatever they are, 0 when it
// fails whatever they are, -1 when it depends on them. Each comparison is
// decided by its extremes (none and all of the bits it compares set), ==
// and != only by a value with a bit outside those; &&, || and ! combine.
func (p *ldPolicy) ldWhatever(c hclspec.Cond, sys string) int {
	cmp := func(arg int, mask hclspec.Value, op policy.Op, v hclspec.Value) int {
		w := p.bits(sys, arg)
		bits := ldMask(w)
		if mask != nil {
			bits &= p.val(mask, w)
		}
		val := p.val(v, w)
		if op == policy.EQ || op == policy.NE {
			if val&^bits != 0 || bits == 0 {
				if ldCompare(op, 0, val) {
					return 1
				}
				return 0
			}
			return -1
		}
		lo, hi := ldCompare(op, 0, val), ldCompare(op, bits, val)
		switch {
		case lo && hi:
			return 1
		case !lo && !hi:
			return 0
		}
		return -1
	}
	any := func(xs []int, stop int) int {
		out := 1 - stop
		for _, x := range xs {
			if x == stop {
				return stop
			}
			if x < 0 {
				out = -1
			}
		}
		return out
	}
	switch x := c.(type) {
	case hclspec.BoolLit:
		if x.V {
			return 1
		}
		return 0
	case hclspec.And:
		var xs []int
		for _, y := range x.Xs {
			xs = append(xs, p.ldWhatever(y, sys))
		}
		return any(xs, 0)
	case hclspec.Or:
		var xs []int
		for _, y := range x.Xs {
			xs = append(xs, p.ldWhatever(y, sys))
		}
		return any(xs, 1)
	case hclspec.Not:
		if v := p.ldWhatever(x.X, sys); v >= 0 {
			return 1 - v
		}
		return -1
	case hclspec.Compare:
		return cmp(x.Arg, x.Mask, x.Op, x.V)
	case hclspec.Contains:
		var xs []int
		for _, y := range x.List {
			xs = append(xs, cmp(x.Arg, x.Mask, policy.EQ, y))
		}
		return any(xs, 1)
	case hclspec.HasBits:
		w := p.bits(sys, x.Arg)
		m := p.val(x.Mask, w) & ldMask(w)
		if m == 0 {
			return 1
		}
		return -1
	}
	panic(fmt.Sprintf("unknown condition %T", c))
}

// ldLoaderNeverExecs is the error of "Exec once" in docs/language.md: where
// rules name execve, the loader's execve can never pass when a rule that
// kills, traps or fails it holds whatever the arguments, or no rule that
// allows or logs it can hold and default_action is not log.
func ldLoaderNeverExecs(svc *hclspec.Service, p *ldPolicy) bool {
	if svc.Enforce != "exec" || p.execOnce {
		return false
	}
	named, canPass := false, p.def.Kind == policy.Log
	for _, ru := range svc.Rules {
		if ru.Arch != nil && !ldHas(ru.Arch, p.a.Name) {
			continue
		}
		for _, s := range ru.Syscalls {
			if s.Name != "execve" {
				continue
			}
			named = true
			holds := 1
			if ru.When != nil {
				holds = p.ldWhatever(ru.When, "execve")
			}
			pass := ru.Action.Kind == policy.Allow || ru.Action.Kind == policy.Log
			if !pass && holds == 1 {
				return true
			}
			if pass && holds != 0 {
				canPass = true
			}
		}
	}
	return named && !canPass
}

// ---------------------------------------------------------------------
// Running.

type ldStats struct {
	configs, skipped, tooLong int
	mistakes                  int            // refused for a mistake in values or arguments, not by design
	refusedFor                map[string]int // why the documentation makes a refused configuration an error
	inputs                    map[string]int
	verdicts                  map[policy.ActionKind]int
	byCond, byDefaultNamed    int // decided by a rule with a condition; by default though rules named the syscall
}

func newLDStats() *ldStats {
	return &ldStats{inputs: map[string]int{}, verdicts: map[policy.ActionKind]int{}, refusedFor: map[string]int{}}
}

func ldOpts(o hclspec.LoadOptions) string {
	if len(o.Vars) == 0 && len(o.Environ) == 0 {
		return ""
	}
	return fmt.Sprintf("with -var %q and environment %q\n", o.Vars, o.Environ)
}

// ldCrossCheck compares the parsed tree with what the generator wrote.
func ldCrossCheck(t testing.TB, c *ldConfig, cfg *hclspec.Config, src string) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\n%s%s", fmt.Sprintf(format, args...), ldOpts(c.opts), src)
	}
	if len(cfg.Services) != 1 {
		fail("parsed %d services, want 1", len(cfg.Services))
	}
	svc := cfg.Services[0]
	mine := ldFdNumbers(svc)
	if len(svc.Fds) != len(c.fds) {
		fail("parsed %d fds, want %d", len(svc.Fds), len(c.fds))
	}
	for i, fd := range svc.Fds {
		want := c.fds[i]
		if fd.Name != want.name || fd.Number != want.number || mine[fd.Name] != uint64(want.number) {
			fail("fd %q: hclspec numbers it %d, the documentation %d (the tree's fd is %q kind %d)",
				want.name, fd.Number, want.number, fd.Name, fd.Kind)
		}
	}
	wantDef := c.def.kind
	if c.def.text == "" {
		wantDef = policy.KillProcess
	}
	if svc.DefaultAction.Kind != wantDef {
		fail("default_action parsed as %v, want %v", svc.DefaultAction.Kind, wantDef)
	}
	if len(svc.Rules) != len(c.rules) {
		fail("parsed %d rules, want %d", len(svc.Rules), len(c.rules))
	}
	for i, ru := range svc.Rules {
		want := c.rules[i]
		var got []string
		for _, s := range ru.Syscalls {
			got = append(got, s.Name)
		}
		if g, w := ldSortedSet(got), ldSortedSet(want.syscalls); g != w {
			fail("rule %q names %s, want %s", want.name, g, w)
		}
		if fmt.Sprint(ru.Arch) != fmt.Sprint(want.arch) {
			fail("rule %q: arch %q, want %q", want.name, ru.Arch, want.arch)
		}
		if (ru.When == nil) != (want.when == nil) || ru.Action.Kind != want.act.kind {
			fail("rule %q: parsed when %v action %v", want.name, ru.When != nil, ru.Action.Kind)
		}
	}
}

func ldSortedSet(list []string) string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// ldValues lists the numbers a condition of svc compares with on p's
// architecture, at every width, to derive inputs from.
func ldValues(svc *hclspec.Service, p *ldPolicy) []uint64 {
	var out []uint64
	add := func(v hclspec.Value) {
		for _, w := range []int{16, 32, 64} {
			x := p.val(v, w)
			out = append(out, x, x+1, x-1, x&(x-1), x&^(x-1))
		}
	}
	var walk func(c hclspec.Cond)
	walk = func(c hclspec.Cond) {
		switch x := c.(type) {
		case hclspec.And:
			for _, y := range x.Xs {
				walk(y)
			}
		case hclspec.Or:
			for _, y := range x.Xs {
				walk(y)
			}
		case hclspec.Not:
			walk(x.X)
		case hclspec.Compare:
			if x.Mask != nil {
				add(x.Mask)
				m, v := p.val(x.Mask, 64), p.val(x.V, 64)
				out = append(out, m&v, v|^m)
			}
			add(x.V)
		case hclspec.Contains:
			if x.Mask != nil {
				add(x.Mask)
			}
			for _, y := range x.List {
				add(y)
			}
		case hclspec.HasBits:
			add(x.Mask)
		}
	}
	for _, ru := range svc.Rules {
		if ru.When != nil {
			walk(ru.When)
		}
	}
	for _, n := range p.fds {
		out = append(out, n, n+1, n-1)
	}
	// The commands that change how wide another argument is read
	// (docs/language.md, Argument widths: keyctl's options, fcntl's
	// commands, ...), so that calls of every reading are drawn.
	for _, ru := range svc.Rules {
		for _, s := range ru.Syscalls {
			for n := 0; n < 6; n++ {
				cases, _ := p.a.ArgWidths(s.Name, n)
				for _, c := range cases {
					for _, in := range c.When {
						out = append(out, in.Values...)
					}
				}
			}
		}
	}
	return append(out, 0, 1, 2, ^uint64(0), 0xffffffff, 0xffff, 0x10000, 1<<31, 1<<63, 1<<32, 0xffffff9c)
}

// ldInput draws a seccomp_data for p.
func ldInput(r *rand.Rand, p *ldPolicy, values []uint64) policy.Data {
	d := policy.Data{Arch: p.a.Audit, IP: r.Uint64()}
	switch k := r.Intn(100); {
	case k < 75 && len(p.rules) > 0:
		ru := p.rules[r.Intn(len(p.rules))]
		d.Nr = int32(ru.nrs[r.Intn(len(ru.nrs))])
	case k < 88:
		if nr, ok := p.a.Syscall(ldSyscallPool[r.Intn(len(ldSyscallPool))]); ok {
			d.Nr = int32(nr)
		}
	case k < 92 && len(p.rules) > 0:
		ru := p.rules[r.Intn(len(p.rules))]
		d.Nr = int32(ru.nrs[r.Intn(len(ru.nrs))] | 0x40000000)
	case k < 94:
		d.Nr = []int32{-1, int32(r.Uint32()), 0x40000000, 0x7fffffff}[r.Intn(4)]
	case k < 97:
		// execve, under exec once or not, and its neighbours.
		nr, _ := p.a.Syscall("execve")
		d.Nr = int32(nr) + int32(r.Intn(5)/4)
	default:
		d.Nr = int32(r.Intn(460))
	}
	if r.Intn(30) == 0 {
		all := arch.All()
		d.Arch = []uint32{all[r.Intn(len(all))].Audit, r.Uint32(), p.a.Audit ^ 0x80000000}[r.Intn(3)]
	}
	for i := range d.Args {
		var v uint64
		switch k := r.Intn(10); {
		case k < 7:
			v = values[r.Intn(len(values))]
		case k < 8:
			v = r.Uint64()
		case k < 9:
			v = uint64(r.Intn(8))
		default:
			v = ^uint64(0)
		}
		if r.Intn(4) == 0 {
			v = v&0xffffffff | r.Uint64()<<32
		}
		if r.Intn(10) == 0 {
			v ^= 1 << uint(r.Intn(64))
		}
		d.Args[i] = v
	}
	return d
}

// ldCheck compiles a generated configuration and compares, on perArch
// inputs per architecture, the program's verdict with both evaluators'.
func ldCheck(t testing.TB, c *ldConfig, r *rand.Rand, perArch int, st *ldStats, label string) {
	t.Helper()
	files := c.files()
	src := ldListing(files)
	cfg, diags := hclspec.Parse(files, c.opts)
	if diags.HasErrors() {
		t.Fatalf("%s: the generated configuration does not parse: %v\n%s%s", label, diags, ldOpts(c.opts), src)
	}
	ldCrossCheck(t, c, cfg, src)
	svc := cfg.Services[0]
	var problems []string
	for _, a := range arch.All() {
		problems = append(problems, ldProblems(svc, a)...)
	}
	st.configs++
	compiled, diags := CompileAll(cfg, nil)
	if diags.HasErrors() {
		for _, d := range diags {
			if d.Severity == hcl.DiagError && d.Summary == "Filter too long" {
				st.tooLong++
				return
			}
		}
		if len(problems) == 0 {
			t.Fatalf("%s: the compiler refuses a configuration the documentation accepts:\n%v\n%s%s", label, diags, ldOpts(c.opts), src)
		}
		st.skipped++
		seen := map[string]bool{}
		for _, p := range problems {
			for _, why := range ldProblemKinds {
				if strings.Contains(p, why) && !seen[why] {
					seen[why] = true
					st.refusedFor[why]++
				}
			}
		}
		for why := range seen {
			if !ldByDesign[why] {
				st.mistakes++
				break
			}
		}
		return
	}
	if len(problems) > 0 {
		t.Fatalf("%s: the compiler accepts a configuration the documentation makes an error:\n%s\n%s%s",
			label, strings.Join(problems, "\n"), ldOpts(c.opts), src)
	}
	if len(compiled) != len(arch.All()) {
		t.Fatalf("%s: compiled for %d architectures, want %d", label, len(compiled), len(arch.All()))
	}
	for _, comp := range compiled {
		tree := ldTreePolicy(svc, comp.Arch)
		model := ldModelPolicy(c, comp.Arch)
		vm, err := bpf.NewVM(comp.Program, comp.Arch.Order)
		if err != nil {
			t.Fatalf("%s: %s: %v", label, comp.Arch.Name, err)
		}
		values := ldValues(svc, tree)
		named := map[uint32]bool{}
		for _, ru := range tree.rules {
			for _, nr := range ru.nrs {
				named[nr] = true
			}
		}
		for i := 0; i < perArch; i++ {
			d := ldInput(r, tree, values)
			data := bpf.MakeData(d.Nr, d.Arch, d.IP, d.Args, comp.Arch.Order)
			got := policy.ActionFromRet(vm.Run(data[:], bpf.Options{}).Ret)
			want, why := tree.decide(d)
			mwant, mwhy := model.decide(d)
			if got != want || want != mwant {
				ldMismatch(t, label, c, src, comp, d, got, want, why, mwant, mwhy)
			}
			st.inputs[comp.Arch.Name]++
			st.verdicts[got.Kind]++
			switch {
			case why == "(default)" && named[uint32(d.Nr)] && d.Arch == comp.Arch.Audit:
				st.byDefaultNamed++
			case !strings.HasPrefix(why, "("):
				for _, ru := range tree.rules {
					if ru.name == why && ru.cond != nil {
						st.byCond++
						break
					}
				}
			}
		}
	}
}

func ldMismatch(t testing.TB, label string, c *ldConfig, src string, comp *Compiled, d policy.Data,
	got, want policy.Action, why string, mwant policy.Action, mwhy string) {
	t.Helper()
	name, ok := comp.Arch.SyscallName(int(d.Nr))
	if !ok {
		name = "?"
	}
	var rules strings.Builder
	for _, ru := range comp.Filter.Rules {
		fmt.Fprintf(&rules, "  %s %s(%d) -> %v when %v\n", ru.Name, ru.Syscall, ru.Nr, ru.Action, ru.When)
	}
	hint := "the program differs from the documentation: suspect resolve.Policy or internal/compile"
	switch {
	case got == want:
		hint = "the program follows the parsed tree, which says something else than the text: suspect hclspec"
	case want != mwant:
		hint = "the evaluators disagree with each other and with the program"
	}
	t.Fatalf("%s: MISMATCH on %s (%s)\ninput: nr=%d (%s) arch=%#x args=%#x\n"+
		"program: %v\ntree evaluator: %v by %s\nmodel evaluator: %v by %s\n\nconfiguration:\n%s%s\n"+
		"resolved policy (default %v):\n%s\nprogram:\n%s",
		label, comp.Arch.Name, hint, d.Nr, name, d.Arch, d.Args, got, want, why, mwant, mwhy,
		ldOpts(c.opts), src, comp.Filter.Default, rules.String(),
		comp.Disassemble())
}

// TestLanguageDifferential generates configurations until every
// architecture has seen *ldInputs inputs.
func TestLanguageDifferential(t *testing.T) {
	start := time.Now()
	st := newLDStats()
	perArch := 400
	done := func() bool {
		for _, a := range arch.All() {
			if st.inputs[a.Name] < *ldInputs {
				return false
			}
		}
		return true
	}
	for seed := *ldSeed; !done(); seed++ {
		r := rand.New(rand.NewSource(seed))
		c := ldGenerate(r)
		ldCheck(t, c, r, perArch, st, fmt.Sprintf("seed %d (-langdiff.seed=%d)", seed, seed))
		if st.configs > 50 && st.mistakes+st.tooLong > st.configs/4 {
			t.Fatalf("%d of %d configurations were refused: the generator makes too many mistakes (%v)", st.mistakes+st.tooLong, st.configs, st.refusedFor)
		}
		if byDesign := st.skipped - st.mistakes; st.configs > 50 && byDesign > st.configs/5 {
			t.Fatalf("%d of %d configurations could not start the service (%v): too few test anything else", byDesign, st.configs, st.refusedFor)
		}
	}
	n := 0
	for _, v := range st.inputs {
		n += v
	}
	for k := policy.Allow; k <= policy.KillProcess; k++ {
		if st.verdicts[k] < n/200 {
			t.Errorf("only %d of %d inputs got %v", st.verdicts[k], n, policy.Action{Kind: k})
		}
	}
	if st.byCond < n/20 || st.byDefaultNamed < n/50 {
		t.Errorf("conditions decide too rarely: %d inputs by a rule with a condition, %d by default although a rule named the syscall, of %d",
			st.byCond, st.byDefaultNamed, n)
	}
	// Every kind of mistake the generator makes must have been seen
	// refused, or the test proves nothing about the compiler's checks.
	for _, why := range ldProblemKinds[:5] {
		if st.refusedFor[why] < 3 {
			t.Errorf("only %d refused configurations where a value or argument %q", st.refusedFor[why], why)
		}
	}
	t.Logf("%d configurations (%d refused as predicted: %v; %d too long), inputs per arch %v, verdicts %v, "+
		"%d decided by a condition that held, %d by default after conditions failed; %v",
		st.configs, st.skipped, st.refusedFor, st.tooLong, st.inputs, st.verdicts, st.byCond, st.byDefaultNamed,
		time.Since(start).Round(time.Millisecond))
}

// TestLanguageExamples checks examples/metrics with the tree evaluator.
func TestLanguageExamples(t *testing.T) {
	cfg, diags := hclspec.Load("../../examples/metrics", hclspec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	compiled, diags := CompileAll(cfg, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	r := rand.New(rand.NewSource(1))
	for _, comp := range compiled {
		tree := ldTreePolicy(comp.Service, comp.Arch)
		vm, err := bpf.NewVM(comp.Program, comp.Arch.Order)
		if err != nil {
			t.Fatal(err)
		}
		values := ldValues(comp.Service, tree)
		for i := 0; i < 3000; i++ {
			d := ldInput(r, tree, values)
			data := bpf.MakeData(d.Nr, d.Arch, d.IP, d.Args, comp.Arch.Order)
			got := policy.ActionFromRet(vm.Run(data[:], bpf.Options{}).Ret)
			if want, why := tree.decide(d); got != want {
				t.Fatalf("examples/metrics on %s: nr=%d arch=%#x args=%#x: program %v, documentation %v by %s\n%s",
					comp.Arch.Name, d.Nr, d.Arch, d.Args, got, want, why,
					comp.Disassemble())
			}
		}
	}
}

// FuzzLanguage draws a configuration from the fuzzer's bytes and compares
// program and documentation on inputs drawn from a hash of them.
func FuzzLanguage(f *testing.F) {
	seed := rand.New(rand.NewSource(11))
	for i := 0; i < 6; i++ {
		b := make([]byte, 32+seed.Intn(400))
		seed.Read(b)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h := fnv.New64a()
		h.Write(b)
		c := ldGenerate(rand.New(fuzzrand.New(b)))
		inputs := rand.New(rand.NewSource(int64(binary.LittleEndian.Uint64(h.Sum(nil)))))
		ldCheck(t, c, inputs, 60, newLDStats(), "fuzz input")
	})
}
