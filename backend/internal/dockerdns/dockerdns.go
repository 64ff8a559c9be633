// Package dockerdns is a stand-in for Docker's embedded DNS, for tests and
// benchmarks that run the proxy (backend/proxy/haproxy.cfg) outside a
// container network: it answers one name with the addresses of the
// "containers" added to it.
package dockerdns

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// Server answers one name the way Docker's embedded DNS answers a network
// alias: the A records of every container that has the alias and is
// running (healthy or not), in random order, TTL 600; an empty NOERROR
// answer to other types of a known name; NXDOMAIN when no container has it
// (Docker forwards the query, and the upstream knows no such name). Other
// aliases on the same network are added with AddAlias (a canary beside
// the stable replicas).
type Server struct {
	conn net.PacketConn
	name string // lower case, fully qualified
	done chan struct{}

	mu    sync.Mutex
	addrs map[string]entry // container name -> alias and address
}

type entry struct {
	name string // lower case, fully qualified
	ip   netip.Addr
}

// Listen serves name on the UDP address addr (port 0: a free one) until
// Close.
func Listen(ctx context.Context, addr, name string) (*Server, error) {
	conn, err := (&net.ListenConfig{}).ListenPacket(ctx, "udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("dns: listen on %s: %w", addr, err)
	}
	d := &Server{conn: conn, name: fqdn(name), addrs: map[string]entry{}, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		d.serve()
	}()
	return d, nil
}

// Start serves name on a free UDP port of 127.0.0.1 until the test ends.
func Start(t testing.TB, name string) *Server {
	t.Helper()
	d, err := Listen(t.Context(), "127.0.0.1:0", name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// Close stops serving and waits until the server has stopped.
func (d *Server) Close() error {
	err := d.conn.Close()
	<-d.done
	return err
}

// Addr is ip:port of the server.
func (d *Server) Addr() string { return d.conn.LocalAddr().String() }

// Add puts a started container's address into the answer.
func (d *Server) Add(container string, ip netip.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addrs[container] = entry{d.name, ip}
}

// AddAlias puts a started container's address into the answer of alias
// instead of the Server's name.
func (d *Server) AddAlias(alias, container string, ip netip.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addrs[container] = entry{fqdn(alias), ip}
}

func fqdn(name string) string { return strings.ToLower(name) + "." }

// Remove takes a removed container's address out of the answer.
func (d *Server) Remove(container string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.addrs, container)
}

func (d *Server) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := d.conn.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		if resp, ok := d.answer(buf[:n]); ok {
			_, _ = d.conn.WriteTo(resp, from)
		}
	}
}

// answer builds the response to one query; ok is false for what is not a
// query (Docker drops those too).
func (d *Server) answer(query []byte) (resp []byte, ok bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}

	asked := strings.ToLower(q.Name.String())
	d.mu.Lock()
	ips := make([]netip.Addr, 0, len(d.addrs))
	for _, e := range d.addrs {
		if e.name == asked {
			ips = append(ips, e.ip)
		}
	}
	d.mu.Unlock()
	rand.Shuffle(len(ips), func(i, j int) { ips[i], ips[j] = ips[j], ips[i] })

	rcode := dnsmessage.RCodeSuccess
	known := q.Class == dnsmessage.ClassINET
	if !known || len(ips) == 0 {
		rcode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{
		ID: h.ID, Response: true, OpCode: h.OpCode, RecursionDesired: h.RecursionDesired,
		RecursionAvailable: true, RCode: rcode,
	})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, false
	}
	if err := b.Question(q); err != nil {
		return nil, false
	}
	if err := b.StartAnswers(); err != nil {
		return nil, false
	}
	if rcode == dnsmessage.RCodeSuccess && q.Type == dnsmessage.TypeA {
		for _, ip := range ips {
			rh := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 600}
			if err := b.AResource(rh, dnsmessage.AResource{A: ip.As4()}); err != nil {
				return nil, false
			}
		}
	}
	resp, err = b.Finish()
	return resp, err == nil
}
