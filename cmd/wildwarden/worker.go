package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	nethttp "net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wildwarden/wildwarden"
	wwhttp "github.com/wildwarden/wildwarden/http"
	wwnats "github.com/wildwarden/wildwarden/nats"
	"github.com/wildwarden/wildwarden/replica"
)

type workerOptions struct {
	engineFlags
	images      imageFlags
	natsURL     string
	store       string
	tenant      string
	batch       int
	concurrency int
	attempts    int
	ackWait     time.Duration
	statsEvery  time.Duration
	// syncInterval is how often other processes' changes are picked up.
	syncInterval time.Duration
	// metricsAddr is where /metrics, /healthz and /readyz are served; ""
	// serves none.
	metricsAddr string
}

func init() {
	var o workerOptions
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Screen listings from a NATS JetStream stream into the store",
		Long: `Consume listings from the JetStream stream WILDWARDEN_LISTINGS (work queue,
fed by "wildwarden publish"), screen them, store each verdict and publish
it on the subject wildwarden.verdicts. Run as many workers as you like on
one stream and one PostgreSQL database: each listing is screened by one
worker, and a listing redelivered after a crash is stored once.

A listing is acknowledged only after its verdict is stored and published.
Listings that cannot be screened (invalid JSON, an unknown tenant, too many
failed deliveries) go to the dead-letter subject wildwarden.dead with the
reason in the Wildwarden-Error header. While the store is down or slow the
worker keeps retrying and tells the stream it is still working: nothing is
dropped, the stream holds the backlog.

A worker screens with the knowledge the serve replicas have. At start it
applies the knowledge-base additions admins made in the console; every
--sync-interval it picks up, without a restart, new additions and the
image-bank changes made with 'wildwarden bank' or through a replica's API
(one indexed query when nothing changed).

With --images (on by default, as for serve) each of a listing's images (an
http(s) URL or a data: URI; never a local file) is fetched, matched against
its tenant's image banks and read with OCR when Tesseract is installed; a
listing version with images whose verdict is stored already keeps it
instead of being screened again. --images=false screens the text alone.

With --metrics-addr the worker serves on that address what serve has
beside its API: /metrics (Prometheus: verdicts by decision, duplicates,
redeliveries, dead letters by cause, store errors, batch sizes and times,
screening times, messages in flight, the changes picked up from other
processes, and the Go runtime's and the process's series), /healthz, and
/readyz, which answers 200 while the worker is connected to NATS and the
store answers. It is off by default: without it a worker opens no port,
and several workers on one machine need a port each.

SIGINT or SIGTERM stops fetching and gives the batches in flight back to
the stream, then closes the metrics listener.`,
		Example: `  wildwarden worker --nats nats://127.0.0.1:4222 --store postgres://ww@db/ww --tenant default
  wildwarden worker --nats nats://nats.internal:4222 --store postgres://ww@db/ww --metrics-addr 0.0.0.0:9464`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWorker(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	o.engineFlags.register(cmd)
	o.images.register(cmd, true)
	cmd.Flags().StringVar(&o.natsURL, "nats", "nats://127.0.0.1:4222", "NATS server URL")
	cmd.Flags().StringVar(&o.store, "store", "", "where verdicts go: "+dbFlagHelp+" (required)")
	cmd.Flags().StringVar(&o.tenant, "tenant", "default", "tenant (name or ID) of listings whose message names none")
	cmd.Flags().IntVar(&o.batch, "batch", wwnats.DefaultBatch, "listings fetched and stored per transaction")
	cmd.Flags().IntVar(&o.concurrency, "concurrency", 0, "batches in flight at once (default: twice the number of CPUs Go may use)")
	cmd.Flags().IntVar(&o.attempts, "attempts", wwnats.DefaultAttempts, "deliveries of a listing before it goes to the dead-letter subject")
	cmd.Flags().DurationVar(&o.ackWait, "ack-wait", wwnats.DefaultAckWait, "how long the stream waits for an ack before redelivering (the worker renews it while busy)")
	cmd.Flags().DurationVar(&o.statsEvery, "stats-every", time.Minute, "log counts this often (0: only at exit)")
	cmd.Flags().DurationVar(&o.syncInterval, "sync-interval", 10*time.Second, "how often to pick up knowledge-base additions and image-bank changes made by serve replicas or the CLI (0 turns it off)")
	cmd.Flags().StringVar(&o.metricsAddr, "metrics-addr", "", "serve /metrics, /healthz and /readyz on this address (host:port; port 0 picks a free one), e.g. 0.0.0.0:9464 (off by default)")
	_ = cmd.MarkFlagRequired("store")
	rootCmd.AddCommand(cmd)
}

func runWorker(ctx context.Context, o workerOptions, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.syncInterval < 0 {
		return fmt.Errorf("worker: --sync-interval is %v; want 0 (off) or more", o.syncInterval)
	}
	// The metrics address is taken before anything slow, so that a wrong
	// or busy one fails the start at once.
	var metricsLn net.Listener
	if o.metricsAddr != "" {
		var err error
		if metricsLn, err = net.Listen("tcp", o.metricsAddr); err != nil {
			return fmt.Errorf("worker: --metrics-addr: %w", err)
		}
		defer metricsLn.Close() // closed already when it was served
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	store, err := openStore(ctx, o.store)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer store.Close()
	// As serve does: the changes of other processes are followed from the
	// newest one before the engine and the banks are loaded, so none
	// committed meanwhile is missed.
	syncFrom, err := store.SyncHead(ctx)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	engine, err := o.reloadableEngine(ctx, store)
	if err != nil {
		return fmt.Errorf("worker: screening engine: %w", err)
	}
	screener, banks, err := o.images.workerScreener(ctx, store, engine, log)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	// The series of serve's that a worker has: the same names, from the
	// same code.
	registry := wwhttp.NewRegistry()
	metrics, err := wwnats.NewMetrics(registry)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	// The syncer logs and counts the additions the engine skipped at
	// start, as serve's does, and follows other processes' changes when
	// the interval is on.
	cfg := replica.Config{Store: store, Engine: engine, After: syncFrom, Logger: log, Registerer: registry}
	if banks != nil { // a nil *inspect.Banks would make a non-nil interface
		cfg.Banks = banks
	}
	syncer, err := replica.New(cfg)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	// The worker's verdicts set in motion what the service's do: a block
	// gets its statement of reasons, a review its queue item.
	screenings, err := wwhttp.NewScreeningBuilder()
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	nc, js, err := wwnats.Connect(o.natsURL, "wildwarden-worker")
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer nc.Drain() //nolint:errcheck // closing anyway
	w := &wwnats.Worker{
		JS: js, Store: store, Screener: screener, DefaultTenant: o.tenant,
		Batch: o.batch, Concurrency: o.concurrency, Attempts: o.attempts, AckWait: o.ackWait, Metrics: metrics, Logger: log,
		Effects: func(l *wildwarden.Listing, v *wildwarden.Verdict) *wildwarden.Screening {
			return screenings.ScreeningOf(l, v, "", wwnats.SourceStream) // the worker sets the content hash
		},
	}
	start := time.Now()
	logStats := func(msg string) {
		st := w.Stats()
		elapsed := time.Since(start)
		log.Info(msg, "screened", st.Screened, "duplicates", st.Duplicates, "redelivered", st.Redelivered,
			"dead_lettered", st.DeadLettered, "elapsed", elapsed.Round(time.Millisecond),
			"per_second", fmt.Sprintf("%.1f", float64(st.Screened+st.Duplicates)/elapsed.Seconds()))
	}
	if o.statsEvery > 0 {
		go func() {
			t := time.NewTicker(o.statsEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					logStats("worker: progress")
				}
			}
		}()
	}
	var syncing sync.WaitGroup
	if o.syncInterval > 0 {
		syncing.Go(func() { syncer.Run(ctx, o.syncInterval) })
	}
	if metricsLn != nil {
		// Deferred after the store and the NATS connection, so it stops
		// before they close: a scrape while the worker stops still reads
		// its counts.
		stopOperations := serveOperations(metricsLn, wwhttp.OperationsHandler(registry, w.Ready), log)
		defer stopOperations()
	}
	kbVersion, modelVersion := engine.Versions()
	log.Info("worker: consuming", "nats", o.natsURL, "kb", kbVersion, "model", modelVersion, "images", o.images.enabled, "sync_interval", o.syncInterval)
	err = w.Run(ctx)
	stop() // a worker that failed stops syncing too
	syncing.Wait()
	logStats("worker: stopped")
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}

// serveOperations serves the worker's metrics and probes on ln until the
// returned stop is called; stop waits for scrapes in flight, up to 5s. A
// listener that fails is logged and the worker goes on: the stream's work
// matters more than its metrics, and Prometheus sees the target down.
func serveOperations(ln net.Listener, h nethttp.Handler, log *slog.Logger) (stop func()) {
	srv := &nethttp.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); !errors.Is(err, nethttp.ErrServerClosed) {
			log.Error("worker: metrics listener failed; the worker goes on without it", "err", err)
		}
	}()
	log.Info("worker: serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Warn("worker: metrics listener: shutdown", "err", err)
		}
		<-served
	}
}
