package plan

import "github.com/fencer-dev/fencer/plan/loader"

// File is one file fencer wants on a host.
type File struct {
	Path    string
	Content []byte
	// Loader is, for the loader, the binary to install: the plan
	// records its path, size and hash, and Content is nil.
	Loader *loader.Binary
	Mode   uint32
	// Binary files are shown by size and hash, text files by a diff.
	Binary bool
	// Units lists the units whose behaviour the file changes.
	Units []string
	// Role says what the file is, and so where it stands, its mode, the
	// order apply writes it in and what destroy does with it.
	Role Role
	// Remove says the file must not exist: it is deleted where it does
	// (a filter a service no longer uses).
	Remove bool
}

// sha256 is the hash of the file's content.
func (f *File) sha256() string {
	if f.Loader != nil {
		return f.Loader.SHA256()
	}
	return Hash(f.Content)
}
