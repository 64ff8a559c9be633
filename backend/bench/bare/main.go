// Command bare is the benchmark baseline: a plain net/http server answering
// a fixed JSON body of the same size class as /health/live, with no
// middleware, so bench/health.sh can state the cost of the real stack.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	flag.Parse()
	body := []byte(`{"status":"healthy","timestamp":"2024-01-09T10:30:00.123456Z","version":"dev","components":{}}` + "\n")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
