package apply

import (
	"context"
	"fmt"
	"os"
	"time"
)

// ModTime returns when the file at path was last written, for verify's
// "restart needed" check.
func (h *LocalHost) ModTime(ctx context.Context, path string) (time.Time, error) {
	return h.files.modTime(path)
}

// ModTime returns when the file at path (under the root) was last written.
func (h *RootHost) ModTime(ctx context.Context, path string) (time.Time, error) {
	return h.files.modTime(path)
}

// Analyze runs systemd-analyze for the host's scope with args.
func (h *LocalHost) Analyze(ctx context.Context, args ...string) ([]byte, error) {
	return runCommand(ctx, h.cmd, "systemd-analyze", append(h.scopeArgs(), args...)...)
}

func (f *files) modTime(p string) (time.Time, error) {
	lp, err := f.local(p)
	if err != nil {
		return time.Time{}, err
	}
	if err := f.checkDirs(p, false); err != nil {
		return time.Time{}, err
	}
	st, err := os.Stat(lp)
	if err != nil {
		return time.Time{}, fmt.Errorf("host %s: %w", f.host, err)
	}
	return st.ModTime(), nil
}
