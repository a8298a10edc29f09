package codecheck

import (
	"fmt"
	"go/ast"
	"sort"
	"testing"
)

// tableLike are the functions allowed more than MaxFuncLines lines, by
// file and name, each with why: a function that is one table or one
// dispatch over cases, which reads best whole, and which splitting would
// only scatter.
var tableLike = map[string]string{
	// The interpreter's loop is one switch over the opcodes, a case each,
	// kept in one function so that each instruction runs without a call
	// (TestVMRunDoesNotAllocate, BenchmarkVMRun).
	"internal/bpf/interp.go (*VM).Run": "the BPF interpreter's opcode switch",
}

// TestFunctionLength fails on a hand-written function (or function
// literal) longer than MaxFuncLines lines that tableLike does not name,
// and on a name of tableLike that no longer needs to be there.
func TestFunctionLength(t *testing.T) {
	var long []string
	used := map[string]bool{}
	for _, f := range sourceFiles(t) {
		ast.Inspect(f.file, func(n ast.Node) bool {
			var body *ast.BlockStmt
			var name string
			switch fn := n.(type) {
			case *ast.FuncDecl:
				body, name = fn.Body, funcName(fn)
			case *ast.FuncLit:
				body, name = fn.Body, fmt.Sprintf("func literal at line %d", f.fset.Position(fn.Pos()).Line)
			default:
				return true
			}
			if body == nil {
				return true
			}
			lines := f.fset.Position(body.End()).Line - f.fset.Position(n.Pos()).Line + 1
			if lines <= MaxFuncLines {
				return true
			}
			key := f.path + " " + name
			if _, ok := tableLike[key]; ok {
				used[key] = true
				return true
			}
			long = append(long, fmt.Sprintf("%s: %d lines", key, lines))
			return true
		})
	}
	sort.Strings(long)
	for _, l := range long {
		t.Errorf("%s, more than %d: break it into named steps, or name it in tableLike with why it is a table", l, MaxFuncLines)
	}
	for key := range tableLike {
		if !used[key] {
			t.Errorf("tableLike names %s, which is not longer than %d lines (or is gone): take it out", key, MaxFuncLines)
		}
	}
}
