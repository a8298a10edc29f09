package main

/*
#include <stdlib.h>
#include <seccomp.h>
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"slices"
	"syscall"
	"unsafe"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
)

// This file loads an OCI seccomp profile into libseccomp the way Docker
// does, written from moby's and runc's code rather than sharing
// internal/oci's reader, so that the verdict tests compare two readings
// of the profile: dockerd keeps the entries whose includes and excludes
// hold for the daemon's architecture, capabilities and kernel
// (setupSeccomp), and runc adds each name of each entry with
// seccomp_rule_add (matchCall): unknown names skipped, an entry with the
// default's action dropped, EPERM for an errno without errnoRet, and
// comparisons of one argument named twice added as rules of their own.

// ociProfile is the JSON of a profile.
type ociProfile struct {
	DefaultAction   string  `json:"defaultAction"`
	DefaultErrnoRet *uint64 `json:"defaultErrnoRet"`
	Syscalls        []struct {
		Name     string   `json:"name"`
		Names    []string `json:"names"`
		Action   string   `json:"action"`
		ErrnoRet *uint64  `json:"errnoRet"`
		Args     []struct {
			Index    uint   `json:"index"`
			Value    uint64 `json:"value"`
			ValueTwo uint64 `json:"valueTwo"`
			Op       string `json:"op"`
		} `json:"args"`
		Includes *ociCond `json:"includes"`
		Excludes *ociCond `json:"excludes"`
	} `json:"syscalls"`
}

type ociCond struct {
	Arches    []string `json:"arches"`
	Caps      []string `json:"caps"`
	MinKernel string   `json:"minKernel"`
}

// ociDaemonArch is moby's name for the daemon's architecture.
var ociDaemonArch = map[string]string{"x86_64": "amd64", "aarch64": "arm64", "i386": "x86", "arm": "arm",
	"riscv64": "riscv64", "ppc64le": "ppc64le", "s390x": "s390x"}

// ociActions are runc's actions: SCMP_ACT_KILL is libseccomp's
// SCMP_ACT_KILL_THREAD.
var ociActions = map[string]uint32{
	"SCMP_ACT_ALLOW": C.SCMP_ACT_ALLOW, "SCMP_ACT_LOG": C.SCMP_ACT_LOG, "SCMP_ACT_TRAP": C.SCMP_ACT_TRAP,
	"SCMP_ACT_KILL": C.SCMP_ACT_KILL_THREAD, "SCMP_ACT_KILL_THREAD": C.SCMP_ACT_KILL_THREAD,
	"SCMP_ACT_KILL_PROCESS": C.SCMP_ACT_KILL_PROCESS, "SCMP_ACT_ERRNO": 0x00050000,
}

var ociOps = map[string]C.enum_scmp_compare{
	"SCMP_CMP_NE": C.SCMP_CMP_NE, "SCMP_CMP_LT": C.SCMP_CMP_LT, "SCMP_CMP_LE": C.SCMP_CMP_LE,
	"SCMP_CMP_EQ": C.SCMP_CMP_EQ, "SCMP_CMP_GE": C.SCMP_CMP_GE, "SCMP_CMP_GT": C.SCMP_CMP_GT,
	"SCMP_CMP_MASKED_EQ": C.SCMP_CMP_MASKED_EQ,
}

// ociMaxErrno is the largest errno libseccomp 2.5.4 takes.
const ociMaxErrno = 4094

// ociAction is runc's action value: errno's code is an int16 (EPERM when
// not given), which libseccomp keeps the low 16 bits of.
func ociAction(name string, errnoRet *uint64) (uint32, error) {
	a, ok := ociActions[name]
	if !ok {
		return 0, fmt.Errorf("action %s: runc cannot say it here", name)
	}
	if name == "SCMP_ACT_ERRNO" {
		code := uint64(syscall.EPERM)
		if errnoRet != nil {
			code = *errnoRet
		}
		// libseccomp 2.5.4 refuses a code from MAX_ERRNO (4095) up
		// with EINVAL, where runc fails; the kernel would return 4095.
		// The tests take 4094 for it and count such verdicts apart.
		a |= uint32(min(code&0xffff, ociMaxErrno))
	}
	return a, nil
}

// ociKeeps is moby's filter: whether dockerd keeps an entry on a daemon
// of architecture native with capabilities caps (the kernel newer than
// any minKernel).
func ociKeeps(in, ex *ociCond, native string, caps []string) bool {
	if ex != nil {
		if slices.Contains(ex.Arches, native) || ex.MinKernel != "" {
			return false
		}
		for _, c := range ex.Caps {
			if slices.Contains(caps, c) {
				return false
			}
		}
	}
	if in != nil {
		if len(in.Arches) > 0 && !slices.Contains(in.Arches, native) {
			return false
		}
		for _, c := range in.Caps {
			if !slices.Contains(caps, c) {
				return false
			}
		}
	}
	return true
}

// libseccompOCI is the program libseccomp makes of profile for a daemon
// on a with capabilities caps: the filter for a's ABI alone, as a
// profile's archMap without sub-architectures gives it.
func libseccompOCI(profile []byte, a *arch.Arch, caps []string) (bpf.Program, error) {
	var p ociProfile
	if err := json.Unmarshal(profile, &p); err != nil {
		return nil, err
	}
	def, err := ociAction(p.DefaultAction, p.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	ctx := C.seccomp_init(C.uint32_t(def))
	if ctx == nil {
		return nil, fmt.Errorf("seccomp_init(%#x) failed", def)
	}
	defer C.seccomp_release(ctx)
	token, err := (libseccomp{optimize: 2}).setUp(ctx, &policy.Filter{Arch: a.Name})
	if err != nil {
		return nil, err
	}
	for _, s := range p.Syscalls {
		if !ociKeeps(s.Includes, s.Excludes, ociDaemonArch[a.Name], caps) {
			continue
		}
		act, err := ociAction(s.Action, s.ErrnoRet)
		if err != nil {
			return nil, err
		}
		if act == def {
			continue
		}
		var cmps []C.struct_scmp_arg_cmp
		repeated := map[uint]int{}
		for _, x := range s.Args {
			cmps = append(cmps, C.struct_scmp_arg_cmp{arg: C.uint(x.Index), op: ociOps[x.Op],
				datum_a: C.scmp_datum_t(x.Value), datum_b: C.scmp_datum_t(x.ValueTwo)})
			repeated[x.Index]++
		}
		groups := [][]C.struct_scmp_arg_cmp{cmps}
		for _, n := range repeated {
			if n > 1 {
				groups = nil
				for _, c := range cmps {
					groups = append(groups, []C.struct_scmp_arg_cmp{c})
				}
				break
			}
		}
		names := s.Names
		if s.Name != "" {
			names = []string{s.Name}
		}
		for _, name := range names {
			if err := ociAddRule(ctx, token, act, name, groups); err != nil {
				return nil, err
			}
		}
	}
	return exportBPFIn(ctx, a.Order)
}

// ociAddRule adds name's rules, skipping a name libseccomp does not know
// on the target architecture, as runc skips one it cannot resolve.
func ociAddRule(ctx C.scmp_filter_ctx, token C.uint32_t, act uint32, name string, groups [][]C.struct_scmp_arg_cmp) error {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	if nr := C.seccomp_syscall_resolve_name_arch(token, cname); nr < 0 {
		return nil
	}
	nr := C.seccomp_syscall_resolve_name(cname)
	if nr == C.__NR_SCMP_ERROR {
		return nil
	}
	for _, g := range groups {
		var p *C.struct_scmp_arg_cmp
		if len(g) > 0 {
			p = &g[0]
		}
		if rc := C.seccomp_rule_add_array(ctx, C.uint32_t(act), nr, C.uint(len(g)), p); rc < 0 {
			return fmt.Errorf("seccomp_rule_add_array(%s, %#x, %d comparisons): %w", name, act, len(g), syscall.Errno(-rc))
		}
	}
	return nil
}

// libseccompKnows reports whether libseccomp knows syscall name on a.
func libseccompKnows(a *arch.Arch, name string) bool {
	archName := a.Name
	if n, ok := libseccompArch[archName]; ok {
		archName = n
	}
	ca, cn := C.CString(archName), C.CString(name)
	defer C.free(unsafe.Pointer(ca))
	defer C.free(unsafe.Pointer(cn))
	token := C.seccomp_arch_resolve_name(ca)
	return token != 0 && C.seccomp_syscall_resolve_name_arch(token, cn) >= 0
}
