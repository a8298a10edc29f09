//go:build !linux

package loader

import (
	"fmt"
	"os"
	"runtime"
)

// readFilterFile reads a filter file; see the Linux version.
func readFilterFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read filter file: %w", err)
	}
	if len(data) > maxFilterBytes {
		return nil, fmt.Errorf("filter file %s is longer than %d bytes, the longest program the kernel accepts", path, maxFilterBytes)
	}
	return data, nil
}

// exec fails: seccomp filters exist on Linux only.
func (p *prepared) exec() error {
	return loaderErr(ExitError, "cannot install a seccomp filter on %s: fencer exec runs on Linux only", runtime.GOOS)
}
