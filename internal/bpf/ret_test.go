package bpf

import "testing"

// TestRetOrder checks the ranking against the order linux/seccomp.h
// documents, USER_NOTIF and TRACE included, and unknown values by number.
func TestRetOrder(t *testing.T) {
	order := []uint32{RetKillProcess, RetKillThread, 0x00010000 /* unknown */, RetTrap, RetErrno,
		0x00060000 /* unknown */, RetUserNotif, RetTrace, RetLog, RetAllow}
	for i, a := range order {
		for j, b := range order {
			if got := RetStronger(a|5, b); got != (i < j) {
				t.Errorf("RetStronger(%s, %s) = %v", DescribeRet(a|5), DescribeRet(b), got)
			}
		}
	}
}

func TestCombine(t *testing.T) {
	for _, c := range []struct {
		rets []uint32
		want int
	}{
		{nil, -1},
		{[]uint32{RetAllow, RetLog}, 1},
		{[]uint32{RetAllow, RetAllow | 7}, -1},
		// systemd's allow-list and fencer's exec-once gate: the gate.
		{[]uint32{RetUserNotif, RetAllow}, 0},
		// A filter the service installs later returns USER_NOTIF too: the
		// newest of equal actions wins, and its listener answers.
		{[]uint32{RetUserNotif, RetUserNotif, RetAllow}, 0},
		// Any errno, trap or kill outranks the gate; TRACE and LOG do not.
		{[]uint32{RetTrace, RetUserNotif}, 1},
		{[]uint32{RetLog, RetUserNotif}, 1},
		{[]uint32{RetUserNotif, RetErrno | 1}, 1},
		{[]uint32{RetErrno | 1, RetErrno | 2}, 0},
		{[]uint32{RetTrap, RetKillThread, RetErrno}, 1},
		{[]uint32{RetKillThread, RetKillProcess}, 1},
	} {
		if got := Combine(c.rets); got != c.want {
			t.Errorf("Combine(%#x) = %d, want %d", c.rets, got, c.want)
		}
	}
}
