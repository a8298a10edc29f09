package hclspec

import (
	"fmt"
	"math"
	"net/netip"
	"path"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/fencer-dev/fencer/internal/spelling"
)

// fdKinds is what each kind of fd binding is, by FdKind: the one table
// the language, the systemd text and the planner read an fd's kind from.
var fdKinds = [...]struct {
	// attr is the fd block's attribute that declares it.
	attr string
	// setting is the systemd setting fencer writes the binding as: in the
	// socket unit for a socket, in the drop-in otherwise; "" for number,
	// which systemd has no part in.
	setting string
	// socket is set for listen_*: a socket of the socket unit fencer
	// generates for the service.
	socket bool
	// passed is set for the fds systemd passes and numbers from 3 on:
	// the sockets, in declaration order, then the open files.
	passed bool
	// minSystemd is the oldest systemd that knows the setting, 0 for any.
	minSystemd int
	// problem checks a value ("" when it is fine); nil for number.
	problem func(string) string
}{
	FdStdin:           {attr: "stdin", setting: "StandardInput", problem: stdinProblem},
	FdStdout:          {attr: "stdout", setting: "StandardOutput", problem: stdoutProblem},
	FdStderr:          {attr: "stderr", setting: "StandardError", problem: stdoutProblem},
	FdListenStream:    {attr: "listen_stream", setting: "ListenStream", socket: true, passed: true, problem: inetSocketProblem},
	FdListenDatagram:  {attr: "listen_datagram", setting: "ListenDatagram", socket: true, passed: true, problem: inetSocketProblem},
	FdListenSeqPacket: {attr: "listen_sequential_packet", setting: "ListenSequentialPacket", socket: true, passed: true, problem: unixSocketProblem},
	FdOpenFile:        {attr: "open_file", setting: "OpenFile", passed: true, minSystemd: 253, problem: openFileProblem},
	FdNumber:          {attr: "number"},
}

// String is the fd block's attribute for the kind: "listen_stream".
func (k FdKind) String() string { return fdKinds[k].attr }

// Setting is the systemd setting fencer writes the binding as
// (StandardOutput, ListenStream, OpenFile, ...), "" for number.
func (k FdKind) Setting() string { return fdKinds[k].setting }

// Socket reports whether the binding is a socket of the socket unit
// fencer generates for the service (listen_*).
func (k FdKind) Socket() bool { return fdKinds[k].socket }

// Passed reports whether systemd passes the fd and numbers it from 3 on,
// in its order: the sockets, then the open files.
func (k FdKind) Passed() bool { return fdKinds[k].passed }

// Stdio reports whether the binding is stdin, stdout or stderr, whose
// number is fixed (0, 1, 2).
func (k FdKind) Stdio() bool { return k >= FdStdin && k <= FdStderr }

// MinSystemd is the oldest systemd version that knows the binding's
// setting, 0 for any.
func (k FdKind) MinSystemd() int { return fdKinds[k].minSystemd }

var fdSchema = func() *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for _, k := range fdKinds {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: k.attr})
	}
	return s
}()

func bindingKind(attr string) FdKind {
	for k, b := range fdKinds {
		if b.attr == attr {
			return FdKind(k)
		}
	}
	return FdNumber
}

// fdDecl is an fd with the binding attribute that gave its number.
type fdDecl struct {
	fd   *Fd
	attr *hcl.Attribute
	nth  int // 1-based position among the sockets or the open files
}

// decodeFds reads a service's fd blocks and gives each its number: 0-2
// for stdio, 3.. for sockets in declaration order, then open files, and
// the written number for number. Two fds on one number are an error.
func (l *loader) decodeFds(s *Service, blocks []*hcl.Block, ctx *hcl.EvalContext) {
	var decls []*fdDecl
	seen := map[string]hcl.Range{}
	for _, b := range blocks {
		name := b.Labels[0]
		if !l.validName(b, "fd") {
			continue
		}
		if prev, dup := seen[name]; dup {
			l.add(errorAt(b.LabelRanges[0], "Duplicate fd",
				fmt.Sprintf("The service %q already has an fd named %q, at %s.", s.Name, name, prev)))
			continue
		}
		seen[name] = b.DefRange
		content, diags := b.Body.Content(fdSchema)
		l.addAll(diags)
		attrs := sortedAttrs(content.Attributes)
		switch {
		case len(attrs) == 0:
			if !diags.HasErrors() {
				l.add(errorAt(b.DefRange, "Missing fd binding",
					fmt.Sprintf("fd %q says nothing about its number. Give it exactly one binding: stdin, stdout, stderr, "+
						"listen_stream, listen_datagram, listen_sequential_packet, open_file, or number = N when the program itself opens it on N.", name)))
			}
			continue
		case len(attrs) > 1:
			l.add(errorAt(attrs[1].Range, "Several fd bindings",
				fmt.Sprintf("fd %q has both %s and %s; an fd has exactly one binding. Declare two fd blocks if these are two fds.",
					name, attrs[0].Name, attrs[1].Name)))
			continue
		}
		a := attrs[0]
		fd := &Fd{Name: name, Kind: bindingKind(a.Name), Number: -1, DeclRange: b.DefRange}
		l.decodeBinding(fd, a, ctx)
		s.Fds = append(s.Fds, fd)
		decls = append(decls, &fdDecl{fd: fd, attr: a})
	}
	l.numberFds(decls)
}

// decodeBinding evaluates and checks an fd's binding.
func (l *loader) decodeBinding(fd *Fd, a *hcl.Attribute, ctx *hcl.EvalContext) {
	if fd.Kind == FdNumber {
		val, ok := l.evalAs(a.Expr, ctx, cty.Number, "number", false)
		if !ok {
			return
		}
		n, err := wholeNumber(val, 0, math.MaxInt32)
		if err != nil {
			l.add(errorAt(a.Expr.Range(), "Invalid fd number",
				fmt.Sprintf("An fd number is a whole number from 0 to %d: %s.", math.MaxInt32, err)))
			return
		}
		fd.Number = int(n)
		return
	}
	s, ok := l.evalString(a.Expr, ctx)
	if !ok {
		return
	}
	fd.Value = s
	problem := unitValueProblem(s)
	if problem == "" {
		problem = fdKinds[fd.Kind].problem(s)
	}
	if problem != "" {
		l.add(errorAt(a.Expr.Range(), "Invalid "+a.Name, problem))
	}
}

// numberFds gives sockets and open files their numbers and reports two
// fds on one number.
func (l *loader) numberFds(decls []*fdDecl) {
	next := 3
	for _, d := range decls {
		switch {
		case d.fd.Kind.Stdio():
			d.fd.Number = int(d.fd.Kind - FdStdin)
		case d.fd.Kind.Socket():
			d.nth = next - 2
			d.fd.Number = next
			next++
		}
	}
	opened := 0
	for _, d := range decls {
		if d.fd.Kind == FdOpenFile {
			opened++
			d.nth = opened
			d.fd.Number = next
			next++
		}
	}
	byNumber := map[int]*fdDecl{}
	for _, d := range decls {
		n := d.fd.Number
		if n < 0 {
			continue
		}
		prev, taken := byNumber[n]
		if !taken {
			byNumber[n] = d
			continue
		}
		l.add(errorAt(d.attr.Range, "Two fds on one number",
			fmt.Sprintf("fd %q and fd %q both get number %d: %s, and %s. Every fd of a service needs its own number.",
				prev.fd.Name, d.fd.Name, n, why(prev), why(d))))
	}
}

// why explains where an fd's number comes from.
func why(d *fdDecl) string {
	switch {
	case d.fd.Kind.Stdio():
		return fmt.Sprintf("fd %q is %s", d.fd.Name, d.attr.Name)
	case d.fd.Kind == FdNumber:
		return fmt.Sprintf("fd %q has number = %d", d.fd.Name, d.fd.Number)
	case d.fd.Kind == FdOpenFile:
		return fmt.Sprintf("fd %q is open file %d, and open files are numbered after the sockets", d.fd.Name, d.nth)
	}
	return fmt.Sprintf("fd %q is socket %d, and sockets are numbered from 3", d.fd.Name, d.nth)
}

// The forms systemd accepts for StandardInput= and StandardOutput= /
// StandardError= (systemd.exec(5)); StandardInput=data is left out, as it
// needs StandardInputData=.
var (
	stdinWords     = []string{"null", "tty", "tty-force", "tty-fail", "socket"}
	stdinPrefixes  = []string{"file:", "fd:"}
	stdoutWords    = []string{"inherit", "null", "tty", "journal", "kmsg", "journal+console", "kmsg+console", "socket"}
	stdoutPrefixes = []string{"file:", "append:", "truncate:", "fd:"}
)

// stdinProblem checks a StandardInput= value, stdoutProblem a
// StandardOutput= or StandardError= one.
func stdinProblem(s string) string  { return stdioProblem(s, stdinWords, stdinPrefixes) }
func stdoutProblem(s string) string { return stdioProblem(s, stdoutWords, stdoutPrefixes) }

// stdioProblem checks a Standard*= value.
func stdioProblem(s string, words, prefixes []string) string {
	for _, w := range words {
		if s == w {
			return ""
		}
	}
	for _, p := range prefixes {
		rest, ok := strings.CutPrefix(s, p)
		if !ok {
			continue
		}
		if p == "fd:" {
			if rest == "" {
				return "fd: needs the name of a socket's file descriptor, as fd:metrics."
			}
			return ""
		}
		if !path.IsAbs(rest) {
			return fmt.Sprintf("%s needs an absolute path, as %s/var/log/app.log; %q is not one.", p, p, rest)
		}
		return ""
	}
	forms := append([]string(nil), words...)
	for _, p := range prefixes {
		if p == "fd:" {
			forms = append(forms, "fd:NAME")
		} else {
			forms = append(forms, p+"PATH")
		}
	}
	candidates := append(append([]string(nil), words...), "file", "append", "truncate")
	return fmt.Sprintf("%q is not a form systemd accepts here; the forms are %s.%s",
		s, quotedList(forms), spelling.DidYouMean(strings.TrimSuffix(s, ":"), candidates))
}

// inetSocketProblem checks a ListenStream= or ListenDatagram= address,
// unixSocketProblem a ListenSequentialPacket= one.
func inetSocketProblem(s string) string { return socketProblem(s, true) }
func unixSocketProblem(s string) string { return socketProblem(s, false) }

// socketProblem checks a ListenStream=/ListenDatagram= address, or a
// ListenSequentialPacket= one (AF_UNIX only) when !inet.
func socketProblem(s string, inet bool) string {
	forms := "a port (7999), ADDRESS:PORT (0.0.0.0:7999), [IPv6]:PORT ([::1]:7999), an absolute socket path (/run/app.sock) or @abstract"
	if !inet {
		forms = "an absolute socket path (/run/app.sock) or @abstract"
	}
	switch {
	case s == "":
		return "The address is empty; write " + forms + "."
	case strings.HasPrefix(s, "/"):
		if len(s) >= 108 {
			return fmt.Sprintf("A socket path has at most 107 bytes, and %q has %d.", s, len(s))
		}
		return ""
	case strings.HasPrefix(s, "@"):
		if len(s) == 1 {
			return "An abstract socket needs a name after the @: @app."
		}
		return ""
	case !inet:
		return fmt.Sprintf("%q is not an AF_UNIX address; a sequential packet socket is %s.", s, forms)
	case strings.HasPrefix(s, "vsock:"):
		return ""
	}
	if port, err := strconv.Atoi(s); err == nil {
		return portProblem(port, s)
	}
	host, portText, bracketed, ok := splitHostPort(s)
	if !ok {
		return fmt.Sprintf("%q is not a socket address systemd understands; write %s.", s, forms)
	}
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i] // a network interface: ADDR%IFACE
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Sprintf("%q is not a numeric IP address; systemd listens on addresses, not host names: write %s.", host, forms)
	}
	if !ip.Unmap().Is4() && !bracketed {
		return fmt.Sprintf("An IPv6 address is written in brackets: [%s]:%s.", host, portText)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Sprintf("%q is not a port number.", portText)
	}
	return portProblem(port, s)
}

// splitHostPort splits "HOST:PORT" or "[HOST]:PORT" (package net's
// SplitHostPort would pull the cgo resolver into every fencer binary,
// the loader included).
func splitHostPort(s string) (host, port string, bracketed, ok bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]:")
		if end < 0 {
			return "", "", true, false
		}
		return s[1:end], s[end+2:], true, true
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", false, false
	}
	return s[:i], s[i+1:], false, true
}

func portProblem(port int, s string) string {
	if port < 1 || port > 65535 {
		return fmt.Sprintf("The port in %q is %d; a port is a number from 1 to 65535.", s, port)
	}
	return ""
}

// openFileOptions are the options of OpenFile= (systemd.exec(5)).
var openFileOptions = []string{"read-only", "append", "truncate", "graceful"}

// openFileProblem checks an OpenFile= value: PATH[:FDNAME[:OPTIONS]].
func openFileProblem(s string) string {
	parts := strings.SplitN(s, ":", 3)
	if !path.IsAbs(parts[0]) {
		return fmt.Sprintf("open_file is PATH[:FDNAME[:OPTIONS]] with an absolute path, and %q is not one.", parts[0])
	}
	if len(parts) > 1 {
		name := parts[1]
		if len(name) > 255 {
			return "The fd name of open_file has at most 255 characters."
		}
		for _, c := range name {
			if c < 0x20 || c > 0x7e {
				return fmt.Sprintf("The fd name %q of open_file has a character systemd does not accept in a name.", name)
			}
		}
	}
	if len(parts) > 2 {
		for _, opt := range strings.Split(parts[2], ",") {
			known := false
			for _, o := range openFileOptions {
				known = known || opt == o
			}
			if !known {
				return fmt.Sprintf("%q is not an open_file option; the options are %s.%s",
					opt, quotedList(openFileOptions), spelling.DidYouMean(opt, openFileOptions))
			}
		}
	}
	return ""
}
