package fleettest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"time"
)

// account is the login user as the fleet needs it.
type account struct {
	name     string
	uid, gid int
	home     string
}

// loginUser returns the account name, creating it when absent (no home
// directory, /bin/sh, password field "*": no password, but not locked,
// so that sshd without PAM accepts its key). Its HOME on this machine
// is an empty directory: the mount point of each host's own. An
// account whose shell refuses logins, or which is root, is an error;
// one that is locked ("!") is unlocked to "*".
func loginUser(name string) (account, error) {
	u, err := user.Lookup(name)
	for try := 0; err != nil && try < 5; try++ {
		cmd := exec.Command("useradd", "-M", "-d", "/home/"+name, "-s", "/bin/sh", "-p", "*", "-c", "fencer fleet tests", name)
		out, aerr := cmd.CombinedOutput()
		if u, err = user.Lookup(name); err == nil {
			break
		}
		// Another test process may be adding it at the same time.
		err = fmt.Errorf("useradd %s: %v: %s", name, aerr, bytes.TrimSpace(out))
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return account{}, fmt.Errorf("fleettest: login user: %w", err)
	}
	a := account{name: name, home: u.HomeDir}
	a.uid, _ = strconv.Atoi(u.Uid)
	a.gid, _ = strconv.Atoi(u.Gid)
	if a.uid == 0 || !strings.HasPrefix(a.home, "/") || a.home == "/" {
		return a, fmt.Errorf("fleettest: login user %s: uid %d, home %q: want a non-root user with a home directory of its own", name, a.uid, a.home)
	}
	if err := checkShell(name); err != nil {
		return a, err
	}
	if err := unlock(name); err != nil {
		return a, err
	}
	if err := os.MkdirAll(a.home, 0o755); err != nil {
		return a, fmt.Errorf("fleettest: login user %s: %w", name, err)
	}
	return a, nil
}

// passwdField returns field i (from 0) of name's line in file.
func passwdField(file, name string, i int) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Split(line, ":")
		if fields[0] == name && len(fields) > i {
			return fields[i], nil
		}
	}
	return "", fmt.Errorf("%s: no user %s", file, name)
}

func checkShell(name string) error {
	shell, err := passwdField("/etc/passwd", name, 6)
	if err != nil {
		return fmt.Errorf("fleettest: login user: %w", err)
	}
	if shell == "" || strings.HasSuffix(shell, "nologin") || strings.HasSuffix(shell, "false") {
		return fmt.Errorf("fleettest: login user %s has shell %q, which refuses logins: usermod -s /bin/sh %s", name, shell, name)
	}
	return nil
}

// unlock sets name's password field to "*" when it is locked ("!..."),
// as useradd leaves an account made without -p.
func unlock(name string) error {
	pw, err := passwdField("/etc/shadow", name, 1)
	if err != nil {
		return fmt.Errorf("fleettest: login user: %w", err)
	}
	if !strings.HasPrefix(pw, "!") {
		return nil
	}
	if out, err := exec.Command("usermod", "-p", "*", name).CombinedOutput(); err != nil {
		return fmt.Errorf("fleettest: unlocking login user %s: %w: %s", name, err, bytes.TrimSpace(out))
	}
	return nil
}
