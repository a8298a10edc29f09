package fleettest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fencer-dev/fencer/internal/usermanager"
)

// bootTimeout bounds how long a host may take to come up.
const bootTimeout = 30 * time.Second

// tree is a directory the host has its own copy of: at is where the host
// sees it, dir where it is on this machine, overlay whether it is the
// upper directory of an overlay on this machine's at.
type tree struct {
	at, dir string
	overlay bool
}

// trees are the host's private directories.
func (h *Host) trees() []tree {
	return []tree{
		{at: "/etc/systemd", dir: filepath.Join(h.Dir, "etc-systemd"), overlay: true},
		{at: "/usr/local", dir: filepath.Join(h.Dir, "usr-local"), overlay: true},
		{at: h.fleet.Home, dir: filepath.Join(h.Dir, "home")},
		{at: "/root", dir: filepath.Join(h.Dir, "root")},
		{at: "/etc/sudoers.d", dir: filepath.Join(h.Dir, "sudoers.d")},
		{at: "/tmp", dir: filepath.Join(h.Dir, "tmp")},
	}
}

// prepare makes the host's directory: its trees, host key, sshd_config,
// the login user's authorized_keys and the sudoers rules.
func (h *Host) prepare() error {
	f := h.fleet
	if err := os.Mkdir(h.Dir, 0o755); err != nil {
		return err
	}
	for _, t := range h.trees() {
		if err := os.Mkdir(t.dir, 0o755); err != nil {
			return err
		}
		if t.overlay {
			if err := os.Mkdir(t.dir+".work", 0o755); err != nil {
				return err
			}
		}
	}
	if err := os.Chmod(filepath.Join(h.Dir, "root"), 0o700); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(h.Dir, "tmp"), 0o777|os.ModeSticky); err != nil {
		return err
	}
	key := filepath.Join(h.Dir, "ssh_host_ed25519_key")
	if err := keygen(key, "fencer-fleettest "+h.Name); err != nil {
		return err
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		return err
	}
	h.HostKey = strings.Join(strings.Fields(string(pub))[:2], " ")
	client, err := os.ReadFile(f.Identity + ".pub")
	if err != nil {
		return err
	}
	if err := h.writeHome(client); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(h.Dir, "sshd_config"), []byte(h.sshdConfig()), 0o644); err != nil {
		return err
	}
	return h.writeSudoers()
}

// writeHome makes the login user's HOME with ~/.ssh/authorized_keys
// holding the client key, owned by the user as sshd's StrictModes wants.
func (h *Host) writeHome(clientKey []byte) error {
	f := h.fleet
	home := filepath.Join(h.Dir, "home")
	ssh := filepath.Join(home, ".ssh")
	keys := filepath.Join(ssh, "authorized_keys")
	if err := os.Mkdir(ssh, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(keys, clientKey, 0o600); err != nil {
		return err
	}
	for _, p := range []string{home, ssh, keys} {
		if err := os.Chown(p, f.UID, f.GID); err != nil {
			return err
		}
	}
	return nil
}

// sshdConfig is the host's sshd_config: key only, no PAM, the login user
// only, forwarding allowed (a bastion jumps through a host), SFTP, and
// the user's XDG_RUNTIME_DIR in its sessions (PAM would set it).
func (h *Host) sshdConfig() string {
	f := h.fleet
	hostKey := filepath.Join(h.Dir, "ssh_host_ed25519_key")
	return fmt.Sprintf(`# fencer's fleettest host %s
Port %d
ListenAddress %s
HostKey %s
PidFile none
UsePAM no
StrictModes yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile .ssh/authorized_keys
PermitRootLogin no
AllowUsers %s
AllowTcpForwarding yes
X11Forwarding no
PrintMotd no
MaxStartups 100:30:200
MaxSessions 100
Subsystem sftp /usr/lib/openssh/sftp-server
Match User %s
	SetEnv XDG_RUNTIME_DIR=/run/user/%d
`, h.Name, h.SSHDPort, h.Address, hostKey, f.User, f.User, f.UID)
}

// writeSudoers writes the host's /etc/sudoers.d: on a become host, sudo
// without a password for the login user, and XDG_RUNTIME_DIR=/run/user/0
// for commands run as root (sudo resets the environment, and systemctl
// --user needs it to find root's manager); elsewhere sudo with a
// password, which `sudo -n` refuses with "a password is required". The
// env file's name has a dot, so sudo does not read it as rules. With
// Options.PlainSudo, no env file.
func (h *Host) writeSudoers() error {
	dir := filepath.Join(h.Dir, "sudoers.d")
	rules := h.fleet.User + " ALL=(ALL:ALL) ALL\n"
	if h.Become {
		rules = h.fleet.User + " ALL=(ALL:ALL) NOPASSWD: ALL\n"
	}
	if h.Become && !h.plainSudo {
		rules += "Defaults>root env_file=/etc/sudoers.d/root.env\n"
		if err := os.WriteFile(filepath.Join(dir, "root.env"), []byte("XDG_RUNTIME_DIR=/run/user/0\n"), 0o440); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "fencer-fleet"), []byte(rules), 0o440)
}

// bootScript runs as root in the host's new mount namespace: it joins
// the host's cgroup, mounts the host's view, starts the user managers
// in their delegated cgroups and becomes sshd.
const bootScript = `set -eu
for d in $CG; do echo $$ >"$d/cgroup.procs"; done
mount -t tmpfs -o mode=0755,nosuid,nodev fleet-run /run
mkdir -p /run/systemd/system /run/sshd /run/lock /run/user
mkdir -m 0700 /run/user/$LUID /run/user/0
chown $LUID:$LGID /run/user/$LUID
mount -t overlay fleet-etc-systemd -o "lowerdir=/etc/systemd,upperdir=$H/etc-systemd,workdir=$H/etc-systemd.work" /etc/systemd
mount -t overlay fleet-usr-local -o "lowerdir=/usr/local,upperdir=$H/usr-local,workdir=$H/usr-local.work" /usr/local
mount --bind "$H/home" "$LHOME"
mount --bind "$H/root" /root
mount --bind "$H/sudoers.d" /etc/sudoers.d
mount --bind "$H/tmp" /tmp
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
manager='for d in $1; do echo $$ >"$d/cgroup.procs"; done; cd "$2"; shift 2; exec "$@"'
sh -c "$manager" sh "$UCG" "$LHOME" setpriv --reuid=$LUID --regid=$LGID --init-groups --pdeathsig=TERM \
	env -i HOME="$LHOME" USER=$LUSER LOGNAME=$LUSER XDG_RUNTIME_DIR=/run/user/$LUID PATH=$path $MANAGER --user \
	>>"$H/user-manager.log" 2>&1 &
if [ -n "$RCG" ]; then
	sh -c "$manager" sh "$RCG" /root setpriv --pdeathsig=TERM \
		env -i HOME=/root USER=root LOGNAME=root XDG_RUNTIME_DIR=/run/user/0 PATH=$path $MANAGER --user \
		>>"$H/root-manager.log" 2>&1 &
fi
exec ` + sshdPath + ` -D -e -f "$H/sshd_config"
`

// boot makes the host's cgroups, runs the boot script and waits until
// sshd listens and the managers accept connections. h.mu is held.
func (h *Host) boot() error {
	f := h.fleet
	h.cgroup = usermanager.MakeCgroup(h.cgroupName())
	if len(h.cgroup) == 0 {
		return fmt.Errorf("cannot make cgroup %s (systemd --user as %s needs one it owns)", h.cgroupName(), f.User)
	}
	user, err := h.cgroup.Sub("user", f.UID, f.GID)
	if err != nil {
		return err
	}
	var root usermanager.Cgroup
	if h.Become {
		if root, err = h.cgroup.Sub("root", 0, 0); err != nil {
			return err
		}
	}
	log, err := os.OpenFile(filepath.Join(h.Dir, "host.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command("/bin/sh", "-c", bootScript)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "H=" + h.Dir, "CG=" + strings.Join(h.cgroup, " "),
		"UCG=" + strings.Join(user, " "), "RCG=" + strings.Join(root, " "), "MANAGER=" + usermanager.Binary,
		"LUSER=" + f.User, "LUID=" + strconv.Itoa(f.UID), "LGID=" + strconv.Itoa(f.GID), "LHOME=" + f.Home}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	h.cmd, h.done = cmd, make(chan struct{})
	done := h.done
	go func() {
		cmd.Wait()
		close(done)
	}()
	return h.waitReady(done)
}

// waitReady waits until sshd accepts connections (it starts last, after
// the mounts), then until the managers' private sockets exist and they
// are running.
func (h *Host) waitReady(done chan struct{}) error {
	deadline := time.Now().Add(bootTimeout)
	root := fmt.Sprintf("/proc/%d/root", h.cmd.Process.Pid)
	sockets := []string{fmt.Sprintf("%s/run/user/%d/systemd/private", root, h.fleet.UID)}
	if h.Become {
		sockets = append(sockets, root+"/run/user/0/systemd/private")
	}
	listening := false
	for {
		select {
		case <-done:
			return fmt.Errorf("the boot script or sshd exited (%v) before the host was up", h.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not up after %s (sshd listening: %v)", bootTimeout, listening)
		}
		if !listening {
			c, err := net.DialTimeout("tcp", net.JoinHostPort(h.Address, strconv.Itoa(h.SSHDPort)), time.Second)
			if err == nil {
				c.Close()
				listening = true
			}
		}
		ready := listening
		for _, s := range sockets {
			if _, err := os.Stat(s); err != nil {
				ready = false
			}
		}
		if ready {
			return h.waitRunning(deadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitRunning waits until the host's managers have started their units
// (systemctl --user is-system-running --wait), until deadline.
func (h *Host) waitRunning(deadline time.Time) error {
	accounts := []Account{AsUser}
	if h.Become {
		accounts = append(accounts, AsRoot)
	}
	for _, as := range accounts {
		cmd := h.commandIn(h.cmd.Process.Pid, as, "systemctl", "--user", "is-system-running", "--wait")
		timer := time.AfterFunc(time.Until(deadline), func() { cmd.Process.Kill() })
		out, err := cmd.CombinedOutput()
		timer.Stop()
		// degraded: a unit failed, but the manager runs.
		if state := strings.TrimSpace(string(out)); state != "running" && state != "degraded" {
			return fmt.Errorf("user manager of %s: %s (%v)", map[Account]string{AsUser: h.fleet.User, AsRoot: "root"}[as], out, err)
		}
	}
	return nil
}
