package bpf

import (
	"encoding/binary"
	"encoding/hex"
	"testing"
)

func TestMakeDataLayout(t *testing.T) {
	args := [6]uint64{0x0102030405060708, 1, 2, 3, 4, 0xfffffffffffffffe}
	for _, tc := range []struct {
		order binary.ByteOrder
		want  string // hex of the 64 bytes
	}{
		{binary.LittleEndian, "" +
			"3b000000" + "3e0000c0" + "8877665544332211" +
			"0807060504030201" + "0100000000000000" + "0200000000000000" +
			"0300000000000000" + "0400000000000000" + "feffffffffffffff"},
		{binary.BigEndian, "" +
			"0000003b" + "c000003e" + "1122334455667788" +
			"0102030405060708" + "0000000000000001" + "0000000000000002" +
			"0000000000000003" + "0000000000000004" + "fffffffffffffffe"},
	} {
		d := MakeData(59, 0xc000003e, 0x1122334455667788, args, tc.order)
		if got := hex.EncodeToString(d[:]); got != tc.want {
			t.Errorf("%v:\n got %s\nwant %s", tc.order, got, tc.want)
		}
	}
}

func TestMakeDataNegativeNr(t *testing.T) {
	d := MakeData(-1, 0, 0, [6]uint64{}, binary.LittleEndian)
	if got := binary.LittleEndian.Uint32(d[OffNr:]); got != 0xffffffff {
		t.Errorf("nr -1 stored as %#x, want 0xffffffff", got)
	}
}

func TestMakeDataNilOrderIsNative(t *testing.T) {
	args := [6]uint64{7, 8, 9, 10, 11, 12}
	if MakeData(1, 2, 3, args, nil) != MakeData(1, 2, 3, args, binary.NativeEndian) {
		t.Error("nil order does not lay out data as binary.NativeEndian does")
	}
}

// The words ArgLow and ArgHigh name must be the halves MakeData stores,
// in every byte order: NativeEndian is the one it is.
func TestArgWordsMatchMakeData(t *testing.T) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian, binary.NativeEndian} {
		var args [6]uint64
		for i := range args {
			args[i] = uint64(0x10+i)<<32 | uint64(0x20+i)
		}
		d := MakeData(0, 0, 0, args, order)
		for i := range args {
			if got := order.Uint32(d[ArgLow(i, order):]); got != uint32(0x20+i) {
				t.Errorf("%v: word at ArgLow(%d) = %#x, want %#x", order, i, got, 0x20+i)
			}
			if got := order.Uint32(d[ArgHigh(i, order):]); got != uint32(0x10+i) {
				t.Errorf("%v: word at ArgHigh(%d) = %#x, want %#x", order, i, got, 0x10+i)
			}
		}
	}
}

func TestIsBigEndian(t *testing.T) {
	if big, err := isBigEndian(binary.BigEndian); !big || err != nil {
		t.Errorf("BigEndian: %v, %v", big, err)
	}
	if big, err := isBigEndian(binary.LittleEndian); big || err != nil {
		t.Errorf("LittleEndian: %v, %v", big, err)
	}
	if _, err := isBigEndian(binary.NativeEndian); err != nil {
		t.Errorf("NativeEndian: %v", err)
	}
	if _, err := isBigEndian(nil); err == nil {
		t.Error("nil order accepted")
	}
	if _, err := isBigEndian(middleEndian{}); err == nil {
		t.Error("middle-endian order accepted")
	}
}

// middleEndian is a ByteOrder that is neither little nor big endian.
type middleEndian struct{ binary.ByteOrder }

func (middleEndian) Uint32(b []byte) uint32 {
	return uint32(b[1])<<24 | uint32(b[0])<<16 | uint32(b[3])<<8 | uint32(b[2])
}
func (middleEndian) String() string { return "middleEndian" }
