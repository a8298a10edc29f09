package apply

import (
	"context"
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
