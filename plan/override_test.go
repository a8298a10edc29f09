package plan

import "testing"

// TestOverrideProblem pins the words of the overrides and feeds that
// plan's other tests, which check them through planning, do not reach.
func TestOverrideProblem(t *testing.T) {
	for _, tc := range []struct {
		o    Override
		want string
	}{
		{Override{Kind: OverrideDropInName, Path: "/run/systemd/system/m.service.d/zz-fencer.conf", Own: "/etc/systemd/system/m.service.d/zz-fencer.conf"},
			"it has the name of fencer's drop-in and systemd reads it instead of fencer's /etc/systemd/system/m.service.d/zz-fencer.conf; remove it"},
		{Override{Kind: OverrideSocketMasked, Path: "/etc/systemd/system.control/m.socket", Own: "/etc/systemd/system/m.socket", Unit: "m.service"},
			"it is empty and comes earlier on the unit search path: it masks fencer's socket unit /etc/systemd/system/m.socket, so systemd does not load it and m.service cannot start; remove it"},
		{Override{Kind: OverrideSocketFeeds, Path: "/etc/systemd/system/t@.socket", Unit: "m.service", Fd: "sock", FdNumber: 3,
			Feed: &Feed{How: FeedTemplate, Service: "t@m.service", AliasOf: "m.service", Ignored: "%Z.service", IgnoredWhere: "/etc/systemd/system/t@.socket:3"}},
			`this socket unit passes its fds to m.service too (it is a template whose instance of the name of t@m.service has no Service= that systemd accepts (it ignores Service=%Z.service at /etc/systemd/system/t@.socket:3), so it starts that service, an alias of m.service), so fencer cannot guarantee the fd numbers of the policy (fd "sock" is to be 3); remove it, or point its Service= at another unit`},
		{Override{Kind: OverrideSocketFeeds, Path: "/etc/systemd/system/x.socket", Unit: "m.service", Fd: "sock", FdNumber: 3,
			Feed: &Feed{How: FeedPattern, Service: "m.service", Where: "/etc/systemd/system/x.socket:2", Value: "%H.service", HostSpecifiers: "%H"}},
			`this socket unit passes its fds to m.service too (its Service= (/etc/systemd/system/x.socket:2) is %H.service, which names m.service on a host whose %H makes it so), so fencer cannot guarantee the fd numbers of the policy (fd "sock" is to be 3); remove it, or point its Service= at another unit`},
	} {
		if got := tc.o.Problem(); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.o.Kind, got, tc.want)
		}
	}
}
