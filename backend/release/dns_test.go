package release

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// dockerDNS answers one name the way Docker's embedded DNS answers a
// network alias: the A records of every container that has the alias and is
// running (healthy or not), in random order, TTL 600; an empty NOERROR
// answer to other types of a known name; NXDOMAIN when no container has it
// (Docker forwards the query, and the upstream knows no such name).
type dockerDNS struct {
	conn net.PacketConn
	name string // lower case, fully qualified

	mu    sync.Mutex
	addrs map[string]netip.Addr // container name -> address
}

// startDNS serves name on a free UDP port of 127.0.0.1 until the test ends.
func startDNS(t *testing.T, name string) *dockerDNS {
	t.Helper()
	conn, err := (&net.ListenConfig{}).ListenPacket(t.Context(), "udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dns: %v", err)
	}
	d := &dockerDNS{conn: conn, name: strings.ToLower(name) + ".", addrs: map[string]netip.Addr{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.serve()
	}()
	t.Cleanup(func() {
		_ = conn.Close()
		<-done
	})
	return d
}

// Addr is ip:port of the server.
func (d *dockerDNS) Addr() string { return d.conn.LocalAddr().String() }

// Add puts a started container's address into the answer.
func (d *dockerDNS) Add(container string, ip netip.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addrs[container] = ip
}

// Remove takes a removed container's address out of the answer.
func (d *dockerDNS) Remove(container string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.addrs, container)
}

func (d *dockerDNS) serve() {
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
func (d *dockerDNS) answer(query []byte) (resp []byte, ok bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}

	d.mu.Lock()
	ips := make([]netip.Addr, 0, len(d.addrs))
	for _, ip := range d.addrs {
		ips = append(ips, ip)
	}
	d.mu.Unlock()
	rand.Shuffle(len(ips), func(i, j int) { ips[i], ips[j] = ips[j], ips[i] })

	rcode := dnsmessage.RCodeSuccess
	known := strings.EqualFold(q.Name.String(), d.name) && q.Class == dnsmessage.ClassINET
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
