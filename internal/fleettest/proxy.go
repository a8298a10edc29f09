package fleettest

import (
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// proxy forwards TCP connections from its listener to a backend (the
// host's sshd) and can drop them all at once.
type proxy struct {
	mu      sync.Mutex
	backend string // host:port
	stalled bool   // accept, but forward nothing
	ln      net.Listener
	addr    string                // the listener's address, kept across stop and listen
	conns   map[net.Conn]net.Conn // client connection -> backend connection (nil while dialing)
}

// listen starts listening on addr (or on the address it had, when
// called again after stop) and accepting; it does nothing when the
// proxy listens already.
func (p *proxy) listen(addr string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		return nil
	}
	if p.addr != "" {
		addr = p.addr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	p.ln, p.addr = ln, ln.Addr().String()
	if p.conns == nil {
		p.conns = map[net.Conn]net.Conn{}
	}
	go p.accept(ln)
	return nil
}

// port is the port the proxy listens on.
func (p *proxy) port() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	addr, _ := net.ResolveTCPAddr("tcp", p.addr)
	return addr.Port
}

func (p *proxy) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.ln != ln {
			// Stopped meanwhile.
			p.mu.Unlock()
			c.Close()
			return
		}
		p.conns[c] = nil
		p.mu.Unlock()
		go p.forward(c)
	}
}

// forward copies between the client connection c and a new connection to
// the backend until either side closes or the proxy cuts them.
func (p *proxy) forward(c net.Conn) {
	p.mu.Lock()
	stalled, backend := p.stalled, p.backend
	p.mu.Unlock()
	if stalled {
		// Read and drop what the client sends until it gives up or the
		// proxy cuts the connection; answer nothing.
		io.Copy(io.Discard, c)
		c.Close()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
		return
	}
	b, err := net.DialTimeout("tcp", backend, 10*time.Second)
	p.mu.Lock()
	_, live := p.conns[c]
	if err != nil || !live {
		delete(p.conns, c)
		p.mu.Unlock()
		c.Close()
		if b != nil {
			b.Close()
		}
		return
	}
	p.conns[c] = b
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(b, c); done <- struct{}{} }()
	go func() { io.Copy(c, b); done <- struct{}{} }()
	<-done
	c.Close()
	b.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// cut closes every connection, both ways, and returns how many clients
// were connected.
func (p *proxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns)
	for c, b := range p.conns {
		c.Close()
		if b != nil {
			b.Close()
		}
		delete(p.conns, c)
	}
	return n
}

// setBackend sets where the proxy forwards connections to.
func (p *proxy) setBackend(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backend = addr
}

// stall makes the proxy hold the connections it accepts from now on
// without forwarding them (on), or forward them again (off).
func (p *proxy) stall(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = on
}

// count is how many client connections are open.
func (p *proxy) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// stop stops listening (connections are refused) and cuts every
// connection; listen starts again on the same port.
func (p *proxy) stop() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.mu.Unlock()
	p.cut()
}
