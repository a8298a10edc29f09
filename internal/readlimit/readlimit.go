// Package readlimit reads the files fencer is given — configuration files,
// -var-file, file(), plan files, its own binary — the one way that cannot
// hang or grow without bound: only regular files (a FIFO would block for
// ever, /dev/zero never ends), opened without blocking, and no more than a
// limit.
package readlimit

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// HostFile is the largest file fencer reads on a host: unit files,
// drop-ins, filters and the loader at fencer_path (which is fencer
// itself, some 10 MB); and so the largest fencer binary plan installs
// there as the loader, which it reads back.
const HostFile = 64 << 20

// TooLargeError is the error for input over its limit.
type TooLargeError struct {
	// Name is the file's path, or a description such as "standard input".
	Name string
	// Limit is the largest size accepted, in bytes.
	Limit int64
	// What names the kind of input the limit is for ("a configuration
	// file"), for the message.
	What string
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %s, the limit for %s", e.Name, Size(e.Limit), e.What)
}

// ErrNotRegular is what the error for a path that is not a regular file
// wraps.
var ErrNotRegular = errors.New("not a regular file")

// NotRegularError is the error for a path that is not a regular file.
type NotRegularError struct {
	Name string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file", e.Name, Kind(e.Mode))
}

// Unwrap makes errors.Is(err, ErrNotRegular) hold.
func (e *NotRegularError) Unwrap() error { return ErrNotRegular }

// Size spells a limit for people: "4 MiB (4194304 bytes)".
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB (%d bytes)", n>>20, n)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB (%d bytes)", n>>10, n)
	}
	return fmt.Sprintf("%d bytes", n)
}

// File reads the regular file at path, following symbolic links, and
// refuses anything else — a directory, a FIFO, a device, a socket — and a
// file of more than limit bytes. what says what the file is for ("a
// configuration file"), for the errors, which name path.
func File(path string, limit int64, what string) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	// writer; it is refused below, once fstat says what it is.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &NotRegularError{Name: path, Mode: st.Mode()}
	}
	if st.Size() > limit {
		return nil, &TooLargeError{Name: path, Limit: limit, What: what}
	}
	// Read into a buffer of the file's size (one more byte sees its end):
	// io.ReadAll's doubling would allocate the loader, some 14 MB, twice
	// over.
	b := make([]byte, 0, st.Size()+1)
	r := io.LimitReader(f, limit+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // the file grew: let append grow it
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{Name: path, Limit: limit, What: what}
	}
	return b, nil
}

// All reads r to its end, refusing more than limit bytes; name says what r
// is, for the error.
func All(r io.Reader, name string, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{Name: name, Limit: limit, What: what}
	}
	return b, nil
}

// Kind says what a file of mode m is, with its article: "a directory",
// "a FIFO", "a character device".
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsRegular():
		return "a regular file"
	}
	return "not a regular file"
}
