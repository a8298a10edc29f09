// Package sshhost reaches a host over SSH (a host block with an address):
// Dial connects and logs in (host keys always checked against
// known_hosts; keys from ssh-agent and identity_file; a bastion; keepalives),
// learns the host's architecture, uploads the fencer binary for it
// (content-addressed, under the login user's ~/.cache/fencer), and starts
// it as `fencer agent` ([sudo -n] with become = "sudo") on a session whose
// standard input and output carry internal/agent's protocol. The Host it
// returns is a host.Target whose every call the agent does on the host
// with host.LocalHost's code.
package sshhost

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/agent"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/plan/loader"
)

// Config is how to reach one host.
type Config struct {
	// Name is the host's name in the configuration.
	Name    string
	Address string
	Port    int // 22 when 0
	// User logs in; "" for the user running fencer, as ssh does.
	User string
	// IdentityFile is a private key ("~/" for Home); "" tries ~/.ssh's
	// id_ed25519, id_ecdsa and id_rsa that need no passphrase.
	IdentityFile string
	// KnownHostsFile has the host keys accepted; "" for ~/.ssh/known_hosts.
	KnownHostsFile string
	// Bastion is the jump host, "[user@]host[:port]", checked against the
	// same known_hosts file and logged in with the same keys.
	Bastion string
	// Become is "sudo" to run the agent with sudo -n.
	Become string
	// ConnectTimeout bounds connecting and logging in (and the bastion's);
	// hclspec.DefaultConnectTimeout when 0.
	ConnectTimeout time.Duration
	// Scope is the host's, "system" or "user".
	Scope string
	// Loaders has the fencer binary for each architecture: the agent, and
	// the loader whose hash Fencer returns.
	Loaders *loader.Set
	// AuthSock is the ssh-agent's socket, as SSH_AUTH_SOCK ("" for none).
	AuthSock string
	// Home is the home directory "~/" stands for, of the user running
	// fencer.
	Home string
	// Keepalive is how often a keepalive is sent (DefaultKeepalive when
	// 0); the connection is closed when one goes unanswered for three
	// such intervals.
	Keepalive time.Duration
}

// DefaultKeepalive is how often Dial's connections send a keepalive.
const DefaultKeepalive = 5 * time.Second

// ConfigFor is the Config of a host block with an address, with the
// ssh-agent of this process's SSH_AUTH_SOCK and its user's home.
func ConfigFor(h *hclspec.Host, loaders *loader.Set) Config {
	home, _ := os.UserHomeDir()
	return Config{Name: h.Name, Address: h.Address, Port: h.Port, User: h.User, IdentityFile: h.IdentityFile,
		KnownHostsFile: h.KnownHostsFile, Bastion: h.Bastion, Become: h.Become, ConnectTimeout: h.ConnectTimeout,
		Scope: h.Scope, Loaders: loaders, AuthSock: os.Getenv("SSH_AUTH_SOCK"), Home: home}
}

// connectTimeout is ConnectTimeout, or its default.
func (c *Config) connectTimeout() time.Duration {
	if c.ConnectTimeout <= 0 {
		return hclspec.DefaultConnectTimeout
	}
	return c.ConnectTimeout
}

// expand replaces a leading "~/" by the home directory.
func (c *Config) expand(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return filepath.Join(c.Home, rest)
	}
	return p
}

// setDefaults fills what the Config leaves out.
func (c *Config) setDefaults() error {
	if c.Port == 0 {
		c.Port = hclspec.DefaultPort
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = hclspec.DefaultConnectTimeout
	}
	if c.Keepalive <= 0 {
		c.Keepalive = DefaultKeepalive
	}
	if c.Scope == "" {
		c.Scope = host.ScopeSystem
	}
	if c.User == "" {
		u, err := user.Current()
		if err != nil {
			return fmt.Errorf("host %s: no user given, and the user running fencer is unknown: %w", c.Name, err)
		}
		c.User = u.Username
	}
	if c.Home == "" {
		c.Home, _ = os.UserHomeDir()
	}
	if c.KnownHostsFile == "" {
		c.KnownHostsFile = "~/.ssh/known_hosts"
	}
	if c.Become != "" && c.Become != hclspec.BecomeSudo {
		return fmt.Errorf("host %s: become = %q: only %q is known", c.Name, c.Become, hclspec.BecomeSudo)
	}
	if c.Loaders == nil {
		c.Loaders = loader.NewSet()
	}
	return nil
}

// Host is a host reached over SSH: a host.Target whose calls fencer's
// agent does on the host. Close it when done.
type Host struct {
	*agent.Client
	arch      string
	loaderSum string
	conns     []*ssh.Client // the host's, then the bastion's
}

var _ host.Target = (*Host)(nil)

// Arch is the host's architecture (uname -m, as fencer names it).
func (h *Host) Arch() string { return h.arch }

// Fencer returns the SHA-256 of the fencer binary for the host's
// architecture: the loader plan installs there (host.Processes).
func (h *Host) Fencer(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("host %s: %w", h.Name(), err)
	}
	return h.loaderSum, nil
}

// Close ends the agent and the SSH connections; the agent, its input
// closed, releases the host's lock.
func (h *Host) Close() error {
	h.Client.Close()
	for _, c := range h.conns {
		c.Close()
	}
	return nil
}

// Dial connects to the host, uploads fencer's agent for its architecture
// if it is not there, and starts it. Connecting and logging in are bounded
// by the Config's ConnectTimeout, the rest by ctx. An error names the
// host; one reaching it wraps host.ErrUnreachable, a refused host key
// ErrHostKey, a key problem ErrAuth.
func Dial(ctx context.Context, cfg Config) (*Host, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	conns, err := connect(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	h := &Host{conns: conns}
	ok := false
	defer func() {
		if !ok {
			for _, c := range conns {
				c.Close()
			}
		}
	}()
	if err := h.start(ctx, &cfg); err != nil {
		return nil, err
	}
	go keepalive(conns[0], cfg.Keepalive, h.Client)
	for _, c := range conns {
		go func() {
			c.Wait()
			h.Client.Close()
		}()
	}
	ok = true
	return h, nil
}

// start learns the architecture, uploads the agent and starts it.
func (h *Host) start(ctx context.Context, cfg *Config) error {
	c := h.conns[0]
	a, err := remoteArch(ctx, cfg.Name, c, cfg.ConnectTimeout)
	if err != nil {
		return err
	}
	h.arch = a
	bin, err := cfg.Loaders.For(a)
	if err != nil {
		return fmt.Errorf("host %s: %w", cfg.Name, err)
	}
	h.loaderSum = bin.SHA256()
	path, err := upload(ctx, cfg.Name, c, cfg.ConnectTimeout, bin.Data, h.loaderSum)
	if err != nil {
		return err
	}
	h.Client, err = startAgent(ctx, cfg, c, path)
	if err == nil {
		// The loader is this binary: the agent writes it from its own.
		h.Client.Self(bin.Data, h.loaderSum)
	}
	return err
}

// connect logs in to the host, through the bastion if there is one; the
// host's client comes first.
func connect(ctx context.Context, cfg *Config) ([]*ssh.Client, error) {
	keys, err := loadKeys(cfg.Name, cfg.AuthSock, cfg.expand(cfg.IdentityFile), cfg.Home, cfg.ConnectTimeout)
	if err != nil {
		return nil, err
	}
	defer keys.close()
	known, err := newHostKeys(cfg.Name, cfg.expand(cfg.KnownHostsFile))
	if err != nil {
		return nil, err
	}
	var via *ssh.Client
	if cfg.Bastion != "" {
		buser, bhost, bport, err := hclspec.ParseBastion(cfg.Bastion)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", cfg.Name, err)
		}
		if buser == "" {
			buser = cfg.User
		}
		if bport == 0 {
			bport = hclspec.DefaultPort
		}
		baddr := net.JoinHostPort(bhost, strconv.Itoa(bport))
		if via, err = login(ctx, cfg, known, keys, nil, buser, baddr, "the bastion "+cfg.Bastion); err != nil {
			return nil, err
		}
	}
	addr := net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port))
	c, err := login(ctx, cfg, known, keys, via, cfg.User, addr, addr)
	if err != nil {
		if via != nil {
			via.Close()
		}
		return nil, err
	}
	if via != nil {
		return []*ssh.Client{c, via}, nil
	}
	return []*ssh.Client{c}, nil
}

// login connects to addr (through via when not nil) and logs in as user,
// all within the connect timeout. what names the peer in messages.
func login(ctx context.Context, cfg *Config, known *hostKeys, keys *keys, via *ssh.Client, usr, addr, what string) (*ssh.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	var conn net.Conn
	var err error
	if via != nil {
		conn, err = via.DialContext(ctx, "tcp", addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("host %s: %w: connecting to %s: %v", cfg.Name, host.ErrUnreachable, what, err)
	}
	keyErrs := make(chan error, 1)
	config := &ssh.ClientConfig{
		User: usr,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(keys.signers...)},
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			err := known.check(hostname, remote, key)
			if err != nil {
				select {
				case keyErrs <- err:
				default:
				}
			}
			return err
		},
		HostKeyAlgorithms: known.algorithms(addr),
		Timeout:           cfg.ConnectTimeout,
	}
	// The handshake has no context: closing the connection ends it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, config)
	if !stop() {
		if err == nil {
			sc.Close()
		}
		return nil, fmt.Errorf("host %s: %w: logging in to %s: no answer within connect_timeout %s", cfg.Name, host.ErrUnreachable, what, cfg.ConnectTimeout)
	}
	var keyErr error
	if err != nil {
		select {
		case keyErr = <-keyErrs:
		default:
			keyErr = known.noCommonKey(addr, err)
		}
	}
	switch {
	case keyErr != nil:
		conn.Close()
		return nil, keyErr
	case err != nil && strings.Contains(err.Error(), "unable to authenticate"):
		conn.Close()
		return nil, fmt.Errorf("host %s: %w: %s@%s accepts none of fencer's keys (%s)", cfg.Name, ErrAuth, usr, what, strings.Join(keys.tried, ", "))
	case err != nil:
		conn.Close()
		return nil, fmt.Errorf("host %s: %w: logging in to %s: %v", cfg.Name, host.ErrUnreachable, what, err)
	}
	return ssh.NewClient(sc, chans, reqs), nil
}

// keepalive sends a keepalive every interval, and closes c and the agent's
// client when one fails, or goes unanswered for three intervals.
func keepalive(c *ssh.Client, interval time.Duration, ag *agent.Client) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ag.Done():
			return
		case <-t.C:
		}
		answered := make(chan error, 1)
		go func() {
			_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
			answered <- err
		}()
		select {
		case err := <-answered:
			if err == nil {
				continue
			}
		case <-time.After(3 * interval):
		case <-ag.Done():
			return
		}
		c.Close()
		ag.Close()
		return
	}
}
