// Package hclspec is fencer's language: it reads a directory of
// *.fencer.hcl and *.fencer.json files into a Config, checking everything
// that can be checked without choosing an architecture, and reads each
// rule's `when` as syntax into a condition tree (Cond) that keeps the source
// range of every part for diagnostics.
//
// Names that depend on the architecture (syscalls, constants, errno names)
// are kept as names here; plan resolves them per architecture.
package hclspec

import (
	"github.com/hashicorp/hcl/v2"
	"time"

	"github.com/fencer-dev/fencer/internal/policy"
)

// Config is one configuration directory.
type Config struct {
	// Dir is the directory the files were read from.
	Dir string
	// Files holds every parsed file by name, for the diagnostic writer.
	Files map[string]*hcl.File
	// ID identifies the configuration on its hosts: the fencer block's
	// id, by default the name of the directory. It is written into the
	// header of every text file fencer installs, so that plan tells the
	// configuration's files from another's. "" when there is none; then
	// IDProblem says why when the directory's name cannot be one.
	ID        string
	IDProblem string
	// IDRange is where the fencer block sets the id, if it does.
	IDRange hcl.Range

	Variables   []*Variable
	Hosts       []*Host
	Services    []*Service
	SyscallSets []*SyscallSet
	Tests       []*Test
}

// Variable is a `variable` block with its final value.
type Variable struct {
	Name        string
	Type        string // HCL type expression as written, "" when absent
	Description string
	// Value is the value after defaults, -var-file, -var and FENCER_VAR_*.
	Value     any // string, number (*big.Float converted to int64/uint64/float64), bool, []any, map[string]any
	DeclRange hcl.Range
}

// Host is one target host, after for_each expansion. A configuration
// without host blocks has one implicit host "local".
type Host struct {
	// Name is the block label, with [each.key] appended for for_each hosts
	// (edge["edge-1"]), as Terraform names instances.
	Name string
	// Group is the block label (edge); services name hosts by Name or Group.
	Group        string
	Address      string // "" means this machine
	AddressRange hcl.Range
	User         string
	Port         int    // 22 when Address is set and port is absent
	IdentityFile string // as written: "~/" is the home of the user running fencer
	// KnownHostsFile is where the host's key is checked, as written;
	// "" for ~/.ssh/known_hosts.
	KnownHostsFile string
	// Bastion is the jump host, "[user@]host[:port]"; "" for none.
	Bastion string
	// Become is "sudo" to run fencer's agent with sudo -n, "" for none.
	Become string
	// ConnectTimeout bounds connecting and logging in (DefaultConnectTimeout
	// when the attribute is absent).
	ConnectTimeout time.Duration
	Arch           string // canonical arch name (internal/arch), "" to discover
	Scope          string // "system" or "user"
	FencerPath     string // default /usr/local/bin/fencer
	Implicit       bool
	DeclRange      hcl.Range
}

// Service is a `service` block.
type Service struct {
	Name          string
	Unit          string  // e.g. metrics.service; validated as a unit name
	UnitFile      *string // content given with unit_file, nil when absent
	ExecStart     *string // nil: wrap the unit's own ExecStart
	Hosts         []string
	DefaultAction ActionSpec
	Enforce       string // "exec" or "systemd"
	// Arch limits the service to these architectures (canonical names,
	// in the order written); nil means every architecture. ServiceArches
	// intersects it with its hosts'.
	Arch      []string
	ArchRange hcl.Range
	Fds       []*Fd
	Rules     []*Rule
	DeclRange hcl.Range
}

// FdKind is how an fd gets its number: the binding its fd block declares.
// What a kind is — its attribute, the systemd setting it is written as,
// whether it is a socket — is its row of one table (fdKinds), which its
// methods read.
type FdKind int

// Fd bindings.
const (
	FdStdin FdKind = iota
	FdStdout
	FdStderr
	FdListenStream
	FdListenDatagram
	FdListenSeqPacket
	FdOpenFile
	FdNumber
)

// Fd is an `fd` block: one binding and the number it resolves to.
type Fd struct {
	Name string
	Kind FdKind
	// Value is the binding as written: "append:/var/log/m.log",
	// "0.0.0.0:7999", a path for open_file; empty for number.
	Value string
	// Number is the fd number: 0-2 for stdio, 3.. for listen_* in
	// declaration order, after the sockets for open_file, as given for
	// number.
	Number    int
	DeclRange hcl.Range
}

// Rule is a `rule` block.
type Rule struct {
	Name     string
	Syscalls []SyscallRef
	// When is the condition; nil when the rule has none (unconditional).
	When   Cond
	Action ActionSpec
	// Arch narrows the rule to these architectures (canonical names); nil
	// means every architecture.
	Arch      []string
	ArchRange hcl.Range
	DeclRange hcl.Range
}

// SyscallRef is one syscall named by a rule or test, with where it was named.
type SyscallRef struct {
	Name string
	// Set is the syscall_set it came through, "" when named directly.
	Set   string
	Range hcl.Range
}

// SyscallSet is a `syscall_set` block.
type SyscallSet struct {
	Name      string
	Syscalls  []SyscallRef
	DeclRange hcl.Range
}

// ActionSpec is an action as written. For errno, Errno is the number or
// the name (EPERM) to resolve per architecture.
type ActionSpec struct {
	Kind  policy.ActionKind
	Errno Value // only for policy.Errno and (optionally) policy.Trap
	Range hcl.Range
}

// Test is a `test` block.
type Test struct {
	Name    string
	Service string
	Syscall SyscallRef
	// Args are up to six values; missing ones are 0.
	Args      []Value
	Arch      []string
	ArchRange hcl.Range
	Expect    ActionSpec
	DeclRange hcl.Range
}

// Cond is a condition read from `when`.
type Cond interface {
	Range() hcl.Range
	isCond()
}

// Value is a number-valued operand of a condition or test.
type Value interface {
	Range() hcl.Range
	isValue()
}

// BoolLit is `true` or `false`.
type BoolLit struct {
	V   bool
	Rng hcl.Range
}

// And is `a && b`, flattened.
type And struct {
	Xs  []Cond
	Rng hcl.Range
}

// Or is `a || b`, flattened.
type Or struct {
	Xs  []Cond
	Rng hcl.Range
}

// Not is `!x`.
type Not struct {
	X   Cond
	Rng hcl.Range
}

// Compare is `argN OP value` or `masked(argN, MASK) OP value`, with the
// argument always on the left (a written `2 == arg0` is flipped).
type Compare struct {
	Arg  int
	Mask Value // nil: no mask
	Op   policy.Op
	V    Value
	Rng  hcl.Range
}

// Contains is `contains([v, ...], argN)`: argN equals one of the values.
type Contains struct {
	Arg  int
	Mask Value // nil: no mask (masked(argN, M) is accepted as the needle)
	List []Value
	Rng  hcl.Range
}

// HasBits is `has_bits(argN, MASK)`: every bit of MASK is set in argN.
type HasBits struct {
	Arg  int
	Mask Value
	Rng  hcl.Range
}

// Number is a literal, or a variable or local that evaluated to a number.
// Negative numbers are kept as such; their width depends on the argument.
type Number struct {
	Neg bool
	Abs uint64
	Rng hcl.Range
}

// ConstRef names a constant (SOCK_CLOEXEC) resolved per architecture.
type ConstRef struct {
	Name string
	Rng  hcl.Range
}

// FdRef is `fd.NAME` of the rule's service.
type FdRef struct {
	Name string
	Rng  hcl.Range
}

// SizeOf is `sizeof(TYPE)`: the size of a C type of the kernel's ABI
// (sockaddr_in), resolved per architecture.
type SizeOf struct {
	Type string
	Rng  hcl.Range
}

// BitOr is `bitor(a, b, ...)`.
type BitOr struct {
	Xs  []Value
	Rng hcl.Range
}

func (x BoolLit) Range() hcl.Range  { return x.Rng }
func (x And) Range() hcl.Range      { return x.Rng }
func (x Or) Range() hcl.Range       { return x.Rng }
func (x Not) Range() hcl.Range      { return x.Rng }
func (x Compare) Range() hcl.Range  { return x.Rng }
func (x Contains) Range() hcl.Range { return x.Rng }
func (x HasBits) Range() hcl.Range  { return x.Rng }
func (x Number) Range() hcl.Range   { return x.Rng }
func (x ConstRef) Range() hcl.Range { return x.Rng }
func (x FdRef) Range() hcl.Range    { return x.Rng }
func (x BitOr) Range() hcl.Range    { return x.Rng }
func (x SizeOf) Range() hcl.Range   { return x.Rng }

func (BoolLit) isCond()  {}
func (And) isCond()      {}
func (Or) isCond()       {}
func (Not) isCond()      {}
func (Compare) isCond()  {}
func (Contains) isCond() {}
func (HasBits) isCond()  {}

func (Number) isValue()   {}
func (ConstRef) isValue() {}
func (FdRef) isValue()    {}
func (BitOr) isValue()    {}
func (SizeOf) isValue()   {}
