// Command dns answers one name with one IPv4 address the way Docker's
// embedded DNS answers a network alias (internal/dockerdns), so that
// bench/proxy.sh can run the proxy's real haproxy.cfg, which finds the
// replicas through DNS, on loopback. It serves until SIGINT or SIGTERM.
//
//	dns -addr 127.0.0.1:18053 -name backend -ip 127.0.0.1
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/helloagents/infra/backend/internal/dockerdns"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18053", "UDP address to serve on")
	name := flag.String("name", "backend", "the name to answer (the replicas' network alias)")
	ip := flag.String("ip", "127.0.0.1", "the address to answer with")
	flag.Parse()
	if err := run(*addr, *name, *ip); err != nil {
		fmt.Fprintln(os.Stderr, "dns:", err)
		os.Exit(1)
	}
}

func run(addr, name, ip string) error {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return fmt.Errorf("-ip %q: want an IPv4 address", ip)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := dockerdns.Listen(ctx, addr, name)
	if err != nil {
		return err
	}
	srv.Add("replica", a)
	fmt.Fprintf(os.Stderr, "dns: %s -> %s on %s\n", name, a, srv.Addr())
	<-ctx.Done()
	return srv.Close()
}
