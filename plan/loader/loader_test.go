package loader

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/compile"
	"github.com/fencer-dev/fencer/internal/policy"
)

// compileRules compiles a policy of unconditional rules for a, in a's byte
// order, as "fencer export bpf" writes it. A syscall given
// policy.ActExecOnce goes behind the exec-once gate.
func compileRules(t testing.TB, a *arch.Arch, def policy.Action, rules map[string]policy.Action) []byte {
	t.Helper()
	return compileProgram(t, a, def, rules).Encode(a.Order)
}

func compileProgram(t testing.TB, a *arch.Arch, def policy.Action, rules map[string]policy.Action) bpf.Program {
	t.Helper()
	f := &policy.Filter{Service: "test", Arch: a.Name, AuditArch: a.Audit, Order: a.Order, X32: a.X32, Default: def}
	names := make([]string, 0, len(rules))
	for name := range rules {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		nr, ok := a.Syscall(name)
		if !ok {
			t.Fatalf("no syscall %q on %s", name, a.Name)
		}
		if rules[name] == policy.ActExecOnce {
			// The exec-once gate, as plan puts it on execve.
			f.ExecOnce = append(f.ExecOnce, uint32(nr))
			continue
		}
		f.Rules = append(f.Rules, policy.Rule{Name: name, Syscall: name, Nr: uint32(nr), When: policy.Const(true), Action: rules[name]})
	}
	prog, _, err := compile.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func hexSHA256(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// TestCheckFilter checks what the loader accepts as a filter file, and the
// messages of what it refuses, on an x86_64 host.
func TestCheckFilter(t *testing.T) {
	allowWrite := map[string]policy.Action{"write": policy.ActAllow}
	x86 := compileRules(t, arch.X86_64, policy.ActKillProcess, allowWrite)
	arm64 := compileRules(t, arch.AArch64, policy.ActKillProcess, allowWrite)
	s390x := compileRules(t, arch.S390X, policy.ActKillProcess, allowWrite)
	i386 := compileRules(t, arch.I386, policy.ActKillProcess, allowWrite)
	noPrologue := bpf.Program{bpf.Stmt(bpf.ClassRET|bpf.RetK, policy.RetAllow)}.Encode(arch.X86_64.Order)
	long := make(bpf.Program, bpf.MaxInsns+1)
	copy(long, compileProgram(t, arch.X86_64, policy.ActKillProcess, allowWrite))
	for i := range long {
		if long[i] == (bpf.Insn{}) {
			long[i] = bpf.Stmt(bpf.ClassRET|bpf.RetK, policy.RetAllow)
		}
	}
	longData := long.Encode(arch.X86_64.Order)
	cutInsn := x86[:len(x86)-8]
	cutByte := x86[:len(x86)-3]

	for _, tc := range []struct {
		name string
		data []byte
		hash string
		host *arch.Arch
		want string // "" for success, else a substring of the error
	}{
		{"valid", x86, hexSHA256(x86), arch.X86_64, ""},
		{"uppercase hash", x86, strings.ToUpper(hexSHA256(x86)), arch.X86_64, ""},
		{"s390x on s390x", s390x, hexSHA256(s390x), arch.S390X, ""},
		{"hash not hex", x86, "xyz", arch.X86_64, `-sha256 "xyz" is not a SHA-256 in hex`},
		{"short hash", x86, hexSHA256(x86)[:62], arch.X86_64, "is not a SHA-256 in hex"},
		{"wrong hash", x86, hexSHA256(arm64), arch.X86_64, "SHA-256 is " + hexSHA256(x86) + ", want " + hexSHA256(arm64) + ": the file is not the planned filter"},
		{"truncated, planned hash", cutInsn, hexSHA256(x86), arch.X86_64, "SHA-256 is " + hexSHA256(cutInsn)},
		{"empty", nil, hexSHA256(nil), arch.X86_64, "the file is empty"},
		{"truncated mid-instruction", cutByte, hexSHA256(cutByte), arch.X86_64, "is not a whole number of 8-byte instructions"},
		{"truncated at an instruction", cutInsn, hexSHA256(cutInsn), arch.X86_64, "the kernel would refuse the program"},
		{"aarch64 on x86_64", arm64, hexSHA256(arm64), arch.X86_64, "the filter is for aarch64 (AUDIT_ARCH 0xc00000b7), but this machine is x86_64 (AUDIT_ARCH 0xc000003e)"},
		{"x86_64 on aarch64", x86, hexSHA256(x86), arch.AArch64, "the filter is for x86_64 (AUDIT_ARCH 0xc000003e), but this machine is aarch64 (AUDIT_ARCH 0xc00000b7)"},
		{"i386 on x86_64", i386, hexSHA256(i386), arch.X86_64, "the filter is for i386 (AUDIT_ARCH 0x40000003), but this machine is x86_64"},
		{"s390x on x86_64", s390x, hexSHA256(s390x), arch.X86_64, "the filter is for s390x (AUDIT_ARCH 0x80000016, big-endian), but this machine is x86_64 (AUDIT_ARCH 0xc000003e)"},
		{"x86_64 on s390x", x86, hexSHA256(x86), arch.S390X, "the filter is for x86_64 (AUDIT_ARCH 0xc000003e, little-endian), but this machine is s390x"},
		{"no prologue", noPrologue, hexSHA256(noPrologue), arch.X86_64, "does not start with fencer's prologue (ld [4]; jeq #AUDIT_ARCH): it was not compiled by fencer for this machine (x86_64)"},
		{"too long", longData, hexSHA256(longData), arch.X86_64, "4097 instructions: the kernel accepts at most 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog, err := CheckFilter(tc.data, tc.hash, tc.host)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if len(prog) != len(tc.data)/8 {
					t.Fatalf("%d instructions, want %d", len(prog), len(tc.data)/8)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want an error with %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// TestLoaderSyscalls checks that every name of every list is a syscall of
// its architecture, that the lists are sorted and hold what the loader
// cannot do without, and that aliases of architecture names work.
func TestLoaderSyscalls(t *testing.T) {
	for _, a := range arch.All() {
		names := Syscalls(a.Name)
		if len(names) == 0 {
			t.Errorf("%s: no loader syscalls", a.Name)
			continue
		}
		if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
			t.Errorf("%s: not sorted or has duplicates: %v", a.Name, names)
		}
		for _, n := range names {
			if _, ok := a.Syscall(n); !ok {
				t.Errorf("%s: %q is not a syscall of the architecture", a.Name, n)
			}
		}
		for _, need := range []string{"execve", "seccomp", "prctl", "rt_sigaction", "write", "exit_group", "read", "openat", "prlimit64", "rt_sigreturn"} {
			if !slices.Contains(names, need) {
				t.Errorf("%s: %s missing", a.Name, need)
			}
		}
	}
	if got := Syscalls("amd64"); !slices.Equal(got, Syscalls("x86_64")) {
		t.Errorf("amd64 and x86_64 differ: %v", got)
	}
	if got := Syscalls("vax"); got != nil {
		t.Errorf("vax: %v, want nil", got)
	}
	// The result is the caller's to change.
	Syscalls("x86_64")[0] = "changed"
	if Syscalls("x86_64")[0] == "changed" {
		t.Error("Syscalls returns its table")
	}
}

// TestResolveCommand checks the exit statuses of commands that cannot run.
func TestResolveCommand(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ResolveCommand("sh"); err != nil {
		t.Fatalf("sh: %v", err)
	}
	for _, tc := range []struct {
		name string
		code int
		want string
	}{
		{"fencer-test-no-such-command", ExitNotFound, `command "fencer-test-no-such-command" not found in PATH`},
		{filepath.Join(dir, "missing"), ExitNotFound, "no such file or directory"},
		{plain, ExitCannotExec, "permission denied"},
		{dir, ExitCannotExec, ""},
	} {
		_, err := ResolveCommand(tc.name)
		var le *Error
		if !errors.As(err, &le) {
			t.Errorf("%s: %v, want a *Error", tc.name, err)
			continue
		}
		if le.Code != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: exit %d, %q; want exit %d and %q", tc.name, le.Code, err, tc.code, tc.want)
		}
	}
}

// TestLoaderRefusesBeforeRunning checks that Exec reports a bad filter or
// command without running anything, in this process.
func TestLoaderRefusesBeforeRunning(t *testing.T) {
	host, err := HostArch()
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	good := compileRules(t, host, policy.ActAllow, map[string]policy.Action{"mkdirat": policy.ActKillProcess})
	path := filepath.Join(dir, "f.bpf")
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "ran")
	for _, tc := range []struct {
		name string
		l    Loader
		code int
		want string
	}{
		{"no command", Loader{Filter: path, SHA256: hexSHA256(good)}, ExitError, "no command to run"},
		{"missing file", Loader{Filter: filepath.Join(dir, "nope"), SHA256: hexSHA256(good), Command: []string{"true"}}, ExitError, "open filter file"},
		{"directory", Loader{Filter: dir, SHA256: hexSHA256(good), Command: []string{"true"}}, ExitError, "is not a regular file"},
		{"wrong hash", Loader{Filter: path, SHA256: hexSHA256(nil), Command: []string{"/bin/sh", "-c", "touch " + marker}}, ExitError, "SHA-256 is"},
		{"missing command", Loader{Filter: path, SHA256: hexSHA256(good), Command: []string{filepath.Join(dir, "nope")}}, ExitNotFound, "no such file"},
		{"NUL in an argument", Loader{Filter: path, SHA256: hexSHA256(good), Command: []string{"/bin/sh", "-c", "touch " + marker + "\x00"}}, ExitError, "NUL byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.l.Exec()
			var le *Error
			if !errors.As(err, &le) {
				t.Fatalf("%v, want a *Error", err)
			}
			if le.Code != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("exit %d, %q; want exit %d and %q", le.Code, err, tc.code, tc.want)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the command ran")
			}
		})
	}
}
