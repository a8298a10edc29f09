package sshhost

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ErrHostKey is wrapped by the error for a host key fencer refuses: one
// known_hosts does not have, or a changed one.
var ErrHostKey = errors.New("host key refused")

// hostKeys checks host keys against a known_hosts file, always: there is
// no way to skip it.
type hostKeys struct {
	name string // the host's name in the configuration, for messages
	file string
	cb   ssh.HostKeyCallback // nil when the file does not exist
}

// newHostKeys reads the known_hosts file; a missing one knows no key.
func newHostKeys(name, file string) (*hostKeys, error) {
	k := &hostKeys{name: name, file: file}
	cb, err := knownhosts.New(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("host %s: known_hosts file %s: %w", name, file, err)
	default:
		k.cb = cb
	}
	return k, nil
}

// check is the ssh.HostKeyCallback: it accepts only a key the file has for
// the address (host:port as dialled), and says what to do otherwise.
func (k *hostKeys) check(address string, remote net.Addr, key ssh.PublicKey) error {
	var err error = &knownhosts.KeyError{}
	if k.cb != nil {
		err = k.cb(address, remote, key)
	}
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		return fmt.Errorf("host %s: %w: the SSH host key of %s (%s %s) is marked @revoked at %s:%d; fencer will not connect",
			k.name, ErrHostKey, knownhosts.Normalize(address), key.Type(), ssh.FingerprintSHA256(key), re.Revoked.Filename, re.Revoked.Line)
	case errors.As(err, &ke) && len(ke.Want) == 0:
		line := knownhosts.Line([]string{address}, key)
		return fmt.Errorf("host %s: %w: the SSH host key of %s is not in %s, so fencer will not connect. It offers %s key %s. "+
			"Check on the host that this is its key (ssh-keygen -lf on its /etc/ssh/ssh_host_*_key.pub), then add this line to %s:\n  %s",
			k.name, ErrHostKey, knownhosts.Normalize(address), k.file, key.Type(), ssh.FingerprintSHA256(key), k.file, line)
	case errors.As(err, &ke):
		old := ke.Want[0]
		return fmt.Errorf("host %s: %w: THE SSH HOST KEY OF %s HAS CHANGED. It offers %s key %s, and %s:%d has %s key %s for it. "+
			"Someone may be intercepting the connection, or the host was reinstalled; fencer will not connect. "+
			"If you know why it changed, check the new key on the host, remove the old entry (ssh-keygen -R '%s' -f %s) and add this line:\n  %s",
			k.name, ErrHostKey, knownhosts.Normalize(address), key.Type(), ssh.FingerprintSHA256(key), old.Filename, old.Line,
			old.Key.Type(), ssh.FingerprintSHA256(old.Key), knownhosts.Normalize(address), k.file, knownhosts.Line([]string{address}, key))
	}
	return fmt.Errorf("host %s: %w: %v", k.name, ErrHostKey, err)
}

var probe struct {
	once sync.Once
	key  ssh.PublicKey
}

// known are the keys the file has for address (host:port as dialled),
// none when it has none.
func (k *hostKeys) known(address string) []knownhosts.KnownKey {
	if k.cb == nil {
		return nil
	}
	probe.once.Do(func() {
		pub, _, err := ed25519.GenerateKey(nil)
		if err == nil {
			probe.key, _ = ssh.NewPublicKey(pub)
		}
	})
	if probe.key == nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if err := k.cb(address, &net.TCPAddr{IP: net.IPv4zero}, probe.key); !errors.As(err, &ke) {
		return nil
	}
	return ke.Want
}

// algorithms are the host key algorithms of the keys the file has for
// address, so that the server offers one of those rather than another of
// its keys (which would look like a changed key); nil when it has none.
func (k *hostKeys) algorithms(address string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range k.known(address) {
		algos := []string{w.Key.Type()}
		if w.Key.Type() == ssh.KeyAlgoRSA {
			algos = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
		for _, a := range algos {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// noCommonKey is the error for a host that offers no key of the types the
// file has for address (the handshake's "no common algorithm for host
// key"): as a changed key, it may not be the host it was; nil when the
// file has no key for address, or handshake is another error.
func (k *hostKeys) noCommonKey(address string, handshake error) error {
	want := k.known(address)
	if len(want) == 0 || handshake == nil || !strings.Contains(handshake.Error(), "no common algorithm for host key") {
		return nil
	}
	var have []string
	for _, w := range want {
		have = append(have, fmt.Sprintf("%s (%s:%d)", w.Key.Type(), w.Filename, w.Line))
	}
	return fmt.Errorf("host %s: %w: %s offers no SSH host key of the types %s has for it: %s. "+
		"Someone may be intercepting the connection, or the host's keys were replaced; fencer will not connect (%v). "+
		"If you know why, check the host's keys on it (ssh-keygen -lf on its /etc/ssh/ssh_host_*_key.pub) and add the right line to %s",
		k.name, ErrHostKey, knownhosts.Normalize(address), k.file, strings.Join(have, ", "), handshake, k.file)
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
