package procseccomp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"
)

// atExecFn is AT_EXECFN (linux/auxvec.h): the address of the file name
// execve was given, which the kernel copies to the top of the new stack.
const atExecFn = 31

// maxPath bounds the file name read back: PATH_MAX, NUL included.
const maxPath = 4096

// ExecFn returns the file name the process's last execve was given: for a
// "#!" script the script's, which the kernel passes to the interpreter,
// while /proc/PID/exe names the interpreter; for a path through symbolic
// links the path as given, while /proc/PID/exe names the file they lead
// to.
//
// The address comes from /proc/PID/auxv, the copy of the auxiliary vector
// the kernel keeps for itself; the name is read at that address in the
// process's memory (/proc/PID/mem), which the process can overwrite. Tools
// that rewrite a process's title (setproctitle) overwrite its argument and
// environment strings, which end where this name begins, so they leave it
// alone; a process set on hiding what it runs does not. Reading another
// process's memory needs the right to ptrace it (the same user, or
// CAP_SYS_PTRACE); a tracer already attached does not prevent it.
//
// The vector is read in this process's word size: a process of another
// word size (an i386 program on x86_64) gives an error.
func ExecFn(pid int) (string, error) {
	s, err := execFn(pid)
	if err != nil {
		return "", fmt.Errorf("read the file name pid %d was executed as: %w", pid, err)
	}
	return s, nil
}

func execFn(pid int) (string, error) {
	auxv, err := readProc(pid, "auxv")
	if err != nil {
		return "", err
	}
	addr, err := auxvValue(auxv, atExecFn)
	if err != nil {
		return "", err
	}
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return "", err
	}
	defer mem.Close()
	buf := make([]byte, maxPath)
	if addr > uint64(1<<63-1-maxPath) {
		return "", fmt.Errorf("AT_EXECFN %#x is not a user address", addr)
	}
	n, err := mem.ReadAt(buf, int64(addr))
	if n == 0 && err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the process's memory at AT_EXECFN %#x: %w", addr, err)
	}
	name, _, ok := bytes.Cut(buf[:n], []byte{0})
	if !ok {
		return "", fmt.Errorf("no NUL within %d bytes at AT_EXECFN %#x", n, addr)
	}
	return string(name), nil
}

// auxvValue returns the value of the entry key of an auxiliary vector in
// this process's word size and byte order.
func auxvValue(auxv []byte, key uint64) (uint64, error) {
	word := int(unsafe.Sizeof(uintptr(0)))
	read := func(b []byte) uint64 {
		if word == 4 {
			return uint64(binary.NativeEndian.Uint32(b))
		}
		return binary.NativeEndian.Uint64(b)
	}
	for i := 0; i+2*word <= len(auxv); i += 2 * word {
		k, v := read(auxv[i:]), read(auxv[i+word:])
		if k == 0 { // AT_NULL ends the vector
			break
		}
		if k == key {
			return v, nil
		}
	}
	return 0, fmt.Errorf("/proc/PID/auxv has no entry %d (another word size than this program's?)", key)
}
