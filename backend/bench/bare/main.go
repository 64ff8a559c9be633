// Command bare is the benchmark baseline: a plain net/http server answering
// a fixed JSON body of the same size class as /health/live, with no
// middleware, so bench/health.sh can state the cost of the real stack.
//
// With -timeouts it sets the same server timeouts as cmd/server (read
// header 5 s, read 10 s, write 12 s, idle 60 s): net/http then sets socket
// deadlines on every request, a cost the production server must pay, so the
// difference between the two baselines is not the application's doing.
package main

import (
	"flag"
	"log"
	"net/http"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	timeouts := flag.Bool("timeouts", false, "set cmd/server's read, write and idle timeouts")
	flag.Parse()
	body := []byte(`{"status":"healthy","timestamp":"2024-01-09T10:30:00.123456Z","version":"dev","components":{}}` + "\n")
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: *addr, Handler: mux}
	if *timeouts {
		srv.ReadHeaderTimeout, srv.ReadTimeout = 5*time.Second, 10*time.Second
		srv.WriteTimeout, srv.IdleTimeout = 12*time.Second, 60*time.Second
	}
	log.Fatal(srv.ListenAndServe())
}
