package host_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/plan"
	"github.com/fencer-dev/fencer/plan/loader"
)

// The tests of this file plan through a transport of this package, which
// package plan imports: they are in package host_test.

// TestSocketFeedsAgreeWithSystemd writes socket units whose Service= takes
// every form systemd 252 reads (specifiers, assignments it ignores, a
// template's instances) next to a service fencer plans for, and checks
// that plan refuses the service exactly when the manager makes the
// socket trigger it (systemctl show -p Triggers): a socket that passes the
// service its fds shifts the policy's fd numbers.
func TestSocketFeedsAgreeWithSystemd(t *testing.T) {
	um, h := host.UserHost(t)
	ctx := context.Background()
	dir := um.Home + "/.config/systemd/user"
	if err := h.WriteFile(ctx, dir+"/m.service", []byte("[Service]\nExecStart=/bin/true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("m.service", dir+"/malias.service"); err != nil {
		t.Fatal(err)
	}
	cfg, diags := hclspec.Parse(map[string][]byte{"main.fencer.hcl": []byte(`
host "local" {
  scope = "user"
}
service "m" {
  unit       = "m.service"
  exec_start = "/bin/true"
  fd "sock" {
    listen_stream = "127.0.0.1:80"
  }
  rule "run" {
    syscalls = ["execve", "exit_group"]
  }
}
`)}, hclspec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, tc := range []struct {
		name, service string
		// unit is the socket unit systemd is asked about: an instance
		// of a template socket, which a link in a .wants directory or
		// a start would load.
		unit string
	}{
		{"x-m.socket", "Service=%j.service", ""},
		{"x-y.socket", "Service=%j.service", ""},
		{"other.socket", "Service=m.service\nService=%x.service", ""},
		{"other.socket", "Service=m.service\nService=other@.service", ""},
		{"other.socket", "Service=m.service\nService=", ""},
		{"other.socket", "Service=m.service\nService=m.target", ""},
		{"other.socket", "Service=%x.service", ""},
		{"malias.socket", "Service=not a name.service", ""},
		{"malias.socket", "Service=%p.service", ""},
		{"malias.socket", "Service=%Z.service", ""},
		{"malias.socket", "Service=\"m.service\"", ""},
		{"m-x.socket", "Service=%p.service", ""},
		{"t@.socket", "Service=%i.service", "t@m.socket"},
		{"t@.socket", "Service=t-%i.service", "t@m.socket"},
		{"m@.socket", "Service=%p.service", "m@x.socket"},
		{"t@.socket", "Service=%N.service", "t@m.socket"},
	} {
		t.Run(tc.name+" "+tc.service, func(t *testing.T) {
			p := dir + "/" + tc.name
			if err := h.WriteFile(ctx, p, []byte("[Socket]\nListenStream=127.0.0.1:1\n"+tc.service+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			defer h.Remove(ctx, p)
			if _, err := h.Systemctl(ctx, "daemon-reload"); err != nil {
				t.Fatal(err)
			}
			unit := tc.unit
			if unit == "" {
				unit = tc.name
			}
			triggers, err := um.Show(unit, "Triggers")
			if err != nil {
				t.Fatal(err)
			}
			feeds := false
			for _, n := range strings.Fields(triggers) {
				feeds = feeds || n == "m.service" || n == "malias.service"
			}
			pl, diags := plan.Make(ctx, cfg, plan.Options{Hosts: map[string]host.Reader{"local": h}, Loader: loader.SetOf(&loader.Binary{Data: []byte("the loader\n"), Arch: "x86_64"})})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			refused := ""
			if f := pl.Failed(); len(f) > 0 {
				refused = f[0].Error
			}
			switch {
			case feeds && !strings.Contains(refused, p+": this socket unit passes its fds to m.service too"):
				t.Errorf("systemd: %s Triggers=%s; plan: %q", unit, triggers, refused)
			case !feeds && refused != "":
				t.Errorf("systemd: %s Triggers=%s; plan refused: %s", unit, triggers, refused)
			default:
				t.Logf("Triggers=%s; plan: %q", triggers, refused)
			}
		})
	}
}
