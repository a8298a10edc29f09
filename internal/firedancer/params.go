package firedancer

import (
	"github.com/fencer-dev/fencer/internal/arch"
)

// ParamRole says what a parameter of a policy becomes in a configuration
// a user keeps (WriteOptions.Roles).
type ParamRole uint8

// Roles of parameters.
const (
	// RoleUnused: no condition uses the parameter; it is left out.
	RoleUnused ParamRole = iota
	// RoleFd: the policy only compares the parameter for equality with
	// fd arguments (write's, read's, fsync's, ...): it is an fd the
	// program holds, an fd block whose number is a variable of the same
	// name until the user binds it.
	RoleFd
	// RoleVar: anything else (a pid, the bounds of a range of fds, a
	// value inside a C expression): a variable.
	RoleVar
)

// ParamRoles returns the role of each parameter of the policies (of one
// service: a parameter is an fd only when every policy uses it as one).
func ParamRoles(ps ...*Policy) map[string]ParamRole {
	roles := map[string]ParamRole{}
	use := func(name string, r ParamRole) {
		if roles[name] < r {
			roles[name] = r
		}
	}
	for _, p := range ps {
		for _, prm := range p.Params {
			use(prm.Name, RoleUnused)
		}
		for _, sc := range p.Syscalls {
			walkCmps(sc.Cond, func(c *Cmp) {
				switch {
				case c.Value.Kind == ParamRef && c.Op == "eq" && fdArg(sc.Name, c.Arg):
					use(c.Value.Text, RoleFd)
				case c.Value.Kind == ParamRef:
					use(c.Value.Text, RoleVar)
				case c.Value.Kind == CConst:
					c.Value.C.names(func(n string) {
						if _, isParam := roles[n]; isParam {
							use(n, RoleVar)
						}
					})
				}
			})
		}
	}
	return roles
}

// walkCmps calls f on every comparison of e.
func walkCmps(e Expr, f func(*Cmp)) {
	switch x := e.(type) {
	case *Cmp:
		f(x)
	case *Logic:
		for _, a := range x.Args {
			walkCmps(a, f)
		}
	}
}

// names calls f on every name x uses.
func (x *CExpr) names(f func(string)) {
	if x == nil {
		return
	}
	if x.Op == 'i' {
		f(x.Name)
	}
	x.X.names(f)
	x.Y.names(f)
}

// fdArgNames are the kernel's names of fd arguments in its prototypes.
var fdArgNames = map[string]bool{"fd": true, "fd_in": true, "fd_out": true, "ufd": true, "dfd": true,
	"olddfd": true, "newdfd": true, "epfd": true, "sockfd": true}

// socketFdCalls are socket calls whose first argument is the socket,
// which the kernel's prototypes leave unnamed.
var socketFdCalls = map[string]bool{"sendto": true, "recvfrom": true, "accept": true, "accept4": true,
	"bind": true, "connect": true, "listen": true, "shutdown": true, "getsockname": true, "getpeername": true,
	"sendmsg": true, "recvmsg": true, "sendmmsg": true, "recvmmsg": true, "setsockopt": true, "getsockopt": true}

// fdArg reports whether argument arg of syscall is an fd (on x86_64,
// whose prototypes name the arguments as the other architectures do).
func fdArg(syscall string, arg int) bool {
	if arg == 0 && socketFdCalls[syscall] {
		return true
	}
	a, _ := arch.Lookup("x86_64")
	if fdArgNames[a.ArgName(syscall, arg)] {
		return true
	}
	return a.ArgWidthIn(syscall, arg, &[6]uint64{}).Class == "fd" && syscall != "fcntl"
}
