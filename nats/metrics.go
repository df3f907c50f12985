package nats

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildwarden/wildwarden"
)

// Why a message went to the dead-letter stream: the values of the cause
// label, few and fixed so that an alert can tell a producer's bad data
// from listings the store keeps failing on.
const (
	causeInvalid           = "invalid"             // not a JetStream message, or not a listing
	causeUnknownTenant     = "unknown_tenant"      // the tenant header names no tenant
	causeScreening         = "screening_failed"    // the screener failed or panicked
	causeStoreRefused      = "store_refused"       // the store refused the verdict as invalid
	causeTooManyDeliveries = "too_many_deliveries" // Worker.Attempts deliveries without being stored
)

// Metrics are a worker's Prometheus series; several workers in one
// process may share them. Verdicts and duplicates have the names and
// labels of serve's (http/metrics.go), so that one query counts the
// verdicts stored from the API and from the stream; the series only a
// worker has are named wildwarden_worker_….
type Metrics struct {
	verdicts      *prometheus.CounterVec
	duplicates    prometheus.Counter
	redelivered   prometheus.Counter
	deadLettered  *prometheus.CounterVec
	storeErrors   prometheus.Counter
	batchSize     prometheus.Histogram
	batchDuration prometheus.Histogram
	screenLatency prometheus.Histogram
	inFlight      prometheus.Gauge
}

// NewMetrics makes a worker's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := newMetrics()
	for _, c := range []prometheus.Collector{m.verdicts, m.duplicates, m.redelivered, m.deadLettered, m.storeErrors,
		m.batchSize, m.batchDuration, m.screenLatency, m.inFlight} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("nats: metrics: %w", err)
		}
	}
	return m, nil
}

// newMetrics makes metrics registered nowhere, for a worker given none.
func newMetrics() *Metrics {
	m := &Metrics{
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wildwarden_verdicts_total",
			Help: "Verdicts stored, by decision."}, []string{"decision"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "wildwarden_screen_duplicates_total",
			Help: "Listing versions whose verdict the store had already (a redelivery, or a listing published again after the stream's de-duplication window)."}),
		redelivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "wildwarden_worker_redeliveries_total",
			Help: "Messages received that had been delivered before (a worker died or gave its batch back, or the ack wait passed)."}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wildwarden_worker_dead_letters_total",
			Help: "Listings moved to the dead-letter stream, by cause."}, []string{"cause"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "wildwarden_worker_store_errors_total",
			Help: "Writes of a batch's verdicts that failed; each is retried until it succeeds."}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "wildwarden_worker_batch_size",
			Help:    "Messages per fetched batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11)}), // 1 … 1024
		batchDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "wildwarden_worker_batch_duration_seconds",
			Help:    "Time from a batch's fetch to its last acknowledgement: screening, store writes with their retries, verdict publishes.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}}),
		screenLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "wildwarden_worker_screen_duration_seconds",
			Help: "Time to screen one listing, fetching and reading its images included.",
			// Text takes about 0.1 ms, images from milliseconds to the
			// image timeout.
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05, 0.25, 1, 5, 15}}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wildwarden_worker_messages_in_flight",
			Help: "Messages in the batches being worked on: fetched, and not yet all acknowledged, given back or dead-lettered."}),
	}
	// Every label value is exported from the start, at 0, so that a rate
	// over the first increment is not lost.
	for _, d := range []wildwarden.Decision{wildwarden.Allow, wildwarden.Review, wildwarden.Block} {
		m.verdicts.WithLabelValues(string(d))
	}
	for _, c := range []string{causeInvalid, causeUnknownTenant, causeScreening, causeStoreRefused, causeTooManyDeliveries} {
		m.deadLettered.WithLabelValues(c)
	}
	return m
}
