package loader

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"sync"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/readlimit"
)

// Binary is a fencer executable: what plan installs at a host's
// fencer_path where there is no loader, and what apply checks such a
// plan's loader against and installs. A plan records its Path and hash
// (SHA256), not its bytes.
type Binary struct {
	Data []byte
	// Arch is the architecture it runs on, as fencer names it.
	Arch string
	// Path is where it was read: the running fencer's executable, a
	// -loader file, a file of the loader directories ("" for a stand-in).
	Path string

	sumOnce sync.Once
	sum     string
}

// SHA256 is the SHA-256 of Data in hex, computed once: Data must not
// change after the first call.
func (b *Binary) SHA256() string {
	b.sumOnce.Do(func() {
		s := sha256.Sum256(b.Data)
		b.sum = hex.EncodeToString(s[:])
	})
	return b.sum
}

// Self reads the running fencer, to install as the loader: on Linux the
// executable the kernel runs (/proc/self/exe), whatever has been put at
// its path since; a regular file of at most readlimit.HostFile, which a
// host's copy is read back with.
func Self() (*Binary, error) {
	exe := "/proc/self/exe"
	if runtime.GOOS != "linux" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find the running fencer: %w", err)
		}
	}
	b, err := readlimit.File(exe, readlimit.HostFile, "the loader")
	if err != nil {
		return nil, fmt.Errorf("read the running fencer: %w", err)
	}
	a, ok := arch.Lookup(runtime.GOARCH)
	if !ok {
		return nil, fmt.Errorf("this fencer is built for %s, which fencer does not support as a host", runtime.GOARCH)
	}
	// The path people know it by; what was read is what the kernel runs.
	path, err := os.Executable()
	if err != nil {
		path = exe
	}
	return &Binary{Data: b, Arch: a.Name, Path: path}, nil
}
