package sshhost

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/fencer-dev/fencer/internal/readlimit"
)

// ErrAuth is wrapped by the errors about fencer's keys: none to log in
// with, an encrypted key no agent holds, a login refused.
var ErrAuth = errors.New("SSH authentication failed")

// maxKeyFile bounds a private key file.
const maxKeyFile = 1 << 20

// defaultKeys are the key files ssh tries when no identity_file is set,
// under ~/.ssh.
var defaultKeys = []string{"id_ed25519", "id_ecdsa", "id_rsa"}

// keys are what fencer logs in with: the identity file's key, and the
// ssh-agent's.
type keys struct {
	signers []ssh.Signer
	agent   net.Conn // the agent's socket, closed by close
	tried   []string // what was tried, for the message when none is accepted
}

func (k *keys) close() {
	if k.agent != nil {
		k.agent.Close()
	}
}

// loadKeys gathers the keys of the ssh-agent at sock ("" for none) and of
// identity (or, when it is "", the default key files of home/.ssh that
// need no passphrase). An encrypted identity file whose key the agent
// does not hold is an error: fencer does not ask for passphrases. The
// agent must list its keys within timeout, and sign within two more (a
// bastion's login and the host's): an agent that waits for a
// confirmation nobody gives (ssh-add -c) must not hold fencer forever.
func loadKeys(name, sock, identity, home string, timeout time.Duration) (*keys, error) {
	k := &keys{}
	var agentKeys []*agent.Key
	if sock != "" {
		conn, err := net.DialTimeout("unix", sock, 5*time.Second)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w: the ssh-agent at SSH_AUTH_SOCK=%s: %v", name, ErrAuth, sock, err)
		}
		k.agent = conn
		conn.SetDeadline(time.Now().Add(timeout))
		ag := agent.NewClient(conn)
		if agentKeys, err = ag.List(); err != nil {
			k.close()
			return nil, fmt.Errorf("host %s: %w: listing the keys of the ssh-agent at %s: %v", name, ErrAuth, sock, err)
		}
		signers, err := ag.Signers()
		if err != nil {
			k.close()
			return nil, fmt.Errorf("host %s: %w: the ssh-agent at %s: %v", name, ErrAuth, sock, err)
		}
		k.signers = signers
		k.tried = append(k.tried, fmt.Sprintf("the %d key(s) of the ssh-agent at %s", len(signers), sock))
	}
	files, explicit := []string{identity}, true
	if identity == "" {
		explicit = false
		files = nil
		for _, f := range defaultKeys {
			files = append(files, filepath.Join(home, ".ssh", f))
		}
	}
	for _, f := range files {
		s, err := readKey(name, f, explicit, agentKeys, sock)
		if err != nil {
			k.close()
			return nil, err
		}
		if s != nil {
			k.signers = append([]ssh.Signer{s}, k.signers...)
			k.tried = append(k.tried, f+" ("+ssh.FingerprintSHA256(s.PublicKey())+")")
		}
	}
	if len(k.signers) == 0 {
		k.close()
		return nil, fmt.Errorf("host %s: %w: no key to log in with: set identity_file, or load the key into an ssh-agent (SSH_AUTH_SOCK)", name, ErrAuth)
	}
	if k.agent != nil {
		k.agent.SetDeadline(time.Now().Add(2 * timeout))
	}
	return k, nil
}

// readKey reads the private key in file; nil when it is not there (and
// not explicit), or is encrypted and the agent holds it.
func readKey(name, file string, explicit bool, agentKeys []*agent.Key, sock string) (ssh.Signer, error) {
	if !explicit && !fileExists(file) {
		return nil, nil
	}
	if st, err := os.Stat(file); err == nil && st.Mode().Perm()&0o077 != 0 {
		// As ssh: a key others can read is no secret any more, and
		// using it would hide that.
		return nil, fmt.Errorf("host %s: %w: the private key %s can be read or changed by other users than its owner (mode %04o), "+
			"so ssh refuses it, and so does fencer; make it private with chmod 600 %s (and think about replacing the key)",
			name, ErrAuth, file, st.Mode().Perm(), file)
	}
	data, err := readlimit.File(file, maxKeyFile, "a private key")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("host %s: %w: identity_file %s does not exist", name, ErrAuth, file)
		}
		return nil, fmt.Errorf("host %s: %w: identity_file: %v", name, ErrAuth, err)
	}
	s, err := ssh.ParsePrivateKey(data)
	var pm *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &pm):
		for _, ak := range agentKeys {
			if pm.PublicKey != nil && bytes.Equal(ak.Marshal(), pm.PublicKey.Marshal()) {
				return nil, nil // the agent signs with it
			}
		}
		if !explicit {
			return nil, nil // as ssh would ask, fencer skips it
		}
		agentSays := "no ssh-agent runs (SSH_AUTH_SOCK is not set)"
		if sock != "" {
			agentSays = "the ssh-agent at " + sock + " does not hold it"
		}
		return nil, fmt.Errorf("host %s: %w: identity_file %s is encrypted with a passphrase, and %s: fencer does not ask for passphrases; add the key to your agent with ssh-add %s",
			name, ErrAuth, file, agentSays, file)
	case err != nil:
		return nil, fmt.Errorf("host %s: %w: identity_file %s: %v", name, ErrAuth, file, err)
	}
	return s, nil
}
