package recorder

import (
	"sync"

	"golang.org/x/sys/unix"
)

// errnos are the errno names strace prints, by name: the C library's and
// the kernel's own restart codes, which a traced call may show.
var errnos = sync.OnceValue(func() map[string]int {
	m := map[string]int{
		"ERESTARTSYS": 512, "ERESTARTNOINTR": 513, "ERESTARTNOHAND": 514,
		"ENOIOCTLCMD": 515, "ERESTART_RESTARTBLOCK": 516,
	}
	for e := 1; e < 512; e++ {
		if name := unix.ErrnoName(unix.Errno(e)); name != "" {
			if _, ok := m[name]; !ok {
				m[name] = e
			}
		}
	}
	// Names glibc and strace spell for numbers x/sys names otherwise.
	m["EWOULDBLOCK"] = int(unix.EAGAIN)
	m["EDEADLOCK"] = int(unix.EDEADLK)
	m["ENOTSUP"] = int(unix.EOPNOTSUPP)
	return m
})

// errnoNumber is the number of errno NAME, 0 when unknown.
func errnoNumber(name string) int { return errnos()[name] }

// signalNumber is the number of signal NAME ("SIGKILL"), 0 when unknown.
func signalNumber(name string) int { return int(unix.SignalNum(name)) }
