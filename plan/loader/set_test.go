package loader

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
)

// fakeELF is the ELF header of an executable for machine, in class and
// byte order: all debug/elf and CheckELF read.
func fakeELF(machine elf.Machine, class elf.Class, bo binary.ByteOrder) []byte {
	size := 64
	if class == elf.ELFCLASS32 {
		size = 52
	}
	b := make([]byte, size)
	copy(b, elf.ELFMAG)
	b[elf.EI_CLASS] = byte(class)
	b[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	if bo == binary.BigEndian {
		b[elf.EI_DATA] = byte(elf.ELFDATA2MSB)
	}
	b[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	bo.PutUint16(b[16:], uint16(elf.ET_EXEC))
	bo.PutUint16(b[18:], uint16(machine))
	bo.PutUint32(b[20:], uint32(elf.EV_CURRENT))
	return b
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSet(t *testing.T) {
	dir := t.TempDir()
	self := &Binary{Data: []byte("self"), Arch: "x86_64"}
	arm64 := writeFile(t, filepath.Join(dir, "fencer-arm64"), fakeELF(elf.EM_AARCH64, elf.ELFCLASS64, binary.LittleEndian))
	s390 := writeFile(t, filepath.Join(dir, "fencer-s390x"), fakeELF(elf.EM_S390, elf.ELFCLASS64, binary.BigEndian))
	armLE32 := writeFile(t, filepath.Join(dir, "fencer-arm"), fakeELF(elf.EM_ARM, elf.ELFCLASS32, binary.LittleEndian))
	s := &Set{Self: self, Dirs: []string{filepath.Join(dir, "loaders")}}
	for _, tc := range []struct{ arch, path, want string }{
		{"arm64", arm64, ""},
		{"s390x", s390, ""},
		{"arm", armLE32, ""},
		{"riscv64", arm64, "it is an executable for EM_AARCH64, 64-bit, little-endian, not for riscv64 (EM_RISCV, 64-bit, little-endian)"},
		{"i386", armLE32, "not for i386"},
		{"ppc64le", s390, "big-endian, not for ppc64le"},
		{"x86_64", filepath.Join(dir, "missing"), "no such file"},
		{"vax", arm64, `"vax" is not an architecture fencer knows`},
		{"aarch64", arm64, "a loader for aarch64 was given already"},
	} {
		err := s.Add(tc.arch, tc.path)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Add(%s, %s) = %v, want %q", tc.arch, tc.path, err, tc.want)
		}
	}
	if b, err := s.For("x86_64"); err != nil || b != self {
		t.Errorf("For(x86_64) = %v, %v; want the running fencer", b, err)
	}
	if b, err := s.For("aarch64"); err != nil || b.Arch != "aarch64" {
		t.Errorf("For(aarch64) = %v, %v", b, err)
	}
	// Not given: the directory, then a message with the build command.
	_, err := s.For("riscv64")
	var missing *MissingError
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), "CGO_ENABLED=0 GOOS=linux GOARCH=riscv64 go build -o fencer-riscv64 ./cmd/fencer") ||
		!strings.Contains(err.Error(), filepath.Join(dir, "loaders", "fencer-riscv64")) {
		t.Errorf("For(riscv64) without one = %v", err)
	}
	if !strings.Contains(BuildCommand("arm"), "GOARCH=arm GOARM=7") {
		t.Errorf("BuildCommand(arm) = %s", BuildCommand("arm"))
	}
	writeFile(t, filepath.Join(dir, "loaders", "fencer-riscv64"), fakeELF(elf.EM_RISCV, elf.ELFCLASS64, binary.LittleEndian))
	if b, err := s.For("riscv64"); err != nil || b.Arch != "riscv64" {
		t.Errorf("For(riscv64) from the directory = %v, %v", b, err)
	}
	writeFile(t, filepath.Join(dir, "loaders", "fencer-ppc64le"), fakeELF(elf.EM_RISCV, elf.ELFCLASS64, binary.LittleEndian))
	if _, err := s.For("ppc64le"); err == nil || !strings.Contains(err.Error(), "not for ppc64le") {
		t.Errorf("For(ppc64le) of a binary for another = %v", err)
	}
}

// TestSelfInSet: the running test binary is an executable for this
// machine, as CheckELF sees it.
func TestSelfInSet(t *testing.T) {
	s := NewSet()
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.For(self.Arch)
	if err != nil || b.Arch != self.Arch {
		t.Fatalf("For(%s) = %v, %v", self.Arch, b, err)
	}
	a, _ := arch.Lookup(self.Arch)
	if err := CheckELF(b.Data, a); err != nil {
		t.Errorf("CheckELF of the running binary: %v", err)
	}
}
