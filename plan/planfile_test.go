package plan

import (
	"bytes"
	"strings"
	"testing"
)

// TestSavedSSH: a saved plan reaches its hosts with the SSH settings it
// records, so those a host block could not have are refused when the plan
// is read: a tampered plan must not reach further than a configuration.
func TestSavedSSH(t *testing.T) {
	save := func(address string, s SSH) error {
		p := &Plan{FormatVersion: FormatVersion, ConfigID: "c", Hosts: []*HostPlan{{Name: "web", Address: address, SSH: &s, Scope: "system", Arch: "x86_64"}}}
		var buf bytes.Buffer
		if err := WriteJSON(&buf, p); err != nil {
			t.Fatal(err)
		}
		_, err := ReadJSON(&buf)
		return err
	}
	good := SSH{Port: 22, User: "deploy", IdentityFile: "~/.ssh/id_ed25519", KnownHostsFile: "/etc/fencer/known_hosts",
		Bastion: "admin@jump:2222", Become: "sudo", ConnectTimeout: "10s"}
	if err := save("web.example.net", good); err != nil {
		t.Fatalf("a good plan: %v", err)
	}
	for name, tc := range map[string]struct {
		address string
		edit    func(*SSH)
		want    string
	}{
		"relative known_hosts": {"web", func(s *SSH) { s.KnownHostsFile = "evil_known_hosts" }, "known_hosts_file"},
		"relative identity":    {"web", func(s *SSH) { s.IdentityFile = "../id" }, "identity_file"},
		"become":               {"web", func(s *SSH) { s.Become = "su" }, "become"},
		"port":                 {"web", func(s *SSH) { s.Port = 0 }, "port 0"},
		"bastion":              {"web", func(s *SSH) { s.Bastion = "jump:x" }, "bastion"},
		"timeout":              {"web", func(s *SSH) { s.ConnectTimeout = "0s" }, "connect_timeout"},
		"address":              {"web;reboot", func(*SSH) {}, "address"},
		"user":                 {"web", func(s *SSH) { s.User = "root\x1b[2J" }, "user"},
	} {
		s := good
		tc.edit(&s)
		if err := save(tc.address, s); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `host "web"`) {
			t.Errorf("%s: %v, want %q refused", name, err, tc.want)
		}
	}
}
