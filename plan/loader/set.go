package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/readlimit"
)

// Set is the fencer binaries fencer installs as the loader, one per
// architecture: the running fencer for its own, those given with
// -loader=ARCH=PATH (Add), and for an architecture neither covers, the
// file fencer-ARCH in the first of Dirs that has one. Over SSH, the
// binary for a host's architecture is also the agent fencer runs there.
// It is safe for concurrent use.
type Set struct {
	// Self is the running fencer; nil reads it (Self) when first needed.
	// Tests set a stand-in.
	Self *Binary
	// Dirs are where binaries named fencer-ARCH are looked for, in order
	// (DefaultDirs).
	Dirs []string

	mu     sync.Mutex
	byArch map[string]*Binary
	selfOK bool
}

// DefaultDirs are the directories a Set looks in for a loader that
// -loader does not give: $XDG_DATA_HOME/fencer/loaders (by default
// ~/.local/share/fencer/loaders) of the user running fencer, then
// /usr/local/lib/fencer/loaders.
func DefaultDirs() []string {
	var dirs []string
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		dirs = append(dirs, filepath.Join(d, "fencer", "loaders"))
	} else if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
		dirs = append(dirs, filepath.Join(h, ".local", "share", "fencer", "loaders"))
	}
	return append(dirs, "/usr/local/lib/fencer/loaders")
}

// NewSet returns the set of the running fencer and the binaries in
// DefaultDirs.
func NewSet() *Set { return &Set{Dirs: DefaultDirs()} }

// SetOf returns a set holding b as its only binary (tests, and callers
// with one binary).
func SetOf(b *Binary) *Set { return &Set{Self: b, selfOK: true} }

// Add reads the fencer binary at path for the architecture archName
// (any spelling arch.Lookup knows), checking from its ELF header that it
// runs there.
func (s *Set) Add(archName, path string) error {
	a, ok := arch.Lookup(archName)
	if !ok {
		return fmt.Errorf("-loader %s=%s: %q is not an architecture fencer knows (%s)", archName, path, archName, strings.Join(arch.Names(), ", "))
	}
	b, err := readBinary(a, path)
	if err != nil {
		return fmt.Errorf("-loader %s=%s: %w", archName, path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byArch == nil {
		s.byArch = map[string]*Binary{}
	}
	if _, dup := s.byArch[a.Name]; dup {
		return fmt.Errorf("-loader %s=%s: a loader for %s was given already", archName, path, a.Name)
	}
	s.byArch[a.Name] = b
	return nil
}

// readBinary reads a fencer binary for a and checks its ELF header.
func readBinary(a *arch.Arch, path string) (*Binary, error) {
	data, err := readlimit.File(path, readlimit.HostFile, "the loader")
	if err != nil {
		return nil, err
	}
	if err := CheckELF(data, a); err != nil {
		return nil, err
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return &Binary{Data: data, Arch: a.Name, Path: path}, nil
}

// elfMachines are the ELF machine of each architecture.
var elfMachines = map[string]elf.Machine{
	"x86_64": elf.EM_X86_64, "aarch64": elf.EM_AARCH64, "i386": elf.EM_386, "arm": elf.EM_ARM,
	"riscv64": elf.EM_RISCV, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390,
}

// CheckELF checks that data is a Linux executable for a: its ELF machine,
// class (32 or 64 bits) and byte order.
func CheckELF(data []byte, a *arch.Arch) error {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not an ELF executable: %v", err)
	}
	want := fmt.Sprintf("%s, %d-bit, %s", elfMachines[a.Name], a.Bits, order(a.Order))
	class := elf.ELFCLASS64
	if a.Bits == 32 {
		class = elf.ELFCLASS32
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if f.Data == elf.ELFDATA2MSB {
		bo = binary.BigEndian
	}
	got := fmt.Sprintf("%s, %d-bit, %s", f.Machine, map[elf.Class]int{elf.ELFCLASS32: 32, elf.ELFCLASS64: 64}[f.Class], order(bo))
	if f.Machine != elfMachines[a.Name] || f.Class != class || bo != a.Order {
		return fmt.Errorf("it is an executable for %s, not for %s (%s)", got, a.Name, want)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("it is an ELF file of type %s, not an executable", f.Type)
	}
	return nil
}

func order(bo binary.ByteOrder) string {
	if bo == binary.BigEndian {
		return "big-endian"
	}
	return "little-endian"
}

// MissingError is the error of For when the set has no binary for an
// architecture.
type MissingError struct {
	Arch string
	// Dirs are the directories looked in.
	Dirs []string
}

func (e *MissingError) Error() string {
	where := ""
	if len(e.Dirs) > 0 {
		var files []string
		for _, d := range e.Dirs {
			files = append(files, filepath.Join(d, "fencer-"+e.Arch))
		}
		where = ", nor at " + strings.Join(files, " or ")
	}
	return fmt.Sprintf("this fencer has no fencer binary for %s to install as the loader (no -loader %s=PATH%s); build one with\n  %s\nand give it with -loader %s=fencer-%s",
		e.Arch, e.Arch, where, BuildCommand(e.Arch), e.Arch, e.Arch)
}

// BuildCommand is the command that builds fencer for the architecture
// archName, from fencer's source directory.
func BuildCommand(archName string) string {
	env := map[string]string{
		"x86_64": "GOARCH=amd64", "aarch64": "GOARCH=arm64", "i386": "GOARCH=386", "arm": "GOARCH=arm GOARM=7",
		"riscv64": "GOARCH=riscv64", "ppc64le": "GOARCH=ppc64le", "s390x": "GOARCH=s390x",
	}[archName]
	return fmt.Sprintf("CGO_ENABLED=0 GOOS=linux %s go build -o fencer-%s ./cmd/fencer", env, archName)
}

// For returns the binary for the architecture archName (fencer's name):
// the running fencer's own, one given with Add, or fencer-ARCH in Dirs;
// a *MissingError when there is none.
func (s *Set) For(archName string) (*Binary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.byArch[archName]; b != nil {
		return b, nil
	}
	if !s.selfOK {
		s.selfOK = true
		if s.Self == nil {
			self, err := Self()
			if err != nil && len(s.byArch) == 0 && len(s.Dirs) == 0 {
				return nil, err
			}
			s.Self = self
		}
	}
	if s.Self != nil && s.Self.Arch == archName {
		return s.Self, nil
	}
	a, ok := arch.Lookup(archName)
	if !ok {
		return nil, fmt.Errorf("%q is not an architecture fencer knows", archName)
	}
	for _, d := range s.Dirs {
		p := filepath.Join(d, "fencer-"+a.Name)
		b, err := readBinary(a, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("the loader for %s at %s: %w", a.Name, p, err)
		}
		if s.byArch == nil {
			s.byArch = map[string]*Binary{}
		}
		s.byArch[a.Name] = b
		return b, nil
	}
	return nil, &MissingError{Arch: a.Name, Dirs: s.Dirs}
}
