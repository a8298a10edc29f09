package firedancer

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// CExpr is a C constant expression as policies write them: integer
// literals, names of constants (and of the policy's parameters), `|`,
// unary `-`, casts to an integer type, `sizeof(struct NAME)` and
// parentheses.
type CExpr struct {
	// Op is 'n' (a literal: Num, Type), 'i' (a name: Name), '|' (X | Y),
	// '-' (-X), 'c' (a cast of X to Type), 's' (sizeof(struct Name)).
	Op   byte
	Num  uint64
	Name string
	Type cType
	X, Y *CExpr
}

// cType is an integer type of C on the LP64 architectures Firedancer
// runs on.
type cType struct {
	wide     bool // 64 bits (long, size_t) rather than 32 (int)
	unsigned bool
}

var (
	cInt   = cType{}
	cUint  = cType{unsigned: true}
	cLong  = cType{wide: true}
	cUlong = cType{wide: true, unsigned: true}
)

// cTypes are the casts parseC accepts.
var cTypes = map[string]cType{
	"int": cInt, "uint": cUint, "unsigned": cUint, "unsigned int": cUint,
	"long": cLong, "ulong": cUlong, "unsigned long": cUlong, "size_t": cUlong,
}

// cval is a C value: its type and its bits as the value converted to a
// 64-bit type (a negative int sign-extended).
type cval struct {
	t    cType
	bits uint64
}

// convert converts v to type t.
func (v cval) convert(t cType) cval {
	switch {
	case t.wide:
		return cval{t, v.bits}
	case t.unsigned:
		return cval{t, uint64(uint32(v.bits))}
	}
	return cval{t, uint64(int64(int32(uint32(v.bits))))}
}

// cLexer splits a C expression into tokens.
type cParser struct {
	toks []string
	i    int
}

func lexC(s string) ([]string, error) {
	var out []string
	i := 0
	for i < len(s) {
		r := rune(s[i])
		switch {
		case unicode.IsSpace(r):
			i++
		case strings.ContainsRune("()|-", r):
			out = append(out, string(r))
			i++
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			j := i
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			out = append(out, s[i:j])
			i = j
		default:
			return nil, fmt.Errorf("%q is not part of the C constants this reader knows (numbers, names, |, -, casts, sizeof(struct ...))", s[i:])
		}
	}
	return out, nil
}

// parseC parses a C constant expression.
func parseC(s string) (*CExpr, error) {
	toks, err := lexC(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty constant")
	}
	p := &cParser{toks: toks}
	x, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(toks) {
		return nil, fmt.Errorf("unexpected %q", toks[p.i])
	}
	return x, nil
}

func (p *cParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *cParser) expect(t string) error {
	if p.peek() != t {
		return fmt.Errorf("expected %q, found %q", t, p.peek())
	}
	p.i++
	return nil
}

func (p *cParser) or(depth int) (*CExpr, error) {
	x, err := p.unary(depth)
	for err == nil && p.peek() == "|" {
		p.i++
		var y *CExpr
		if y, err = p.unary(depth); err == nil {
			x = &CExpr{Op: '|', X: x, Y: y}
		}
	}
	return x, err
}

func (p *cParser) unary(depth int) (*CExpr, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested too deep")
	}
	switch t := p.peek(); {
	case t == "-":
		p.i++
		x, err := p.unary(depth + 1)
		return &CExpr{Op: '-', X: x}, err
	case t == "(":
		if ct, n, ok := p.castAhead(); ok {
			p.i += n
			x, err := p.unary(depth + 1)
			return &CExpr{Op: 'c', Type: ct, X: x}, err
		}
		p.i++
		x, err := p.or(depth + 1)
		if err == nil {
			err = p.expect(")")
		}
		return x, err
	case t == "sizeof":
		p.i++
		for _, w := range []string{"(", "struct"} {
			if err := p.expect(w); err != nil {
				return nil, err
			}
		}
		name := p.peek()
		p.i++
		if _, ok := structSizes[name]; !ok {
			return nil, fmt.Errorf("the size of struct %s is not known here", name)
		}
		return &CExpr{Op: 's', Name: name}, p.expect(")")
	case t == "":
		return nil, fmt.Errorf("missing operand")
	case t[0] >= '0' && t[0] <= '9':
		p.i++
		return literal(t)
	case t == "|" || t == ")":
		return nil, fmt.Errorf("unexpected %q", t)
	}
	p.i++
	return &CExpr{Op: 'i', Name: p.toks[p.i-1]}, nil
}

// castAhead reports whether the tokens at p.i are a cast, its type and
// its length in tokens.
func (p *cParser) castAhead() (cType, int, bool) {
	for n := 3; n <= 4; n++ {
		if p.i+n > len(p.toks) || p.toks[p.i+n-1] != ")" {
			continue
		}
		if t, ok := cTypes[strings.Join(p.toks[p.i+1:p.i+n-1], " ")]; ok {
			return t, n, true
		}
	}
	return cType{}, 0, false
}

// literal reads a C integer literal: decimal, 0x hex or 0 octal, with u
// and l suffixes.
func literal(t string) (*CExpr, error) {
	digits := strings.TrimRight(t, "uUlL")
	suffix := strings.ToLower(t[len(digits):])
	v, err := strconv.ParseUint(digits, 0, 64)
	if err != nil || len(suffix) > 3 || strings.Count(suffix, "u") > 1 {
		return nil, fmt.Errorf("%q is not an integer literal", t)
	}
	// The first type that holds it: int, (not for decimal) unsigned int,
	// long, unsigned long; a u suffix skips the signed ones, an l suffix
	// the 32-bit ones.
	decimal := !strings.HasPrefix(digits, "0") || digits == "0"
	u, l := strings.Contains(suffix, "u"), strings.Contains(suffix, "l")
	for _, ct := range []cType{cInt, cUint, cLong, cUlong} {
		fits := v <= 1<<31-1 || (ct.unsigned && v <= 1<<32-1)
		if ct.wide {
			fits = v <= 1<<63-1 || ct.unsigned
		}
		if fits && (!u || ct.unsigned) && (!l || ct.wide) && (!decimal || u || !ct.unsigned || ct.wide) {
			return &CExpr{Op: 'n', Num: v, Type: ct}, nil
		}
	}
	return &CExpr{Op: 'n', Num: v, Type: cUlong}, nil
}

// eval computes x; names are looked up in params first (the generated C
// function's parameters), then in the constants of Linux.
func (x *CExpr) eval(params map[string]uint64) (cval, error) {
	switch x.Op {
	case 'n':
		return cval{x.Type, x.Num}, nil
	case 's':
		return cval{cUlong, structSizes[x.Name]}, nil
	case 'i':
		if v, ok := params[x.Name]; ok {
			return cval{cUint, uint64(uint32(v))}, nil
		}
		if v, ok := linuxConsts[x.Name]; ok {
			return cval{cInt, uint64(int64(v))}, nil
		}
		return cval{}, fmt.Errorf("%s is not a constant this reader knows", x.Name)
	case 'c':
		v, err := x.X.eval(params)
		return v.convert(x.Type), err
	case '-':
		v, err := x.X.eval(params)
		return cval{v.t, -v.bits}.convert(v.t), err
	}
	a, err := x.X.eval(params)
	if err != nil {
		return a, err
	}
	b, err := x.Y.eval(params)
	t := cType{wide: a.t.wide || b.t.wide}
	// The usual arithmetic conversions: unsigned wins within a width, a
	// wider signed type takes a narrower unsigned one.
	t.unsigned = (a.t.unsigned && a.t.wide == t.wide) || (b.t.unsigned && b.t.wide == t.wide)
	return cval{t, a.convert(t).bits | b.convert(t).bits}, err
}

// checkNames reports the first name of x that is neither a parameter nor
// a constant this package knows.
func (x *CExpr) checkNames(params map[string]bool) error {
	if x == nil {
		return nil
	}
	if x.Op == 'i' && !params[x.Name] {
		if _, ok := linuxConsts[x.Name]; !ok {
			return fmt.Errorf("%s is not a constant this reader knows", x.Name)
		}
	}
	if err := x.X.checkNames(params); err != nil {
		return err
	}
	return x.Y.checkNames(params)
}

// words returns the generator's FD_SECCOMP_ARG_LO(x) and
// FD_SECCOMP_ARG_HI(x): (uint)(int)x and (ulong)x >> 32.
func (v cval) words() (lo, hi uint32) {
	return uint32(v.bits), uint32(v.convert(cUlong).bits >> 32)
}

// structSizes are the sizes of the structs policies take sizeof of.
var structSizes = map[string]uint64{
	"sockaddr_in":  16,
	"sockaddr_in6": 28,
	"sockaddr_un":  110,
	"sockaddr_nl":  12,
	"sockaddr_xdp": 16,
}

// linuxConsts are the values of the C constants Firedancer's policies use
// (and their neighbours), the same on x86_64 and aarch64, from the Linux
// and glibc headers. FD_SOCKADDR_IN_SZ and FD_IORING_REGISTER_FILES_UPDATE
// are Firedancer's own macros (src/disco/netlink/fd_netlink_tile.c,
// src/util/io_uring/fd_io_uring_sys.h).
var linuxConsts = map[string]int32{
	"AF_UNIX": 1, "AF_INET": 2, "AF_INET6": 10, "AF_NETLINK": 16, "AF_XDP": 44,
	"SOCK_STREAM": 1, "SOCK_DGRAM": 2, "SOCK_RAW": 3, "SOCK_NONBLOCK": 0o4000, "SOCK_CLOEXEC": 0o2000000,
	"IPPROTO_IP": 0, "IPPROTO_TCP": 6, "IPPROTO_UDP": 17, "IPPROTO_IPV6": 41,
	"SOL_IP": 0, "SOL_SOCKET": 1, "SOL_TCP": 6, "SOL_UDP": 17, "SOL_IPV6": 41, "SOL_XDP": 283,
	"SO_REUSEADDR": 2, "SO_ERROR": 4, "SO_SNDBUF": 7, "SO_RCVBUF": 8, "SO_REUSEPORT": 15,
	"TCP_NODELAY": 1, "TCP_FASTOPEN_CONNECT": 30, "IPV6_V6ONLY": 26,
	"XDP_MMAP_OFFSETS": 1, "XDP_STATISTICS": 7,
	"MSG_DONTWAIT": 0x40, "MSG_NOSIGNAL": 0x4000, "MSG_FASTOPEN": 0x20000000,
	"SHUT_RD": 0, "SHUT_WR": 1, "SHUT_RDWR": 2,
	"O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2, "O_NONBLOCK": 0o4000, "O_CLOEXEC": 0o2000000,
	"F_GETFL": 3, "F_SETFL": 4, "F_SETLK": 6, "F_SETLKW": 7,
	"SEEK_SET": 0, "SEEK_CUR": 1, "SEEK_END": 2,
	"AT_SYMLINK_NOFOLLOW": 0x100, "AT_EMPTY_PATH": 0x1000,
	"CLOCK_REALTIME": 0, "CLOCK_MONOTONIC": 1,
	"FUTEX_WAIT": 0, "FUTEX_WAKE": 1, "FUTEX_PRIVATE_FLAG": 128,
	"SIGKILL": 9, "SIGTERM": 15,
	"TCGETS": 0x5401, "TCSETS": 0x5402,
	"WNOHANG": 1, "__WALL": 0x40000000,
	"IORING_REGISTER_FILES_UPDATE": 6, "FD_IORING_REGISTER_FILES_UPDATE": 6,
	"FD_SOCKADDR_IN_SZ": 16,
}
