package hclspec

import (
	"fmt"
	"reflect"
	"testing"
)

func TestForEachHosts(t *testing.T) {
	src := `
locals {
  db = {
    b = "10.0.0.2"
    a = "10.0.0.1"
  }
}
host "edge" {
  for_each = toset(["edge-2", "edge-1"])
  address  = "${each.key}.example.net"
  arch     = "arm64"
  scope    = "user"
  port     = 2222
}
host "db" {
  for_each      = local.db
  address       = each.value
  user          = "admin"
  identity_file = "~/.ssh/db"
  arch          = "amd64"
  fencer_path   = "/opt/fencer/bin/fencer"
}
host "single" {}
service "m" {
  unit  = "m.service"
  hosts = ["edge", "db[\"b\"]"]
}
`
	cfg := mustParse(t, map[string][]byte{"main.fencer.hcl": []byte(src)}, LoadOptions{})
	var got []string
	for _, h := range cfg.Hosts {
		got = append(got, fmt.Sprintf("%s %s %s %s %s %d %s %s %s", h.Name, h.Group, h.Address, h.User, h.Arch, h.Port, h.Scope, h.IdentityFile, h.FencerPath))
	}
	want := []string{
		`edge["edge-1"] edge edge-1.example.net  aarch64 2222 user  /usr/local/bin/fencer`,
		`edge["edge-2"] edge edge-2.example.net  aarch64 2222 user  /usr/local/bin/fencer`,
		`db["a"] db 10.0.0.1 admin x86_64 22 system ~/.ssh/db /opt/fencer/bin/fencer`,
		`db["b"] db 10.0.0.2 admin x86_64 22 system ~/.ssh/db /opt/fencer/bin/fencer`,
		`single single    22 system  /usr/local/bin/fencer`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hosts:\n%q\nwant:\n%q", got, want)
	}
	var planned []string
	for _, h := range cfg.ServiceHosts(cfg.Services[0]) {
		planned = append(planned, h.Name)
	}
	if want := []string{`edge["edge-1"]`, `edge["edge-2"]`, `db["b"]`}; !reflect.DeepEqual(planned, want) {
		t.Errorf("ServiceHosts = %q, want %q", planned, want)
	}
}

func TestEmptyForEach(t *testing.T) {
	src := `
host "edge" {
  for_each = toset([])
}
service "m" {
  unit  = "m.service"
  hosts = ["edge"]
}
`
	cfg := mustParse(t, map[string][]byte{"main.fencer.hcl": []byte(src)}, LoadOptions{})
	if len(cfg.Hosts) != 0 {
		t.Errorf("hosts = %d, want none (and no implicit host)", len(cfg.Hosts))
	}
}
