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
func keygen(path, comment string) error { return keygenPass(path, comment, "") }

// keygenPass is keygen with a passphrase ("" for none).
func keygenPass(path, comment, passphrase string) error {
	cmd := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", comment, "-f", path)
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

// NewIdentity makes another client key pair (ed25519) called name in the
// fleet's directory, encrypted with passphrase unless it is "", adds its
// public key to the login user's authorized_keys on every host, and
// returns the private key's path. For an encrypted identity_file, or a
// key that only an ssh-agent holds. The hosts' HOMEs are written through
// Host.Path, so a host that is down gets it too.
func (f *Fleet) NewIdentity(name, passphrase string) (string, error) {
	path := filepath.Join(f.Dir, name)
	if err := keygenPass(path, "fencer-fleettest "+name, passphrase); err != nil {
		return "", err
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		return "", err
	}
	for _, h := range f.Hosts {
		keys, err := h.Path(f.Home + "/.ssh/authorized_keys")
		if err != nil {
			return "", err
		}
		a, err := os.OpenFile(keys, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return "", fmt.Errorf("host %s: %w", h.Name, err)
		}
		_, err = a.Write(pub)
		if cerr := a.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("host %s: %w", h.Name, err)
		}
	}
	return path, nil
}
