package hclspec

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestVariablePrecedence(t *testing.T) {
	dir := t.TempDir()
	file1 := filepath.Join(dir, "one.fencervars")
	file2 := filepath.Join(dir, "two.json")
	if err := os.WriteFile(file1, []byte("a = \"file1\"\nb = \"file1\"\nc = \"file1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file2, []byte(`{"a": "file2", "b": "file2"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `
variable "a" { default = "default" }
variable "b" { default = "default" }
variable "c" { default = "default" }
variable "d" { default = "default" }
variable "e" { default = "default" }
`
	env := []string{"HOME=/root", "FENCER_VAR_a=env", "FENCER_VAR_b=env", "FENCER_VAR_c=env", "FENCER_VAR_d=env", "FENCER_VAR_unknown=x"}
	opts := LoadOptions{
		Vars:     []string{"a=cli1", "a=cli2"},
		VarFiles: []string{file1, file2},
		Environ:  env,
	}
	cfg := mustParse(t, map[string][]byte{"main.fencer.hcl": []byte(src)}, opts)
	got := map[string]any{}
	for _, v := range cfg.Variables {
		got[v.Name] = v.Value
	}
	want := map[string]any{
		"a": "cli2",    // -var beats everything, the last one wins
		"b": "file2",   // the later -var-file wins
		"c": "file1",   // a -var-file beats the environment
		"d": "env",     // the environment beats the default
		"e": "default", // nothing else given
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("values = %v, want %v", got, want)
	}
}

func TestVariableTypes(t *testing.T) {
	src := `
variable "port" { type = number }
variable "fds" { type = list(number) }
variable "path" { type = string }
variable "any" {}
variable "flag" {
  type    = bool
  default = false
}
locals {
  port_plus = var.port + 1
  names     = [for n in var.fds : format("fd%d", n)]
}
`
	opts := LoadOptions{
		Vars:    []string{"fds=[3, 4]", "path=/var/log/x.log", "any=7999", "flag=true"},
		Environ: []string{"FENCER_VAR_port=7999"},
	}
	cfg := mustParse(t, map[string][]byte{"main.fencer.hcl": []byte(src)}, opts)
	got := map[string]any{}
	types := map[string]string{}
	for _, v := range cfg.Variables {
		got[v.Name] = v.Value
		types[v.Name] = v.Type
	}
	want := map[string]any{
		"port": int64(7999),
		"fds":  []any{int64(3), int64(4)},
		"path": "/var/log/x.log",
		"any":  "7999", // untyped: taken as written, as Terraform
		"flag": true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("values = %#v, want %#v", got, want)
	}
	if types["fds"] != "list(number)" || types["any"] != "" {
		t.Errorf("types = %v", types)
	}
}

func TestVariablesInConditions(t *testing.T) {
	src := `
variable "port_fd" { type = number }
locals {
  client_fds = [5, 6]
  mask       = parseint("80800", 16)
  strict     = true
}
service "m" {
  unit = "m.service"
  rule "r" {
    syscalls = ["read"]
    when     = arg0 == var.port_fd || contains(local.client_fds, arg0) || masked(arg1, local.mask) == 0 || local.strict
  }
}
`
	cfg := mustParse(t, map[string][]byte{"main.fencer.hcl": []byte(src)}, LoadOptions{Vars: []string{"port_fd=3"}})
	got := FormatCond(cfg.Services[0].Rules[0].When)
	want := "arg0 == 3 || contains([5, 6], arg0) || masked(arg1, 526336) == 0 || true"
	if got != want {
		t.Errorf("when = %s, want %s", got, want)
	}
}
