package http

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the service's Prometheus series. They carry no tenant label:
// /metrics is the operator's view; a tenant reads its own counts at
// /v1/stats. wildwarden worker counts its verdicts and duplicates under
// the same names (nats.Metrics).
type metrics struct {
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	verdicts     *prometheus.CounterVec
	duplicates   prometheus.Counter
	searchChecks *prometheus.CounterVec
	searchEvents *prometheus.CounterVec
	decisions    *prometheus.CounterVec
	reports      prometheus.Counter
	appeals      prometheus.Counter
	deliveries   *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wildwarden_http_requests_total", Help: "HTTP requests by route and status."}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "wildwarden_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5}}, []string{"route"}),
		verdicts:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wildwarden_verdicts_total", Help: "Verdicts stored, by decision."}, []string{"decision"}),
		duplicates:   prometheus.NewCounter(prometheus.CounterOpts{Name: "wildwarden_screen_duplicates_total", Help: "Screen requests answered from a stored verdict of the same content."}),
		searchChecks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wildwarden_search_checks_total", Help: "Search checks, by whether a warning was shown."}, []string{"warn"}),
		searchEvents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wildwarden_search_events_total", Help: "Search-warning events (impression, click, dismiss)."}, []string{"type"}),
		decisions:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wildwarden_review_decisions_total", Help: "Review decisions, by action and item kind."}, []string{"action", "kind"}),
		reports:      prometheus.NewCounter(prometheus.CounterOpts{Name: "wildwarden_reports_total", Help: "User reports received."}),
		appeals:      prometheus.NewCounter(prometheus.CounterOpts{Name: "wildwarden_appeals_total", Help: "Appeals received."}),
		deliveries:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wildwarden_webhook_attempts_total", Help: "Webhook delivery attempts, by outcome."}, []string{"outcome"}),
	}
	for _, c := range append([]prometheus.Collector{m.requests, m.latency, m.verdicts, m.duplicates, m.searchChecks, m.searchEvents, m.decisions, m.reports, m.appeals, m.deliveries},
		runtimeCollectors()...) {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

type loggerKey struct{}

// loggerFrom returns the request's logger.
func loggerFrom(r *http.Request) *slog.Logger {
	if l, ok := r.Context().Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// instrument counts and times a route and puts the logger in the context.
func (s *Server) instrument(route string, h http.Handler) http.Handler {
	latency := s.metrics.latency.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), loggerKey{}, s.log))
		h.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		latency.Observe(time.Since(start).Seconds())
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
	})
}
