package main

/*
#cgo LDFLAGS: -lseccomp
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

// bench_export writes ctx's program to a new memfd and returns the fd, or
// a negative errno.
static int bench_export(scmp_filter_ctx ctx) {
	int fd = memfd_create("bench-bpf", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"syscall"
	"unsafe"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/clauses"
	"github.com/fencer-dev/fencer/internal/policy"
)

// libseccomp is Debian's libseccomp (cgo), at one optimization level:
// 1 is its linear chain, 2 its binary tree of syscall numbers.
type libseccomp struct{ optimize int }

func (l libseccomp) name() string { return fmt.Sprintf("libseccomp -O%d", l.optimize) }

// libseccompArch maps fencer's architecture names to libseccomp's where
// they differ.
var libseccompArch = map[string]string{"i386": "x86"}

// libseccompVersion is the library's version, for the report.
func libseccompVersion() string {
	v := C.seccomp_version()
	return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.micro)
}

// scmpOps maps policy comparisons to libseccomp's.
var scmpOps = map[policy.Op]C.enum_scmp_compare{
	policy.EQ: C.SCMP_CMP_EQ, policy.NE: C.SCMP_CMP_NE, policy.LT: C.SCMP_CMP_LT,
	policy.LE: C.SCMP_CMP_LE, policy.GT: C.SCMP_CMP_GT, policy.GE: C.SCMP_CMP_GE,
}

func (l libseccomp) compile(f *policy.Filter) (bpf.Program, error) {
	form, err := clauses.NormalForm(f, clauses.Options{})
	if err != nil {
		return nil, err
	}
	ctx := C.seccomp_init(C.uint32_t(f.Default.Ret()))
	if ctx == nil {
		return nil, fmt.Errorf("seccomp_init(%s) failed", f.Default)
	}
	defer C.seccomp_release(ctx)
	token, err := l.setUp(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, s := range form {
		if err := l.addSyscall(ctx, token, s); err != nil {
			return nil, err
		}
	}
	return exportBPF(ctx)
}

// setUp makes ctx a filter for f's architecture alone that kills the
// process on a foreign one, as fencer's do, at l's optimization level. It
// returns the architecture's token.
func (l libseccomp) setUp(ctx C.scmp_filter_ctx, f *policy.Filter) (C.uint32_t, error) {
	archName := f.Arch
	if n, ok := libseccompArch[archName]; ok {
		archName = n
	}
	cname := C.CString(archName)
	defer C.free(unsafe.Pointer(cname))
	token := C.seccomp_arch_resolve_name(cname)
	if token == 0 {
		return 0, fmt.Errorf("libseccomp does not know architecture %s", f.Arch)
	}
	if token != C.seccomp_arch_native() {
		// The native architecture goes first: libseccomp refuses to add
		// one of the other byte order (s390x) beside it.
		if rc := C.seccomp_arch_remove(ctx, C.SCMP_ARCH_NATIVE); rc < 0 {
			return 0, fmt.Errorf("seccomp_arch_remove(native): %w", syscall.Errno(-rc))
		}
		if rc := C.seccomp_arch_add(ctx, token); rc < 0 {
			return 0, fmt.Errorf("seccomp_arch_add(%s): %w", f.Arch, syscall.Errno(-rc))
		}
	}
	attrs := []struct {
		attr C.enum_scmp_filter_attr
		v    C.uint32_t
	}{
		{C.SCMP_FLTATR_ACT_BADARCH, C.uint32_t(policy.RetKillProcess)},
		{C.SCMP_FLTATR_CTL_NNP, 0},
		{C.SCMP_FLTATR_CTL_OPTIMIZE, C.uint32_t(l.optimize)},
	}
	for _, a := range attrs {
		if rc := C.seccomp_attr_set(ctx, a.attr, a.v); rc < 0 {
			return 0, fmt.Errorf("seccomp_attr_set(%d, %d): %w", a.attr, a.v, syscall.Errno(-rc))
		}
	}
	return token, nil
}

// number is the number libseccomp takes for syscall s of the target
// architecture: libseccomp reads rule numbers as the native
// architecture's (or its pseudo numbers) and translates them by name, so
// the name is resolved natively; a name libseccomp does not know keeps
// its number when the target is native.
func (l libseccomp) number(token C.uint32_t, s clauses.Syscall) (C.int, error) {
	cname := C.CString(s.Name)
	defer C.free(unsafe.Pointer(cname))
	if target := C.seccomp_syscall_resolve_name_arch(token, cname); target == C.__NR_SCMP_ERROR {
		if token == C.seccomp_arch_native() {
			return C.int(s.Nr), nil
		}
		return 0, fmt.Errorf("libseccomp %s does not know syscall %s", libseccompVersion(), s.Name)
	} else if uint32(target) != s.Nr {
		return 0, fmt.Errorf("libseccomp numbers %s %d, fencer %d", s.Name, target, s.Nr)
	}
	return C.seccomp_syscall_resolve_name(cname), nil
}

// addSyscall adds one rule per action and clause of s.
func (l libseccomp) addSyscall(ctx C.scmp_filter_ctx, token C.uint32_t, s clauses.Syscall) error {
	nr, err := l.number(token, s)
	if err != nil {
		return err
	}
	for _, a := range s.Actions {
		var split []clauses.Clause
		for _, cl := range a.Clauses {
			split = append(split, clauses.SplitRanges(cl)...)
		}
		for _, cl := range split {
			cmps, err := scmpArgs(cl)
			if err != nil {
				return fmt.Errorf("syscall %s: %w", s.Name, err)
			}
			var p *C.struct_scmp_arg_cmp
			if len(cmps) > 0 {
				p = &cmps[0]
			}
			if rc := C.seccomp_rule_add_array(ctx, C.uint32_t(a.Action.Ret()), nr, C.uint(len(cmps)), p); rc < 0 {
				return fmt.Errorf("seccomp_rule_add_array(%s, %s, %d comparisons): %w", s.Name, a.Action, len(cmps), syscall.Errno(-rc))
			}
		}
	}
	return nil
}

// scmpArgs is one clause as libseccomp's comparisons: SCMP_CMP_MASKED_EQ
// for a masked equality, the plain operator otherwise. libseccomp takes
// one comparison per argument in a rule.
func scmpArgs(cl clauses.Clause) ([]C.struct_scmp_arg_cmp, error) {
	seen := map[int]bool{}
	out := make([]C.struct_scmp_arg_cmp, 0, len(cl))
	for _, t := range cl {
		if seen[t.Arg] {
			return nil, fmt.Errorf("libseccomp takes one comparison of arg%d per rule; the policy needs a range", t.Arg)
		}
		seen[t.Arg] = true
		c := C.struct_scmp_arg_cmp{arg: C.uint(t.Arg), op: scmpOps[t.Op], datum_a: C.scmp_datum_t(t.Value)}
		if t.Masked() {
			c.op, c.datum_a, c.datum_b = C.SCMP_CMP_MASKED_EQ, C.scmp_datum_t(t.Mask), C.scmp_datum_t(t.Value)
		}
		out = append(out, c)
	}
	return out, nil
}

// exportBPF is seccomp_export_bpf of ctx, decoded. libseccomp writes the
// instructions in the byte order of the machine it runs on, for the
// architectures of that order.
func exportBPF(ctx C.scmp_filter_ctx) (bpf.Program, error) {
	return exportBPFIn(ctx, binary.NativeEndian)
}

// exportBPFIn is exportBPF of a filter whose architecture's byte order is
// order, which libseccomp writes its instructions in.
func exportBPFIn(ctx C.scmp_filter_ctx, order binary.ByteOrder) (bpf.Program, error) {
	fd := C.bench_export(ctx)
	if fd < 0 {
		return nil, fmt.Errorf("seccomp_export_bpf: %w", syscall.Errno(-fd))
	}
	file := os.NewFile(uintptr(fd), "bench-bpf")
	defer file.Close()
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(file)
	if err != nil {
		return nil, err
	}
	return bpf.Decode(raw, order)
}

// libseccompNames lists the names of f's syscalls that libseccomp knows
// natively, for the C exporter.
func libseccompNames(f *policy.Filter) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range f.Rules {
		cname := C.CString(r.Syscall)
		known := C.seccomp_syscall_resolve_name(cname) != C.__NR_SCMP_ERROR
		C.free(unsafe.Pointer(cname))
		if known && !seen[r.Syscall] {
			seen[r.Syscall] = true
			out = append(out, r.Syscall)
		}
	}
	return out
}
