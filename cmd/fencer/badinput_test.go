package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// svc wraps rules (and fds) in a service block starting on line 1; its
// body starts on line 4.
func svc(body string) string {
	return "service \"web\" {\n  unit           = \"web.service\"\n  default_action = kill_process\n" + body + "}\n"
}

// badInputs are broken configurations. Each must make validate exit 1,
// without a panic, with a diagnostic on the exact place of the mistake
// whose summary or detail says what is wrong.
var badInputs = []struct {
	name string
	src  string
	args []string // extra flags before the directory
	// config is the name of the configuration file, main.fencer.hcl when
	// empty.
	config string
	// line and col are where the diagnostic points, in the configuration
	// file (or in file, when set).
	file      string
	line, col int
	want      string // a distinctive part of the message
}{
	// Syntax.
	{name: "unclosed block", src: "service \"web\" {\n  unit = \"web.service\"\n", line: 1, col: 15, want: "Unclosed configuration block"},
	{name: "missing list separator", src: svc("  rule \"a\" {\n    syscalls = [\"read\" \"write\"]\n  }\n"), line: 5, col: 24, want: "Missing item separator"},
	{name: "unterminated string", src: "service \"web\" {\n  unit = \"web.service\n}\n", line: 2, col: 22, want: "Unterminated template string"},
	{name: "missing value", src: "service \"web\" {\n  unit =\n}\n", line: 2, col: 9, want: "Invalid expression"},
	{name: "missing block label", src: "service {\n  unit = \"web.service\"\n}\n", line: 1, col: 9, want: "Missing name for service"},
	{name: "hex literal", src: svc("  rule \"a\" {\n    syscalls = [\"write\"]\n    when     = arg0 == 0x10\n  }\n"), line: 6, col: 24, want: "parseint(\"10\", 16)"},
	{name: "unknown block type", src: "servce \"web\" {\n}\n", line: 1, col: 1, want: "Unsupported block type"},
	{name: "unknown attribute", src: "service \"web\" {\n  unti = \"web.service\"\n}\n", line: 2, col: 3, want: "Unsupported argument"},

	// Syscalls.
	{name: "poll missing on aarch64", src: svc("  rule \"wait\" {\n    syscalls = [\"poll\"]\n  }\n"), line: 5, col: 17, want: "On aarch64 and riscv64 use \"ppoll\" instead"},
	{name: "misspelled syscall", src: svc("  rule \"a\" {\n    syscalls = [\"wirte\"]\n  }\n"), line: 5, col: 17, want: "Did you mean \"write\"?"},
	{name: "unknown syscall_set", src: svc("  rule \"a\" {\n    syscalls = [syscall_set.nope]\n  }\n"), line: 5, col: 17, want: "No syscall_set \"nope\""},
	{name: "empty syscalls", src: svc("  rule \"a\" {\n    syscalls = []\n  }\n"), line: 5, col: 16, want: "names no syscall"},
	{name: "unknown arch in rule", src: svc("  rule \"a\" {\n    syscalls = [\"write\"]\n    arch     = [\"sparc\"]\n  }\n"), line: 6, col: 17, want: "\"sparc\" is not an architecture"},

	// Conditions.
	{name: "misspelled constant", src: svc("  rule \"a\" {\n    syscalls = [\"accept4\"]\n    when     = arg3 == SOCK_CLOEXC\n  }\n"), line: 6, col: 24, want: "Did you mean SOCK_CLOEXEC?"},
	{name: "misspelled fd", src: svc("  fd \"log\" {\n    stdout = \"append:/var/log/web.log\"\n  }\n  rule \"a\" {\n    syscalls = [\"write\"]\n    when     = arg0 == fd.lgo\n  }\n"), line: 9, col: 24, want: "Did you mean \"log\"?"},
	{name: "misspelled variable", src: "variable \"log_fd\" {\n  default = 5\n}\n" + svc("  rule \"a\" {\n    syscalls = [\"write\"]\n    when     = arg0 == var.lg_fd\n  }\n"), line: 9, col: 24, want: "Did you mean \"log_fd\"?"},
	{name: "comparison between arguments", src: svc("  rule \"a\" {\n    syscalls = [\"write\"]\n    when     = arg0 == arg1\n  }\n"), line: 6, col: 16, want: "Comparison of two arguments"},
	{name: "arithmetic on an argument", src: svc("  rule \"a\" {\n    syscalls = [\"write\"]\n    when     = arg0 + 1 == 3\n  }\n"), line: 6, col: 16, want: "arithmetic"},
	{name: "arg6", src: svc("  rule \"a\" {\n    syscalls = [\"write\"]\n    when     = arg6 == 1\n  }\n"), line: 6, col: 16, want: "there is no arg6"},
	{name: "value wider than a 32-bit argument", src: svc("  rule \"a\" {\n    syscalls = [\"write\"]\n    when     = arg0 == 4294967296\n  }\n"), line: 6, col: 24, want: "32 bits wide"},
	{name: "argument the syscall does not have", src: svc("  rule \"a\" {\n    syscalls = [\"close\"]\n    when     = arg3 == 0\n  }\n"), line: 6, col: 16, want: "close takes 1 argument"},
	{name: "unknown function", src: svc("  rule \"a\" {\n    syscalls = [\"write\"]\n    when     = contians([1, 2], arg0)\n  }\n"), line: 6, col: 16, want: "Did you mean \"contains\"?"},
	{name: "condition that is a number", src: svc("  rule \"a\" {\n    syscalls = [\"write\"]\n    when     = arg0\n  }\n"), line: 6, col: 16, want: "Argument used as a condition"},
	{name: "masked without a mask", src: svc("  rule \"a\" {\n    syscalls = [\"mmap\"]\n    when     = masked(arg2) == 0\n  }\n"), line: 6, col: 16, want: "masked takes an argument and a mask"},
	{name: "bitor of an argument", src: svc("  rule \"a\" {\n    syscalls = [\"openat\"]\n    when     = arg2 == bitor(arg1, 1)\n  }\n"), line: 6, col: 30, want: "Argument used as a value"},

	// Actions.
	{name: "unknown action", src: "service \"web\" {\n  unit           = \"web.service\"\n  default_action = kill_proces\n}\n", line: 3, col: 20, want: "Did you mean \"kill_process\"?"},
	{name: "allow as default_action", src: "service \"web\" {\n  unit           = \"web.service\"\n  default_action = allow\n}\n", line: 3, col: 20, want: "allow is not a default action"},
	{name: "errno above 4095", src: "service \"web\" {\n  unit           = \"web.service\"\n  default_action = errno(5000)\n}\n", line: 3, col: 26, want: "4095"},
	{name: "unknown errno name", src: "service \"web\" {\n  unit           = \"web.service\"\n  default_action = errno(EPREM)\n}\n", line: 3, col: 26, want: "Did you mean EPERM?"},

	// Fds.
	{name: "two bindings on one fd", src: svc("  fd \"log\" {\n    stdout = \"append:/var/log/web.log\"\n    stderr = \"append:/var/log/web.log\"\n  }\n"), line: 6, col: 5, want: "has both stdout and stderr"},
	{name: "two fds on one number", src: svc("  fd \"a\" {\n    number = 5\n  }\n  fd \"b\" {\n    number = 5\n  }\n"), line: 8, col: 5, want: "Two fds on one number"},
	{name: "newline in an fd value", src: svc("  fd \"log\" {\n    stdout = \"append:/var/log/web.log\\nExecStartPost=+/bin/sh\"\n  }\n"), line: 5, col: 14, want: "control character '\\n'"},
	{name: "trailing backslash in an fd value", src: svc("  fd \"log\" {\n    stdout = \"append:/var/log/web.log\\\\\"\n  }\n"), line: 5, col: 14, want: "ends with a backslash"},
	{name: "duplicate fd", src: svc("  fd \"a\" {\n    number = 5\n  }\n  fd \"a\" {\n    number = 6\n  }\n"), line: 7, col: 6, want: "Duplicate fd"},

	// Units.
	{name: "unit name with a slash", src: "service \"web\" {\n  unit           = \"sub/web.service\"\n  default_action = kill_process\n}\n", line: 2, col: 20, want: "is a path"},
	{name: "unit name with dot-dot", src: "service \"web\" {\n  unit           = \"..service\"\n  default_action = kill_process\n}\n", line: 2, col: 20, want: "contains \"..\""},
	{name: "unit name without suffix", src: "service \"web\" {\n  unit           = \"web\"\n  default_action = kill_process\n}\n", line: 2, col: 20, want: "ends with its type"},
	{name: "exec_start of two commands", src: svc("  exec_start     = \"/usr/bin/web ; /bin/true\"\n"), line: 4, col: 20, want: "exec_start must be one command; it has 2"},
	{name: "exec_start with a + prefix", src: svc("  exec_start     = \"+/usr/bin/web\"\n"), line: 4, col: 20, want: "exec_start starts with \"+\""},
	{name: "exec_start with a ! prefix", src: svc("  exec_start     = \"!/usr/bin/web\"\n"), line: 4, col: 20, want: "exec_start starts with \"!\""},
	{name: "missing unit", src: "service \"web\" {\n  default_action = kill_process\n}\n", line: 1, col: 15, want: "The argument \"unit\" is required"},

	// Hosts.
	{name: "bad scope", src: "host \"h\" {\n  scope = \"global\"\n}\n", line: 2, col: 11, want: "Invalid scope"},
	{name: "unknown host arch", src: "host \"h\" {\n  arch = \"sparc\"\n}\n", line: 2, col: 10, want: "Unknown architecture"},
	{name: "fencer_path with a newline", src: "host \"h\" {\n  fencer_path = \"/usr/bin/fencer\\n\"\n}\n", line: 2, col: 17, want: "control character '\\n'"},
	{name: "service on an unknown host", src: "host \"h\" {\n}\n" + svc("  hosts = [\"g\"]\n"), line: 6, col: 12, want: "No host named \"g\""},

	// Variables.
	{name: "-var for an undeclared variable", src: svc(""), args: []string{"-var", "nope=1"}, file: "<-var nope=1>", line: 1, col: 1, want: "undeclared variable"},
	{name: "variable without a value", src: "variable \"port\" {\n  type = number\n}\n", line: 1, col: 1, want: "No value for required variable"},
	{name: "duplicate variable", src: "variable \"a\" {\n  default = 1\n}\nvariable \"a\" {\n  default = 2\n}\n", line: 4, col: 10, want: "Duplicate variable"},
	{name: "unknown local", src: "locals {\n  a = local.b\n}\n", line: 2, col: 7, want: "No local value \"b\""},

	// Duplicates.
	{name: "duplicate service", src: svc("") + svc(""), line: 5, col: 9, want: "Duplicate service"},
	{name: "duplicate rule", src: svc("  rule \"a\" {\n    syscalls = [\"read\"]\n  }\n  rule \"a\" {\n    syscalls = [\"write\"]\n  }\n"), line: 7, col: 8, want: "Duplicate rule"},
	{name: "duplicate test", src: svc("") + "test \"t\" {\n  service = \"web\"\n  syscall = \"read\"\n  expect  = kill_process\n}\ntest \"t\" {\n  service = \"web\"\n  syscall = \"read\"\n  expect  = kill_process\n}\n", line: 10, col: 6, want: "Duplicate test"},

	// Tests.
	{name: "test of an unknown service", src: svc("") + "test \"t\" {\n  service = \"wbe\"\n  syscall = \"read\"\n  expect  = kill_process\n}\n", line: 6, col: 13, want: "Did you mean \"web\"?"},
	{name: "test of a misspelled syscall", src: svc("") + "test \"t\" {\n  service = \"web\"\n  syscall = \"raed\"\n  expect  = kill_process\n}\n", line: 7, col: 13, want: "Did you mean \"read\"?"},
	{name: "test with seven arguments", src: svc("") + "test \"t\" {\n  service = \"web\"\n  syscall = \"read\"\n  args    = [1, 2, 3, 4, 5, 6, 7]\n  expect  = kill_process\n}\n", line: 8, col: 32, want: "at most six arguments"},
	{name: "test expecting an unknown action", src: svc("") + "test \"t\" {\n  service = \"web\"\n  syscall = \"read\"\n  expect  = deny\n}\n", line: 8, col: 13, want: "There is no action \"deny\""},

	// Other files.
	{name: "JSON syntax error", config: "main.fencer.json", src: "{\"service\": {\"web\": {\"unit\": }}}\n", line: 1, col: 30, want: "Missing JSON value"},
	{name: "file() of a missing file", src: "service \"web\" {\n  unit           = \"web.service\"\n  unit_file      = file(\"nope.service\")\n  default_action = kill_process\n}\n", line: 3, col: 20, want: "nope.service"},
	{name: "test with an unknown fd", src: svc("  fd \"log\" {\n    stdout = \"append:/var/log/web.log\"\n  }\n") + "test \"t\" {\n  service = \"web\"\n  syscall = \"write\"\n  args    = [fd.lgo]\n  expect  = allow\n}\n", line: 11, col: 14, want: "Did you mean \"log\"?"},
	{name: "listen_stream without a port", src: svc("  fd \"sock\" {\n    listen_stream = \"0.0.0.0\"\n  }\n"), line: 5, col: 21, want: "listen_stream"},

	// Size.
	{name: "filter too long", src: svc("  rule \"a\" {\n    syscalls = [\"read\", \"write\"]\n    when     = contains([" + numberList(2100) + "], arg0)\n  }\n"), line: 4, col: 3, want: "Filter too long"},
}

// numberList is "1, 3, ..., 2n-1": n values no two of which are
// neighbours, so that the compiler compares each (it checks runs of
// neighbours as one range).
func numberList(n int) string {
	nums := make([]string, n)
	for i := range nums {
		nums[i] = fmt.Sprint(2*i + 1)
	}
	return strings.Join(nums, ", ")
}

func TestBadInput(t *testing.T) {
	if len(badInputs) < 40 {
		t.Fatalf("only %d bad inputs", len(badInputs))
	}
	for _, tt := range badInputs {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			name := "main.fencer.hcl"
			if tt.config != "" {
				name = tt.config
			}
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			file := path
			if tt.file != "" {
				file = tt.file
			}
			args := append(append([]string{"validate", "-no-color"}, tt.args...), dir)
			var stdout, stderr bytes.Buffer
			var code int
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				code = run(args, strings.NewReader(""), &stdout, &stderr, nil)
			}()
			if code != exitError {
				t.Errorf("exit code %d, want %d", code, exitError)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout: %s", stdout.String())
			}
			out := stderr.String()
			loc := fmt.Sprintf("  on %s line %d, column %d", file, tt.line, tt.col)
			at := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(loc) + `[,:]`)
			if !at.MatchString(out) {
				t.Errorf("no diagnostic at %s:%d,%d", filepath.Base(file), tt.line, tt.col)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("no %q in the diagnostics", tt.want)
			}
			if t.Failed() {
				t.Logf("stderr:\n%s", out)
			}
		})
	}
}
