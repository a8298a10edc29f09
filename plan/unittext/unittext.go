// Package unittext writes the text of the systemd files fencer installs —
// the drop-in that wraps a service, the socket unit of its listen_* fds,
// the unit_file — and reads back the header that marks each as fencer's:
// whose it is (ParseHeader, OwnedBy) and whether it was edited since
// (BodyIntact). It also turns a policy into the seccomp settings of the
// drop-in (SystemdNames under enforce = "exec", SystemdSettings under
// enforce = "systemd"). Where the files go on a host is package plan's.
package unittext

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// DropInName is the name of fencer's drop-in in a unit's .d directory: it
// sorts after every other drop-in, so its settings win.
const DropInName = "zz-fencer.conf"

// HeaderPrefix starts the first line of every text file fencer writes.
const HeaderPrefix = "# Managed by fencer"

// header returns the first lines of a managed text file: what manages it —
// the service, its unit and the configuration (id) it belongs to — and
// the hash of the rest of the file, so a hand edit shows.
func header(svc *hclspec.Service, id string, body string) string {
	sum := sha256.Sum256([]byte(body))
	return fmt.Sprintf("%s for service %q (%s) of configuration %q; content sha256:%s.\n# Do not edit: `fencer plan` shows any change and `fencer apply` replaces it.\n",
		HeaderPrefix, svc.Name, svc.Unit, id, hex.EncodeToString(sum[:]))
}

// Header is what the first line of a text file fencer wrote says.
type Header struct {
	Service string
	// Unit is the service unit the file is for; Config the id of the
	// configuration it belongs to. Both are "" in the header fencer
	// wrote before configurations had ids.
	Unit, Config string
	// SHA256 is the hash of the file's body, in hex.
	SHA256 string
}

// ParseHeader reads fencer's header from the first line of content: in
// today's form, or in the form without unit and configuration that fencer
// wrote before configurations had ids.
func ParseHeader(content []byte) (Header, bool) {
	line, _, _ := strings.Cut(string(content), "\n")
	rest, ok := strings.CutPrefix(line, HeaderPrefix+" for service ")
	if !ok {
		return Header{}, false
	}
	var h Header
	var err error
	if rest, h.Service, err = unquotePrefix(rest); err != nil {
		return Header{}, false
	}
	if r, ok := strings.CutPrefix(rest, " ("); ok {
		unit, after, ok := strings.Cut(r, ") of configuration ")
		if !ok || hclspec.ServiceUnitProblem(unit) != "" {
			return Header{}, false
		}
		if rest, h.Config, err = unquotePrefix(after); err != nil || hclspec.ConfigIDProblem(h.Config) != "" {
			return Header{}, false
		}
		h.Unit = unit
	}
	sum, ok := strings.CutPrefix(rest, "; content sha256:")
	if !ok || len(sum) != 65 || sum[64] != '.' || !isHex(sum[:64]) {
		return Header{}, false
	}
	h.SHA256 = sum[:64]
	return h, true
}

// unquotePrefix splits s into the Go-quoted string it starts with,
// unquoted, and the rest.
func unquotePrefix(s string) (rest, value string, err error) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", err
	}
	v, err := strconv.Unquote(q)
	return s[len(q):], v, err
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Managed reports whether a text file carries fencer's header, of any
// configuration.
func Managed(content []byte) bool {
	_, ok := ParseHeader(content)
	return ok
}

// OwnedBy reports whether a text file belongs to the configuration id:
// its header names it — or it is fencer's header from before
// configurations had ids, which named none, and which the configuration
// that plans the file's path takes as its own (and rewrites with its id).
// A file without fencer's header, or of another configuration, is not.
func OwnedBy(content []byte, id string) bool {
	h, ok := ParseHeader(content)
	return ok && (h.Config == "" || h.Config == id)
}

// Owner returns the configuration a text file's header names, "" when it
// has no header of fencer's or one from before configurations had ids.
func Owner(content []byte) string {
	h, _ := ParseHeader(content)
	return h.Config
}

// Whose says whose a file is that is not the configuration's, from the
// configuration its header names (owner, as Owner returns it):
// `belongs to configuration "x"`, or, for "", that it is not fencer's. It
// is the one wording of it for plan, apply and verify.
func Whose(owner string) string {
	if owner != "" {
		return fmt.Sprintf("belongs to configuration %q", owner)
	}
	return "is not fencer's (it has no fencer header)"
}

// BodyIntact reports whether a managed text file's body still has the hash
// its header records.
func BodyIntact(content []byte) bool {
	h, ok := ParseHeader(content)
	if !ok {
		return false
	}
	s := string(content)
	nl := strings.Index(s, "\n# Do not edit")
	if nl < 0 {
		return false
	}
	rest := s[nl+1:]
	if k := strings.IndexByte(rest, '\n'); k >= 0 {
		rest = rest[k+1:]
	} else {
		return false
	}
	sum := sha256.Sum256([]byte(rest))
	return hex.EncodeToString(sum[:]) == h.SHA256
}

// UnitFile is a text file fencer writes for svc of the configuration id
// (the unit_file, say): body under fencer's header.
func UnitFile(svc *hclspec.Service, id, body string) []byte {
	return []byte(header(svc, id, body) + body)
}

// SocketUnit returns the name of the socket unit fencer generates for a
// service unit: metrics.service -> metrics.socket.
func SocketUnit(unit string) string {
	return strings.TrimSuffix(unit, ".service") + ".socket"
}

// HasSockets reports whether the service has listen_* fds, for which
// fencer writes a socket unit.
func HasSockets(svc *hclspec.Service) bool {
	for _, fd := range svc.Fds {
		if fd.Kind.Socket() {
			return true
		}
	}
	return false
}

// Socket renders the service's socket unit: every listen_* fd, in
// declaration order, so systemd passes them as fds 3, 4, ...
func Socket(svc *hclspec.Service, id string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "[Unit]\nDescription=Sockets of %s, managed by fencer\n\n[Socket]\n", svc.Unit)
	for _, fd := range svc.Fds {
		if fd.Kind.Socket() {
			fmt.Fprintf(&b, "%s=%s\n", fd.Kind.Setting(), fd.Value)
		}
	}
	fmt.Fprintf(&b, "Service=%s\n\n[Install]\nWantedBy=sockets.target\n", svc.Unit)
	return UnitFile(svc, id, b.String())
}

// DropIn is what fencer's drop-in for a service is rendered from.
type DropIn struct {
	Service *hclspec.Service
	// ID is the configuration's, for the header.
	ID string
	// Names are the syscall names systemd's SystemCallFilter= allows;
	// nil leaves SystemCallFilter= reset and empty (no name filter).
	Names []string
	// Deny are the "~" entries of SystemCallFilter= after the names, Log
	// the names of SystemCallLog= (enforce = "systemd").
	Deny, Log []string
	// Systemd is set for enforce = "systemd", where the drop-in's
	// settings are the whole of the policy.
	Systemd bool
	// Errno is SystemCallErrorNumber=, "" for none.
	Errno string
	// ExecStart is the wrapped command; "" when enforce = "systemd".
	ExecStart string
}

// Text renders the drop-in, zz-fencer.conf (DropInName).
func (in DropIn) Text() []byte {
	var b strings.Builder
	b.WriteString("[Unit]\n")
	if HasSockets(in.Service) {
		sock := SocketUnit(in.Service.Unit)
		fmt.Fprintf(&b, "Requires=%s\nAfter=%s\n", sock, sock)
	}
	b.WriteString("\n[Service]\n")
	b.WriteString("NoNewPrivileges=yes\n")
	b.WriteString("# Each empty assignment drops what the unit and its other drop-ins set,\n" +
		"# so the values below are the whole of it: SystemCallArchitectures= and\n" +
		"# SystemCallFilter= are lists that add up, and an empty\n" +
		"# SystemCallErrorNumber= is systemd's default, killing the process.\n")
	b.WriteString("SystemCallArchitectures=\nSystemCallArchitectures=native\n")
	b.WriteString("SystemCallFilter=\n")
	if in.Names != nil {
		fmt.Fprintf(&b, "SystemCallFilter=%s\n", strings.Join(in.Names, " "))
	}
	if len(in.Deny) > 0 {
		// After the allow-list (never first: a first "~" list would turn
		// SystemCallFilter= into a deny-list), each name leaves it again
		// or gets its own errno or kill.
		fmt.Fprintf(&b, "SystemCallFilter=~%s\n", strings.Join(in.Deny, " "))
	}
	if in.Systemd {
		// The policy says which syscalls are logged, not the unit.
		b.WriteString("SystemCallLog=\n")
		if len(in.Log) > 0 {
			fmt.Fprintf(&b, "SystemCallLog=%s\n", strings.Join(in.Log, " "))
		}
	}
	b.WriteString("SystemCallErrorNumber=\n")
	if in.Errno != "" {
		fmt.Fprintf(&b, "SystemCallErrorNumber=%s\n", in.Errno)
	}
	if HasSockets(in.Service) {
		fmt.Fprintf(&b, "Sockets=%s\n", SocketUnit(in.Service.Unit))
	}
	for _, fd := range in.Service.Fds {
		// The sockets are the socket unit's; number has no setting.
		if !fd.Kind.Socket() && fd.Kind.Setting() != "" {
			fmt.Fprintf(&b, "%s=%s\n", fd.Kind.Setting(), fd.Value)
		}
	}
	if in.ExecStart != "" {
		fmt.Fprintf(&b, "ExecStart=\nExecStart=%s\n", in.ExecStart)
	}
	return UnitFile(in.Service, in.ID, b.String())
}

// UnknownName is a syscall name the host's systemd does not know, so
// that SystemCallFilter= cannot list it (SystemdNames).
type UnknownName struct {
	Name string `json:"name"`
	// LoaderNeeds is set when the loader needs the syscall, and Policy to
	// the action a rule gives it when that is not the default action:
	// then there is no SystemCallFilter= at all. Otherwise the name is
	// only left out of it, and systemd's filter gives the syscall the
	// default action, as the policy does.
	LoaderNeeds bool   `json:"loader_needs,omitempty"`
	Policy      string `json:"policy,omitempty"`
}

// SystemdNames returns the names for SystemCallFilter= with enforce =
// "exec": every syscall a rule names on a (a rule that kills or fails a
// call still needs the name allowed, or systemd's verdict would replace the
// policy's), execve under the exec-once gate, plus extra (the loader's own
// needs), sorted, spelled as a's
// table spells them (systemd does not know fencer's aliases). It returns
// nil when systemd's action for other syscalls would differ from the
// policy's default: systemd kills the process or, with
// SystemCallErrorNumber= (an errno from 1 up), fails the call; for log,
// trap, kill_thread and errno(0) defaults the BPF filter alone decides.
//
// A name the host's systemd does not know (knows returns false) cannot be
// listed: systemd would ignore it with a warning (and systemd-analyze
// verify fail), and its filter gives such a syscall the default action,
// whatever the BPF filter says. Such a name is left out, and returned,
// when the policy gives the syscall the default action anyway; otherwise
// systemd's name filter would change the policy's verdict, so there is
// none (nil), and the one name returned says why.
func SystemdNames(f *policy.Filter, a *arch.Arch, extra []string, knows func(string) bool) ([]string, string, []UnknownName) {
	errno := ErrnoSetting(f.Default)
	switch {
	case f.Default.Kind == policy.Errno && f.Default.Data == 0:
		// SystemCallErrorNumber= refuses 0 (systemd 252: "Invalid error
		// number, ignoring: 0"): systemd would kill what the policy fails
		// with errno 0, and apply's systemd-analyze verify fails on it.
		return nil, "", nil
	case f.Default.Kind == policy.KillProcess, f.Default.Kind == policy.Errno:
	default:
		return nil, "", nil
	}
	seen := map[string]bool{}
	var names, unknown []string
	var left []UnknownName
	add := func(n string) {
		if nr, ok := a.Syscall(n); ok {
			n, _ = a.SyscallName(nr)
		}
		if seen[n] {
			return
		}
		seen[n] = true
		if !knows(n) {
			unknown = append(unknown, n)
			return
		}
		names = append(names, n)
	}
	for _, r := range f.Rules {
		add(r.Syscall)
	}
	// The exec-once gate decides execve, which systemd must pass to it
	// (the loader's own execve above all).
	for _, nr := range f.ExecOnce {
		if n, ok := a.SyscallName(int(nr)); ok {
			add(n)
		}
	}
	for _, n := range extra {
		add(n)
	}
	for _, n := range unknown {
		if slices.Contains(extra, n) {
			return nil, "", []UnknownName{{Name: n, LoaderNeeds: true}}
		}
		if differs := defaultDiffers(f, a, n); differs != "" {
			return nil, "", []UnknownName{{Name: n, Policy: differs}}
		}
		left = append(left, UnknownName{Name: n})
	}
	sort.Strings(names)
	return names, errno, left
}

// defaultDiffers returns the action other than f's default that a rule can
// give the syscall name on a, "" when there is none.
func defaultDiffers(f *policy.Filter, a *arch.Arch, name string) string {
	nr, ok := a.Syscall(name)
	if !ok {
		return ""
	}
	for _, r := range f.Rules {
		if r.Nr == uint32(nr) && r.Action != f.Default {
			return r.Action.String()
		}
	}
	return ""
}

// ErrnoSetting is SystemCallErrorNumber= for a default action: the errno,
// or "" (systemd kills the process).
func ErrnoSetting(def policy.Action) string {
	if def.Kind == policy.Errno {
		return fmt.Sprint(def.Data)
	}
	return ""
}

// SystemdLines are a drop-in's seccomp settings under enforce = "systemd".
type SystemdLines struct {
	// Allow are the names of SystemCallFilter='s allow-list; Deny the
	// "~name", "~name:ERRNO" and "~name:kill" entries that follow it (the
	// implicit @default names the policy does not allow, and every syscall
	// whose verdict is a deny other than the default); Log the names of
	// SystemCallLog=.
	Allow, Deny, Log []string
}

// SystemdSettings renders sp for a host whose systemd has the @default
// group implicit and resolves the names for which knows returns true. A name
// systemd cannot resolve is not written (systemd would ignore it with a
// warning, and its filter gives it the default action): that is an error
// when the policy's verdict for it is not the default.
func SystemdSettings(sp *resolve.SystemdPolicy, a *arch.Arch, implicit []string, knows func(string) bool) (SystemdLines, error) {
	var out SystemdLines
	verdict := map[string]policy.Action{}
	var unknown []string
	for _, c := range sp.Calls {
		verdict[c.Name] = c.Action
		if !knows(c.Name) {
			unknown = append(unknown, fmt.Sprintf("%s (%s)", c.Name, c.Action))
			continue
		}
		switch c.Action.Kind {
		case policy.Allow:
			out.Allow = append(out.Allow, c.Name)
		case policy.Log:
			out.Allow = append(out.Allow, c.Name)
			out.Log = append(out.Log, c.Name)
		case policy.Errno:
			out.Deny = append(out.Deny, fmt.Sprintf("%s:%d", c.Name, c.Action.Data))
		case policy.KillProcess:
			out.Deny = append(out.Deny, c.Name+":kill")
		}
	}
	if len(unknown) > 0 {
		return SystemdLines{}, fmt.Errorf("the host's systemd does not know the syscall name(s) %s, so its SystemCallFilter= cannot give them the policy's verdict: use enforce = \"exec\", whose BPF filter can", strings.Join(unknown, ", "))
	}
	// systemd adds its @default group to every allow-list; what the
	// policy does not allow of it is taken out again.
	for _, n := range implicit {
		if _, exists := a.Syscall(n); !exists || !knows(n) {
			continue
		}
		if _, decided := verdict[n]; decided {
			continue
		}
		out.Deny = append(out.Deny, n)
	}
	sort.Strings(out.Allow)
	sort.Strings(out.Deny)
	sort.Strings(out.Log)
	return out, nil
}
