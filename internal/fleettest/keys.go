package fleettest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// keygen makes an ed25519 key pair without a passphrase at path and
// path+".pub" with ssh-keygen.
func keygen(path, comment string) error {
	cmd := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ssh-keygen -f %s: %w: %s", path, err, bytes.TrimSpace(out))
	}
	return nil
}

// knownHostsLine is host h's known_hosts line with key.
func (h *Host) knownHostsLine(key string) string {
	return fmt.Sprintf("[%s]:%d %s\n", h.Address, h.Port, key)
}

// writeKnownHosts writes a known_hosts file with every host's key, except
// the hosts in wrong, which get a freshly made key that is not theirs,
// and those in without, which are left out.
func (f *Fleet) writeKnownHosts(path string, wrong, without []*Host) error {
	var b strings.Builder
	for _, h := range f.Hosts {
		switch {
		case contains(without, h):
		case contains(wrong, h):
			key := filepath.Join(f.Dir, fmt.Sprintf("wrong-%s-%s", h.Name, filepath.Base(path)))
			if err := keygen(key, "not "+h.Name); err != nil {
				return err
			}
			pub, err := os.ReadFile(key + ".pub")
			if err != nil {
				return err
			}
			b.WriteString(h.knownHostsLine(strings.Join(strings.Fields(string(pub))[:2], " ")))
		default:
			b.WriteString(h.knownHostsLine(h.HostKey))
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func contains(hosts []*Host, h *Host) bool {
	for _, o := range hosts {
		if o == h {
			return true
		}
	}
	return false
}

// WrongKnownHosts writes a known_hosts file, named name in the fleet's
// directory, where the hosts in wrong have a key that is not theirs (a
// host whose key changed, or a man in the middle) and the others their
// own, and returns its path.
func (f *Fleet) WrongKnownHosts(name string, wrong ...*Host) (string, error) {
	path := filepath.Join(f.Dir, name)
	return path, f.writeKnownHosts(path, wrong, nil)
}

// KnownHostsWithout writes a known_hosts file, named name in the fleet's
// directory, without the hosts in without (whose key is then unknown),
// and returns its path.
func (f *Fleet) KnownHostsWithout(name string, without ...*Host) (string, error) {
	path := filepath.Join(f.Dir, name)
	return path, f.writeKnownHosts(path, nil, without)
}
