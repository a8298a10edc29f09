// Package procseccomp inspects the seccomp state of a running process on
// Linux: what /proc/PID/status says about it, when the process started,
// and the classic BPF programs of its filters, read back from the kernel
// with ptrace(PTRACE_SECCOMP_GET_FILTER).
//
// Seccomp state is per thread. A PID names one thread: for a process ID,
// its main thread, which for a service started by fencer's loader is the
// thread that installed the filter and executed the service (every thread
// the service creates afterwards inherits the same filters).
//
// Errors for a process that does not exist, or has exited and is waiting
// to be reaped, match syscall.ESRCH (errors.Is).
package procseccomp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/fencer-dev/fencer/internal/bpf"
)

// Seccomp modes, as /proc/PID/status reports them in Seccomp:.
const (
	ModeDisabled = 0 // SECCOMP_MODE_DISABLED
	ModeStrict   = 1 // SECCOMP_MODE_STRICT
	ModeFilter   = 2 // SECCOMP_MODE_FILTER
)

// Status is what /proc/PID/status says about seccomp.
type Status struct {
	// Mode is the Seccomp: field: ModeDisabled, ModeStrict or ModeFilter.
	Mode int
	// Filters is the Seccomp_filters: field, the number of filters
	// attached (Linux 5.9 and later), or -1 when the kernel does not
	// report it.
	Filters int
	// NoNewPrivs is the NoNewPrivs: field.
	NoNewPrivs bool
}

// ErrNotPermitted is matched (errors.Is) by the error of Filters when this
// process may not read the filters of the other one: it lacks
// CAP_SYS_ADMIN, runs under a seccomp filter itself, may not ptrace the
// process, or the process is already traced by someone else. Callers fall
// back to other evidence (ReadStatus, StartTime).
var ErrNotPermitted = errors.New("not permitted")

// ErrUnsupported is matched (errors.Is) by the error of Filters when the
// kernel cannot return seccomp filters (built without
// CONFIG_CHECKPOINT_RESTORE, or older than Linux 4.4). It is
// errors.ErrUnsupported. Callers fall back as for ErrNotPermitted.
var ErrUnsupported = errors.ErrUnsupported

// ReadStatus reads the seccomp fields of /proc/PID/status.
func ReadStatus(pid int) (Status, error) {
	st, err := readStatus(pid)
	if err != nil {
		return Status{}, fmt.Errorf("read seccomp status of pid %d: %w", pid, err)
	}
	return st, nil
}

func readStatus(pid int) (Status, error) {
	fields, err := statusFields(pid, "Seccomp", "Seccomp_filters", "NoNewPrivs")
	if err != nil {
		return Status{}, err
	}
	st := Status{Filters: -1}
	mode, ok := fields["Seccomp"]
	if !ok {
		return Status{}, errors.New("/proc/PID/status has no Seccomp field (kernel built without CONFIG_SECCOMP?)")
	}
	if st.Mode, err = strconv.Atoi(mode); err != nil || st.Mode < ModeDisabled || st.Mode > ModeFilter {
		return Status{}, fmt.Errorf("unexpected Seccomp field %q", mode)
	}
	if n, ok := fields["Seccomp_filters"]; ok {
		if st.Filters, err = strconv.Atoi(n); err != nil || st.Filters < 0 {
			return Status{}, fmt.Errorf("unexpected Seccomp_filters field %q", n)
		}
	}
	switch nnp := fields["NoNewPrivs"]; nnp {
	case "0", "":
	case "1":
		st.NoNewPrivs = true
	default:
		return Status{}, fmt.Errorf("unexpected NoNewPrivs field %q", nnp)
	}
	return st, nil
}

// statusFields returns the values of the named fields of
// /proc/PID/status; fields the kernel does not report are absent.
func statusFields(pid int, names ...string) (map[string]string, error) {
	b, err := readProc(pid, "status")
	if err != nil {
		return nil, err
	}
	return parseStatus(b, names...), nil
}

// parseStatus returns the values of the named fields of a status file.
func parseStatus(b []byte, names ...string) map[string]string {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	out := make(map[string]string, len(names))
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if ok && want[name] {
			out[name] = strings.TrimSpace(value)
		}
	}
	return out
}

// readProc reads /proc/PID/name. A process that does not exist, or
// vanishes while the file is read, gives an error matching ESRCH.
func readProc(pid int, name string) ([]byte, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("%d is not a process ID", pid)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return nil, syscall.ESRCH
	}
	return b, err
}

// procStat holds the fields of /proc/PID/stat this package uses.
type procStat struct {
	comm      string
	state     byte   // field 3: R, S, D, Z, T, t, X, ...
	startTime uint64 // field 22, in clock ticks since boot
}

func readStat(pid int) (procStat, error) {
	b, err := readProc(pid, "stat")
	if err != nil {
		return procStat{}, err
	}
	return parseStat(string(b))
}

// parseStat parses /proc/PID/stat. The command name (field 2) is in
// parentheses and may itself contain spaces and parentheses, so the fields
// after it are found from the last ')'.
func parseStat(s string) (procStat, error) {
	open := strings.IndexByte(s, '(')
	end := strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("malformed /proc/PID/stat %q", s)
	}
	fields := strings.Fields(s[end+1:]) // fields[0] is field 3
	const first = 3
	if len(fields) < 22-first+1 {
		return procStat{}, fmt.Errorf("malformed /proc/PID/stat: %d fields", len(fields)+first-1)
	}
	st := procStat{comm: s[open+1 : end]}
	if len(fields[0]) != 1 {
		return procStat{}, fmt.Errorf("malformed /proc/PID/stat: state %q", fields[0])
	}
	st.state = fields[0][0]
	start, err := strconv.ParseUint(fields[22-first], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("malformed /proc/PID/stat: starttime %q", fields[22-first])
	}
	st.startTime = start
	return st, nil
}

// Compare compares two programs instruction by instruction. It returns
// (-1, true) when they are equal, and otherwise false with the index of
// the first instruction that differs; when one program is a prefix of the
// other that is the length of the shorter one.
func Compare(a, b bpf.Program) (pc int, equal bool) {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i, false
		}
	}
	if len(a) != len(b) {
		return n, false
	}
	return -1, true
}
