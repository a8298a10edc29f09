// Package codecheck holds tests of the module's source as a whole, which
// keep what the project says of its code true as the code moves: that no
// hand-written function is longer than MaxFuncLines but the table-like
// ones its allow-list names (funclen_test.go), and that every function
// docs/architecture.md names exists (architecture_test.go). It has no
// code of its own.
package codecheck

// MaxFuncLines is the most lines a hand-written function may have, from
// its func keyword to its closing brace.
const MaxFuncLines = 100
