package fuzzrand

import "testing"

func TestSource(t *testing.T) {
	s := New([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	if got := s.Uint64(); got != 0x0102030405060708 {
		t.Errorf("first = %#x", got)
	}
	if got := s.Uint64(); got != 0x0900000000000000 {
		t.Errorf("second = %#x (the rest, zero-padded)", got)
	}
	if got := s.Int63(); got != 0 {
		t.Errorf("past the end = %#x", got)
	}
}
