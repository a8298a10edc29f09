// Package fuzzrand turns a fuzzer's bytes into a math/rand source, so that
// a fuzz target can draw structured inputs (policies, configurations) with
// the ordinary generators and the fuzzer's mutations mutate their
// structure.
package fuzzrand

// Source is a rand.Source64 that reads its numbers from bytes, eight at a
// time, big-endian; past the end it yields zeros.
type Source struct{ b []byte }

// New returns a Source reading b.
func New(b []byte) *Source { return &Source{b: b} }

// Uint64 returns the next eight bytes as a number.
func (s *Source) Uint64() uint64 {
	var v uint64
	for i := 0; i < 8; i++ {
		v <<= 8
		if len(s.b) > 0 {
			v |= uint64(s.b[0])
			s.b = s.b[1:]
		}
	}
	return v
}

// Int63 is Uint64 without its top bit.
func (s *Source) Int63() int64 { return int64(s.Uint64() >> 1) }

// Seed does nothing: the bytes are the seed.
func (s *Source) Seed(int64) {}
