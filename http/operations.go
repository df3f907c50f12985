package http

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// runtimeCollectors are the Go runtime's and the process's series that
// every wildwarden process with a /metrics exports.
func runtimeCollectors() []prometheus.Collector {
	return []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}
}

// NewRegistry returns a registry holding the Go runtime and process
// series serve's /metrics has, for a process without the API (wildwarden
// worker) to count in.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(runtimeCollectors()...) // two distinct collectors on an empty registry
	return reg
}

// OperationsHandler serves what serve has beside its API, for a process
// without the API (wildwarden worker): GET /metrics from g, GET /healthz
// while the process runs and GET /readyz, which answers 200 when ready
// returns nil and 503 with its error otherwise.
func OperationsHandler(g prometheus.Gatherer, ready func(context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", handleHealth)
	mux.HandleFunc("GET /readyz", readiness(ready))
	return mux
}

// handleHealth answers while the process runs.
func handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readiness answers whether the process can do its work, as ready says.
func readiness(ready func(context.Context) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := ready(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}
