package host

import (
	"context"
	"io/fs"
	"time"
)

// The file operations of a host (Reader, Target), which LocalHost and
// RootHost get from the files they embed: each fails at once, naming the
// host, when its context has ended, and otherwise does its work on the
// machine itself or under the -root directory. Like every file operation
// they refuse a path through a directory that is a symbolic link, unless
// that directory is one of the unit search path (or a parent of one);
// under a root directory a link is followed only inside the tree.

// ReadFile returns a file's content and mode. A symbolic link in the final
// component is followed (inside the tree); one to /dev/null reads as
// empty.
func (f *files) ReadFile(ctx context.Context, path string) ([]byte, fs.FileMode, error) {
	if err := ctxErr(ctx, f.host); err != nil {
		return nil, 0, err
	}
	return f.readFile(path)
}

// FileMode returns the mode ReadFile would return, without reading the
// file.
func (f *files) FileMode(ctx context.Context, path string) (fs.FileMode, error) {
	if err := ctxErr(ctx, f.host); err != nil {
		return 0, err
	}
	return f.fileMode(path)
}

// ReadDir lists a directory's entry names, sorted.
func (f *files) ReadDir(ctx context.Context, path string) ([]string, error) {
	if err := ctxErr(ctx, f.host); err != nil {
		return nil, err
	}
	return f.readDir(path)
}

// WriteFile replaces path atomically (Target.WriteFile). On the machine
// in system scope the file is owned by root:root; in user scope, and
// under a root directory, by whoever runs fencer.
func (f *files) WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode) error {
	if err := ctxErr(ctx, f.host); err != nil {
		return err
	}
	return f.writeFile(path, data, mode)
}

// Remove deletes path and fsyncs its directory.
func (f *files) Remove(ctx context.Context, path string) error {
	if err := ctxErr(ctx, f.host); err != nil {
		return err
	}
	return f.remove(path)
}

// Links returns the symbolic links in a directory with their targets
// resolved as systemd resolves links in unit directories, inside the tree
// under a root directory (Reader).
func (f *files) Links(ctx context.Context, dir string) (map[string]string, error) {
	if err := ctxErr(ctx, f.host); err != nil {
		return nil, err
	}
	return f.links(dir)
}

// ModTime returns when the file at path was last written, for verify's
// "restart needed" check.
func (f *files) ModTime(ctx context.Context, path string) (time.Time, error) {
	if err := ctxErr(ctx, f.host); err != nil {
		return time.Time{}, err
	}
	return f.modTime(path)
}
