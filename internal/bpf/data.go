package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MakeData lays out struct seccomp_data as the kernel fills it in on a
// machine of the given byte order:
//
//	struct seccomp_data {
//		int   nr;                  // offset 0
//		__u32 arch;                // offset 4
//		__u64 instruction_pointer; // offset 8
//		__u64 args[6];             // offset 16, 24, ... 56
//	};
//
// Every field is stored in that byte order, so the low 32 bits of a 64-bit
// field come first on a little-endian machine and second on a big-endian
// one (see ArgLow and ArgHigh). A nil order means binary.NativeEndian.
func MakeData(nr int32, arch uint32, ip uint64, args [6]uint64, order binary.ByteOrder) [DataSize]byte {
	if order == nil {
		order = binary.NativeEndian
	}
	var d [DataSize]byte
	order.PutUint32(d[OffNr:], uint32(nr))
	order.PutUint32(d[OffArch:], arch)
	order.PutUint64(d[OffIP:], ip)
	for i, a := range args {
		order.PutUint64(d[OffArgs+8*i:], a)
	}
	return d
}

// isBigEndian tells the two byte orders apart by what they do, so that
// binary.NativeEndian and other implementations work as well as
// binary.LittleEndian and binary.BigEndian.
func isBigEndian(order binary.ByteOrder) (bool, error) {
	if order == nil {
		return false, errors.New("no byte order given")
	}
	b := []byte{1, 2, 3, 4}
	switch v := order.Uint32(b); v {
	case 0x01020304:
		return true, nil
	case 0x04030201:
		return false, nil
	default:
		return false, fmt.Errorf("byte order %v reads 01 02 03 04 as %#x: neither big nor little endian", order, v)
	}
}
