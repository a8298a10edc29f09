package hclspec

import (
	"strings"
	"testing"
)

// svc starts a service with one fd, "log" on stdout (fd 1), on lines 1-3;
// the case's own lines start at line 4.
const svc = `service "m" {
  unit = "m.service"
  fd "log" { stdout = "append:/var/log/m.log" }
`

// errorCases are broken configurations, each with the diagnostic it must
// produce: a distinctive part of its summary or detail, and where.
var errorCases = []struct {
	name string
	src  string
	opts LoadOptions
	want string // in the summary or the detail
	at   string // FILE:LINE:COL of the subject's start
}{
	{
		name: "syntax error",
		src:  "locals {\n  a = 1 +\n}\n",
		want: "Invalid expression",
		at:   "main.fencer.hcl:2:10",
	},
	{
		name: "hex literal",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = arg0 == 0x10\n  }\n}\n",
		want: `parseint("10", 16)`,
		at:   "main.fencer.hcl:6:20",
	},
	{
		name: "arg6",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = arg0 == 1 && arg6 == 1\n  }\n}\n",
		want: "arg0 to arg5",
		at:   "main.fencer.hcl:6:25",
	},
	{
		name: "two arguments compared",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = arg0 == 1 || arg0 == arg1\n  }\n}\n",
		want: "Comparison of two arguments",
		at:   "main.fencer.hcl:6:25",
	},
	{
		name: "arithmetic on an argument",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = arg0 + 1 == 2\n  }\n}\n",
		want: "Arithmetic on an argument",
		at:   "main.fencer.hcl:6:12",
	},
	{
		name: "arithmetic on values",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = arg0 == 2 * 3\n  }\n}\n",
		want: "local value",
		at:   "main.fencer.hcl:6:20",
	},
	{
		name: "unknown function",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = !contain([1, 2], arg0)\n  }\n}\n",
		want: `Did you mean "contains"?`,
		at:   "main.fencer.hcl:6:13",
	},
	{
		name: "unknown fd",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"write\"]\n    when = arg0 == fd.lg\n  }\n}\n",
		want: `Did you mean "log"?`,
		at:   "main.fencer.hcl:6:20",
	},
	{
		name: "unknown variable",
		src:  "variable \"port\" { default = 1 }\n" + svc + "  rule \"r\" {\n    syscalls = [\"write\"]\n    when = arg0 == var.prot\n  }\n}\n",
		want: `Did you mean "port"?`,
		at:   "main.fencer.hcl:7:20",
	},
	{
		name: "unknown local",
		src:  "locals {\n  fds = [1]\n  all = concat(local.fd, [2])\n}\n",
		want: `Did you mean "fds"?`,
		at:   "main.fencer.hcl:3:16",
	},
	{
		name: "two bindings on one fd",
		src:  svc + "  fd \"x\" {\n    stdin  = \"null\"\n    number = 5\n  }\n}\n",
		want: "Several fd bindings",
		at:   "main.fencer.hcl:6:5",
	},
	{
		name: "fd without binding",
		src:  svc + "  fd \"x\" {}\n}\n",
		want: "Missing fd binding",
		at:   "main.fencer.hcl:4:3",
	},
	{
		name: "number on stdout's number",
		src:  svc + "  fd \"x\" { number = 1 }\n}\n",
		want: `fd "log" and fd "x" both get number 1`,
		at:   "main.fencer.hcl:4:12",
	},
	{
		name: "number on the first socket's number",
		src:  svc + "  fd \"sock\" { listen_stream = \"[::1]:80\" }\n  fd \"x\" { number = 3 }\n}\n",
		want: "Two fds on one number",
		at:   "main.fencer.hcl:5:12",
	},
	{
		name: "two stdout",
		src:  svc + "  fd \"other\" { stdout = \"journal\" }\n}\n",
		want: "both get number 1",
		at:   "main.fencer.hcl:4:16",
	},
	{
		name: "duplicate fd",
		src:  svc + "  fd \"log\" { number = 7 }\n}\n",
		want: "Duplicate fd",
		at:   "main.fencer.hcl:4:6",
	},
	{
		name: "unknown action",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    action   = kil_process\n  }\n}\n",
		want: `Did you mean "kill_process"?`,
		at:   "main.fencer.hcl:6:16",
	},
	{
		name: "unknown action in a string",
		src:  svc + "  default_action = \"kill_proces\"\n}\n",
		want: `Did you mean "kill_process"?`,
		at:   "main.fencer.hcl:4:21",
	},
	{
		name: "allow as default_action",
		src:  svc + "  default_action = allow\n}\n",
		want: "allow is not a default action",
		at:   "main.fencer.hcl:4:20",
	},
	{
		name: "errno out of range",
		src:  svc + "  default_action = errno(5000)\n}\n",
		want: "Invalid errno",
		at:   "main.fencer.hcl:4:26",
	},
	{
		name: "test of an unknown service",
		src:  svc + "}\ntest \"t\" {\n  service = \"n\"\n  syscall = \"read\"\n  expect  = \"allow\"\n}\n",
		want: `Did you mean "m"?`,
		at:   "main.fencer.hcl:6:13",
	},
	{
		name: "more than six test args",
		src:  svc + "}\ntest \"t\" {\n  service = \"m\"\n  syscall = \"read\"\n  args    = [1, 2, 3, 4, 5, 6, 7]\n  expect  = allow\n}\n",
		want: "Too many arguments",
		at:   "main.fencer.hcl:8:32",
	},
	{
		name: "unknown fd in test args",
		src:  svc + "}\ntest \"t\" {\n  service = \"m\"\n  syscall = \"write\"\n  args    = [fd.logg]\n  expect  = allow\n}\n",
		want: `Did you mean "log"?`,
		at:   "main.fencer.hcl:8:14",
	},
	{
		name: "unit name with a slash",
		src:  "service \"m\" {\n  unit = \"/etc/systemd/system/m.service\"\n}\n",
		want: "is a path",
		at:   "main.fencer.hcl:2:10",
	},
	{
		name: "unit name with dot dot",
		src:  "service \"m\" {\n  unit = \"m..service\"\n}\n",
		want: `contains ".."`,
		at:   "main.fencer.hcl:2:10",
	},
	{
		name: "unit name without .service",
		src:  "service \"m\" {\n  unit = \"metrics\"\n}\n",
		want: `write "metrics.service"`,
		at:   "main.fencer.hcl:2:10",
	},
	{
		name: "socket unit as a service",
		src:  "service \"m\" {\n  unit = \"metrics.socket\"\n}\n",
		want: "is a socket unit",
		at:   "main.fencer.hcl:2:10",
	},
	{
		name: "bad character in unit name",
		src:  "service \"m\" {\n  unit = \"met rics.service\"\n}\n",
		want: "cannot be in a unit name",
		at:   "main.fencer.hcl:2:10",
	},
	{
		name: "missing unit",
		src:  "service \"m\" {\n}\n",
		want: "Missing required argument",
		at:   "main.fencer.hcl:1:13",
	},
	{
		name: "unknown syscall_set",
		src:  "syscall_set \"startup\" {\n  syscalls = [\"execve\"]\n}\n" + svc + "  rule \"r\" {\n    syscalls = [syscall_set.startpu, \"read\"]\n  }\n}\n",
		want: `Did you mean "startup"?`,
		at:   "main.fencer.hcl:8:17",
	},
	{
		name: "cycle of syscall sets",
		src:  "syscall_set \"a\" {\n  syscalls = [syscall_set.b]\n}\nsyscall_set \"b\" {\n  syscalls = [\"read\", syscall_set.a]\n}\n",
		want: "Cycle in syscall sets",
		at:   "main.fencer.hcl:5:23",
	},
	{
		name: "string as a condition",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = \"arg0 == 1\"\n  }\n}\n",
		want: "String used as a condition",
		at:   "main.fencer.hcl:6:12",
	},
	{
		name: "string as a value",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = arg0 == 1 && arg1 == \"0x10\"\n  }\n}\n",
		want: `parseint("10", 16)`,
		at:   "main.fencer.hcl:6:33",
	},
	{
		name: "bare argument as a condition",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = arg0 == 1 && arg2\n  }\n}\n",
		want: "arg2 != 0",
		at:   "main.fencer.hcl:6:25",
	},
	{
		name: "comparison without an argument",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = 1 == 2\n  }\n}\n",
		want: "Comparison without an argument",
		at:   "main.fencer.hcl:6:12",
	},
	{
		name: "conditional expression",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = arg0 == (true ? 1 : 2)\n  }\n}\n",
		want: "Conditional expression",
		at:   "main.fencer.hcl:6:21",
	},
	{
		name: "for expression",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = contains([for x in [1] : x], arg0)\n  }\n}\n",
		want: "for expression in a condition",
		at:   "main.fencer.hcl:6:21",
	},
	{
		name: "wrong arity",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = has_bits(arg0)\n  }\n}\n",
		want: "Wrong number of arguments",
		at:   "main.fencer.hcl:6:12",
	},
	{
		name: "contains in the wrong order",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = contains(arg0, [1, 2])\n  }\n}\n",
		want: "wrong order",
		at:   "main.fencer.hcl:6:12",
	},
	{
		name: "lower-case constant",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = arg1 == sock_cloexec\n  }\n}\n",
		want: "SOCK_CLOEXEC",
		at:   "main.fencer.hcl:6:20",
	},
	{
		name: "variable that is not a number",
		src:  "variable \"p\" { default = \"/x\" }\n" + svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = arg0 == var.p\n  }\n}\n",
		want: "Invalid value in a condition",
		at:   "main.fencer.hcl:7:20",
	},
	{
		name: "missing variable value",
		src:  "locals { a = 1 }\nvariable \"log_path\" {\n  type = string\n}\n",
		want: "No value for required variable",
		at:   "main.fencer.hcl:2:1",
	},
	{
		name: "invalid variable value",
		src:  "variable \"port\" {\n  type = number\n}\n",
		opts: LoadOptions{Vars: []string{"port=[1]"}},
		want: "Invalid value for variable",
		at:   "<value for var.port>:1:1",
	},
	{
		name: "-var for an undeclared variable",
		src:  "variable \"port\" { default = 1 }\n",
		opts: LoadOptions{Vars: []string{"prot=2"}},
		want: `Did you mean "port"?`,
		at:   "<-var prot=2>:1:1",
	},
	{
		name: "bad scope",
		src:  "host \"h\" {\n  scope = \"users\"\n}\n",
		want: `Did you mean "user"?`,
		at:   "main.fencer.hcl:2:11",
	},
	{
		name: "bad host arch",
		src:  "host \"h\" {\n  arch = \"aarch46\"\n}\n",
		want: `Did you mean "aarch64"?`,
		at:   "main.fencer.hcl:2:10",
	},
	{
		name: "bad rule arch",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"poll\"]\n    arch     = [\"x86_64\", \"x86_46\"]\n  }\n}\n",
		want: `Did you mean "x86_64"?`,
		at:   "main.fencer.hcl:6:27",
	},
	{
		name: "bad port",
		src:  "host \"h\" {\n  address = \"h.example\"\n  port    = 0\n}\n",
		want: "Invalid port",
		at:   "main.fencer.hcl:3:13",
	},
	{
		name: "become other than sudo",
		src:  "host \"h\" {\n  address = \"h.example\"\n  become  = \"doas\"\n}\n",
		want: `become is "sudo" (run fencer's agent on the host with sudo -n) or absent, not "doas".`,
		at:   "main.fencer.hcl:3:13",
	},
	{
		name: "bastion with a path",
		src:  "host \"h\" {\n  address = \"h.example\"\n  bastion = \"ssh://jump\"\n}\n",
		want: `bastion is "ssh://jump": it has a space or a slash`,
		at:   "main.fencer.hcl:3:13",
	},
	{
		name: "bastion with a bad port",
		src:  "host \"h\" {\n  address = \"h.example\"\n  bastion = \"admin@jump:99999\"\n}\n",
		want: `the port "99999" is not a whole number from 1 to 65535`,
		at:   "main.fencer.hcl:3:13",
	},
	{
		name: "bastion of a bare IPv6 address",
		src:  "host \"h\" {\n  address = \"h.example\"\n  bastion = \"fe80::1\"\n}\n",
		want: `an IPv6 address goes in brackets`,
		at:   "main.fencer.hcl:3:13",
	},
	{
		name: "connect_timeout not a duration",
		src:  "host \"h\" {\n  address         = \"h.example\"\n  connect_timeout = \"10\"\n}\n",
		want: `connect_timeout is a duration such as "10s"`,
		at:   "main.fencer.hcl:3:21",
	},
	{
		name: "connect_timeout too long",
		src:  "host \"h\" {\n  address         = \"h.example\"\n  connect_timeout = \"1h\"\n}\n",
		want: `connect_timeout is 1h0m0s; it must be from 1s to 5m0s.`,
		at:   "main.fencer.hcl:3:21",
	},
	{
		name: "relative known_hosts_file",
		src:  "host \"h\" {\n  address          = \"h.example\"\n  known_hosts_file = \"known_hosts\"\n}\n",
		want: `known_hosts_file is "known_hosts"; it must be an absolute path, or start with "~/"`,
		at:   "main.fencer.hcl:3:22",
	},
	{
		name: "relative fencer_path",
		src:  "host \"h\" {\n  fencer_path = \"bin/fencer\"\n}\n",
		want: "absolute path",
		at:   "main.fencer.hcl:2:17",
	},
	// Values fencer writes into unit files cannot inject settings: a
	// newline would start one of its own (ExecStartPost=+... runs
	// unsandboxed), a trailing backslash continue the line into the next.
	{
		name: "newline in an fd value",
		src:  "service \"m\" {\n  unit = \"m.service\"\n  fd \"log\" { stdout = \"append:/var/log/m.log\\nExecStartPost=+/bin/sh\" }\n}\n",
		want: `control character '\n'`,
		at:   "main.fencer.hcl:3:23",
	},
	{
		name: "trailing backslash in an fd value",
		src:  "service \"m\" {\n  unit = \"m.service\"\n  fd \"log\" { stdout = \"append:/var/log/m.log\\\\\" }\n}\n",
		want: "ends with a backslash",
		at:   "main.fencer.hcl:3:23",
	},
	{
		name: "newline in exec_start",
		src:  "service \"m\" {\n  unit = \"m.service\"\n  enforce = \"systemd\"\n  exec_start = \"/usr/bin/m\\nExecStartPost=+/bin/sh\"\n}\n",
		want: `control character '\n'`,
		at:   "main.fencer.hcl:4:16",
	},
	{
		name: "newline in fencer_path",
		src:  "host \"h\" {\n  fencer_path = \"/usr/bin/fencer\\nExecStartPost=+/bin/sh\"\n}\n",
		want: `control character '\n'`,
		at:   "main.fencer.hcl:2:17",
	},
	{
		name: "fencer_path with a quote",
		src:  "host \"h\" {\n  fencer_path = \"/usr/bin/fen'cer\"\n}\n",
		want: "contains special characters",
		at:   "main.fencer.hcl:2:17",
	},
	{
		name: "exec_start of two commands",
		src:  "service \"m\" {\n  unit = \"m.service\"\n  exec_start = \"/usr/bin/m ; /usr/bin/n\"\n}\n",
		want: "exec_start must be one command; it has 2",
		at:   "main.fencer.hcl:3:16",
	},
	{
		name: "exec_start with +",
		src:  "service \"m\" {\n  unit = \"m.service\"\n  exec_start = \"+/usr/bin/m\"\n}\n",
		want: `exec_start starts with "+", which runs the command without sandboxing`,
		at:   "main.fencer.hcl:3:16",
	},
	{
		name: "exec_start with !!",
		src:  "service \"m\" {\n  unit = \"m.service\"\n  exec_start = \"!!/usr/bin/m\"\n}\n",
		want: `exec_start starts with "!!"`,
		at:   "main.fencer.hcl:3:16",
	},
	{
		name: "exec_start with an unterminated quote",
		src:  "service \"m\" {\n  unit = \"m.service\"\n  exec_start = \"/usr/bin/m 'a\"\n}\n",
		want: "exec_start is not a command line systemd reads",
		at:   "main.fencer.hcl:3:16",
	},
	{
		name: "for_each on a list",
		src:  "host \"h\" {\n  for_each = [\"a\"]\n}\n",
		want: "toset(...)",
		at:   "main.fencer.hcl:2:14",
	},
	{
		name: "duplicate rule",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n  }\n  rule \"r\" {\n    syscalls = [\"write\"]\n  }\n}\n",
		want: "Duplicate rule",
		at:   "main.fencer.hcl:7:8",
	},
	{
		name: "duplicate service",
		src:  "service \"m\" {\n  unit = \"a.service\"\n}\nservice \"m\" {\n  unit = \"b.service\"\n}\n",
		want: "Duplicate service",
		at:   "main.fencer.hcl:4:9",
	},
	{
		name: "one unit in two services",
		src:  "service \"a\" {\n  unit = \"m.service\"\n}\nservice \"b\" {\n  unit = \"m.service\"\n}\n",
		want: "Unit in two services",
		at:   "main.fencer.hcl:5:10",
	},
	{
		name: "unknown host",
		src:  "host \"edge\" {}\nservice \"m\" {\n  unit  = \"m.service\"\n  hosts = [\"egde\"]\n}\n",
		want: `Did you mean "edge"?`,
		at:   "main.fencer.hcl:4:12",
	},
	{
		name: "syscall without quotes",
		src:  svc + "  rule \"r\" {\n    syscalls = [read]\n  }\n}\n",
		want: "Syscall name without quotes",
		at:   "main.fencer.hcl:5:17",
	},
	{
		name: "invalid syscall name",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"Read\"]\n  }\n}\n",
		want: "Invalid syscall name",
		at:   "main.fencer.hcl:5:17",
	},
	{
		name: "cycle of locals",
		src:  "locals {\n  a = local.b\n  b = local.a + 1\n}\n",
		want: "Cycle in local values",
		at:   "main.fencer.hcl:2:3",
	},
	{
		name: "invalid socket address",
		src:  svc + "  fd \"s\" { listen_stream = \"localhost:80\" }\n}\n",
		want: "not a numeric IP address",
		at:   "main.fencer.hcl:4:28",
	},
	{
		name: "stdout without a form",
		src:  "service \"m\" {\n  unit = \"m.service\"\n  fd \"log\" { stdout = \"/var/log/m.log\" }\n}\n",
		want: "append:PATH",
		at:   "main.fencer.hcl:3:23",
	},
	{
		name: "relative path",
		src:  "service \"m\" {\n  unit = \"m.service\"\n  fd \"log\" { stdout = \"append:m.log\" }\n}\n",
		want: "absolute path",
		at:   "main.fencer.hcl:3:23",
	},
	{
		name: "unknown attribute",
		src:  svc + "  defaultaction = kill_process\n}\n",
		want: "Unsupported argument",
		at:   "main.fencer.hcl:4:3",
	},
	{
		name: "bad enforce",
		src:  svc + "  enforce = \"sytemd\"\n}\n",
		want: `Did you mean "systemd"?`,
		at:   "main.fencer.hcl:4:13",
	},
	{
		name: "missing file",
		src:  "service \"m\" {\n  unit      = \"m.service\"\n  unit_file = file(\"m.service\")\n}\n",
		want: "no file m.service",
		at:   "main.fencer.hcl:3:15",
	},
	{
		name: "number as a condition",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = -1\n  }\n}\n",
		want: "Number used as a condition",
		at:   "main.fencer.hcl:6:12",
	},
	{
		name: "fraction",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = arg0 == 1.5\n  }\n}\n",
		want: "Not a whole number",
		at:   "main.fencer.hcl:6:20",
	},
	{
		name: "masked with a value first",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = masked(3, arg0) == 1\n  }\n}\n",
		want: "Argument expected",
		at:   "main.fencer.hcl:6:19",
	},
	{
		name: "splat",
		src:  svc + "  rule \"r\" {\n    syscalls = [\"read\"]\n    when = arg0 == var.x[*].y\n  }\n}\n",
		want: "Splat expression",
		at:   "main.fencer.hcl:6:20",
	},
	{
		name: "empty syscalls",
		src:  svc + "  rule \"r\" {\n    syscalls = []\n  }\n}\n",
		want: "names no syscall",
		at:   "main.fencer.hcl:5:16",
	},
	{
		name: "stdin cannot append",
		src:  "service \"m\" {\n  unit = \"m.service\"\n  fd \"in\" { stdin = \"append:/x\" }\n}\n",
		want: "Invalid stdin",
		at:   "main.fencer.hcl:3:21",
	},
	{
		name: "unknown open_file option",
		src:  "service \"m\" {\n  unit = \"m.service\"\n  fd \"c\" { open_file = \"/etc/c:c:readonly\" }\n}\n",
		want: `Did you mean "read-only"?`,
		at:   "main.fencer.hcl:3:24",
	},
	{
		name: "default of the wrong type",
		src:  "variable \"n\" {\n  type    = number\n  default = \"x\"\n}\n",
		want: "Invalid default value for variable",
		at:   "main.fencer.hcl:3:13",
	},
	{
		name: "duplicate variable",
		src:  "variable \"n\" { default = 1 }\nvariable \"n\" { default = 2 }\n",
		want: "Duplicate variable",
		at:   "main.fencer.hcl:2:10",
	},
	{
		name: "duplicate local",
		src:  "locals { a = 1 }\nlocals { a = 2 }\n",
		want: "Duplicate local value",
		at:   "main.fencer.hcl:2:10",
	},
	{
		name: "unknown block",
		src:  "servce \"m\" {}\n",
		want: "Unsupported block type",
		at:   "main.fencer.hcl:1:1",
	},
	{
		name: "test without expect",
		src:  svc + "}\ntest \"t\" {\n  service = \"m\"\n  syscall = \"read\"\n}\n",
		want: `The argument "expect" is required`,
		at:   "main.fencer.hcl:5:10",
	},
	{
		name: "test syscall spelled wrong",
		src:  svc + "}\ntest \"t\" {\n  service = \"m\"\n  syscall = \"Read\"\n  expect  = allow\n}\n",
		want: "Invalid syscall name",
		at:   "main.fencer.hcl:7:13",
	},
	{
		name: "errno name from a variable",
		src:  "variable \"act\" { default = \"errno(eperm)\" }\n" + svc + "  default_action = var.act\n}\n",
		want: "Unknown name",
		at:   "main.fencer.hcl:5:20",
	},
	{
		name: "configuration id with a space",
		src:  "fencer {\n  id = \"web fleet\"\n}\n",
		want: `"web fleet" has the character ' ': an id has only letters, digits and the characters . _ - @ +`,
		at:   "main.fencer.hcl:2:8",
	},
	{
		name: "configuration id not a string",
		src:  "fencer {\n  id = [1]\n}\n",
		want: "id",
		at:   "main.fencer.hcl:2:8",
	},
	{
		name: "two fencer blocks",
		src:  "fencer {\n  id = \"a\"\n}\nfencer {\n}\n",
		want: "A configuration has one fencer block, and one is at main.fencer.hcl:1,1-7",
		at:   "main.fencer.hcl:4:1",
	},
	{
		name: "unknown fencer setting",
		src:  "fencer {\n  name = \"a\"\n}\n",
		want: "Unsupported argument",
		at:   "main.fencer.hcl:2:3",
	},
	{
		name: "fraction in test args",
		src:  "test \"t\" {\n  service = \"m\"\n  syscall = \"read\"\n  args    = [SOCK_CLOEXEC, 1.5]\n  expect  = allow\n}\n",
		want: "Not a whole number",
		at:   "main.fencer.hcl:4:28",
	},
}

func TestErrors(t *testing.T) {
	for _, c := range errorCases {
		t.Run(c.name, func(t *testing.T) {
			_, diags := parseSrc(t, c.src, c.opts)
			if !diags.HasErrors() {
				t.Fatalf("no error; want %q at %s", c.want, c.at)
			}
			for _, d := range diags {
				if d.Subject == nil || d.Summary == "" || d.Detail == "" {
					t.Errorf("incomplete diagnostic: %s: %q; %q", at(d), d.Summary, d.Detail)
				}
			}
			for _, d := range diags {
				if strings.Contains(d.Summary, c.want) || strings.Contains(d.Detail, c.want) {
					if got := at(d); got != c.at {
						t.Errorf("%q at %s, want %s", c.want, got, c.at)
					}
					return
				}
			}
			t.Errorf("no diagnostic says %q; got:\n%s", c.want, diagsText(diags))
		})
	}
}
