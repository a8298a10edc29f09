package recorder

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/observe"
	"github.com/fencer-dev/fencer/internal/unitfile"
)

func frag(path, text string) unitfile.Fragment {
	return unitfile.Fragment{Path: path, Data: []byte(text)}
}

func TestUnitFds(t *testing.T) {
	service := []unitfile.Fragment{
		frag("/etc/systemd/system/web.service", "[Service]\nExecStart=/usr/bin/web\nStandardOutput=append:/var/log/web.log\nStandardError=journal\n"),
		frag("/etc/systemd/system/web.service.d/a.conf", "[Service]\nStandardError=\n"),
	}
	sockets := []SocketUnit{
		{Name: "web.socket", Fragments: []unitfile.Fragment{
			frag("/etc/systemd/system/web.socket", "[Socket]\nListenStream=0.0.0.0:80\nListenDatagram=/run/old.sock\n"),
			frag("/etc/systemd/system/web.socket.d/b.conf", "[Socket]\nListenStream=\nListenStream=127.0.0.1:8080\nListenDatagram=/run/web.sock\nListenFIFO=/run/web.fifo\n"),
		}},
		{Name: "web-admin.socket", Fragments: []unitfile.Fragment{
			frag("/etc/systemd/system/web-admin.socket", "[Socket]\nListenSequentialPacket=@admin\nFileDescriptorName=9admin\n"),
		}},
	}
	got, err := UnitFds(service, sockets)
	if err != nil {
		t.Fatal(err)
	}
	want := []observe.Fd{
		{Number: 0, Name: "stdin", Kind: "stdin", Value: "null"},
		{Number: 1, Name: "stdout", Kind: "stdout", Value: "append:/var/log/web.log"},
		{Number: 2, Name: "stderr", Kind: "stderr", Value: "inherit"},
		{Number: 3, Name: "web", Kind: "listen_stream", Value: "127.0.0.1:8080"},
		{Number: 4, Name: "web_2", Kind: "listen_datagram", Value: "/run/web.sock"},
		{Number: 5, Name: "web_3", Kind: "number"},
		{Number: 6, Name: "fd_9admin", Kind: "listen_sequential_packet", Value: "@admin"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("UnitFds:\n got %+v\nwant %+v", got, want)
	}
}

func TestDropIn(t *testing.T) {
	uo := &UnitOptions{Unit: "web.service", Options: Options{Strace: "/usr/bin/strace"}}
	cmds, _, err := unitfile.ExecStart([]unitfile.Fragment{frag("/u/web.service", "[Service]\nType=oneshot\nExecStart=-/usr/bin/web --port %i\nExecStart=/bin/true\n")})
	if err != nil {
		t.Fatal(err)
	}
	text, err := uo.dropIn(cmds, "/run/fencer-record-1/trace-x")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nExecStart=\n",
		"\nExecStart=-/usr/bin/strace -D -f -q ",
		" -o /run/fencer-record-1/trace-x -- /usr/bin/web --port %i\n",
		" -- /bin/true\n",
		"\nSystemCallFilter=\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("drop-in has no %q:\n%s", want, text)
		}
	}
	for _, bad := range []string{"@/usr/bin/web x", "+/usr/bin/web"} {
		cmds, _, err := unitfile.ExecStart([]unitfile.Fragment{frag("/u/web.service", "[Service]\nExecStart="+bad+"\n")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := uo.dropIn(cmds, "/run/x"); err == nil {
			t.Errorf("ExecStart=%s: no error", bad)
		}
	}
}
