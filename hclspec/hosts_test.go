package hclspec

import (
	"fmt"
	"reflect"
	"strings"
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

func TestSSHAttributes(t *testing.T) {
	src := `
host "a" {
  address          = "a.example.net"
  known_hosts_file = "~/fleet/known_hosts"
  identity_file    = "/etc/fencer/id_ed25519"
  bastion          = "admin@jump.example.net:2222"
  become           = "sudo"
  connect_timeout  = "30s"
}
host "b" {
  address = "b.example.net"
}
`
	cfg := mustParse(t, map[string][]byte{"main.fencer.hcl": []byte(src)}, LoadOptions{})
	a, b := cfg.Hosts[0], cfg.Hosts[1]
	if a.KnownHostsFile != "~/fleet/known_hosts" || a.IdentityFile != "/etc/fencer/id_ed25519" || a.Bastion != "admin@jump.example.net:2222" ||
		a.Become != "sudo" || a.ConnectTimeout.String() != "30s" {
		t.Errorf("host a: %+v", a)
	}
	if b.KnownHostsFile != "" || b.Bastion != "" || b.Become != "" || b.ConnectTimeout != DefaultConnectTimeout || b.Port != 22 {
		t.Errorf("host b's defaults: %+v", b)
	}
	for in, want := range map[string]string{
		"jump":              " jump 0",
		"admin@jump":        "admin jump 0",
		"admin@jump:2222":   "admin jump 2222",
		"[::1]:22":          " ::1 22",
		"[fe80::1]":         " fe80::1 0",
		"a@b@10.0.0.1:2200": "a@b 10.0.0.1 2200",
	} {
		u, h, p, err := ParseBastion(in)
		if got := fmt.Sprintf("%s %s %d", u, h, p); err != nil || got != want {
			t.Errorf("ParseBastion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "@jump", "jump:", "jump:0", "user@", "a b"} {
		if _, _, _, err := ParseBastion(in); err == nil {
			t.Errorf("ParseBastion(%q) accepted", in)
		}
	}
}

// TestAddress: an address is a host name or an IP address; a user, a
// port, brackets or shell punctuation in it are refused with what to
// write instead.
func TestAddress(t *testing.T) {
	for _, ok := range []string{"web-1.example.net", "10.0.0.1", "::1", "fe80::1%eth0", "localhost"} {
		if p := AddressProblem(ok); p != "" {
			t.Errorf("AddressProblem(%q) = %s", ok, p)
		}
	}
	for in, want := range map[string]string{
		"[::1]":             `without brackets ("::1")`,
		"deploy@web":        "goes in user",
		"web:2222":          "goes in port",
		"web 1":             "no spaces",
		"web;reboot":        "punctuation",
		"$(reboot)":         "punctuation",
		"web\n":             "no spaces",
		"":                  "empty",
		"ssh://web.example": "slashes",
	} {
		if p := AddressProblem(in); !strings.Contains(p, want) {
			t.Errorf("AddressProblem(%q) = %q, want %q", in, p, want)
		}
	}
	src := "host \"a\" {\n  address = \"deploy@a.example.net\"\n}\n"
	_, diags := Parse(map[string][]byte{"main.fencer.hcl": []byte(src)}, LoadOptions{})
	if !diags.HasErrors() || diags[0].Summary != "Invalid address" || diags[0].Subject == nil || diags[0].Subject.Start.Line != 2 {
		t.Errorf("diagnostics %v", diags)
	}
}
