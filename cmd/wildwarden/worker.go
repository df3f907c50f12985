package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wildwarden/wildwarden"
	wwhttp "github.com/wildwarden/wildwarden/http"
	wwnats "github.com/wildwarden/wildwarden/nats"
)

type workerOptions struct {
	engineFlags
	natsURL     string
	store       string
	tenant      string
	batch       int
	concurrency int
	attempts    int
	ackWait     time.Duration
	statsEvery  time.Duration
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

SIGINT or SIGTERM stops fetching and gives the batches in flight back to
the stream.`,
		Example: `  wildwarden worker --nats nats://127.0.0.1:4222 --store postgres://ww@db/ww --tenant default`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWorker(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	o.engineFlags.register(cmd)
	cmd.Flags().StringVar(&o.natsURL, "nats", "nats://127.0.0.1:4222", "NATS server URL")
	cmd.Flags().StringVar(&o.store, "store", "", "where verdicts go: "+dbFlagHelp+" (required)")
	cmd.Flags().StringVar(&o.tenant, "tenant", "default", "tenant (name or ID) of listings whose message names none")
	cmd.Flags().IntVar(&o.batch, "batch", wwnats.DefaultBatch, "listings fetched and stored per transaction")
	cmd.Flags().IntVar(&o.concurrency, "concurrency", 0, "batches in flight at once (default: twice the number of CPUs Go may use)")
	cmd.Flags().IntVar(&o.attempts, "attempts", wwnats.DefaultAttempts, "deliveries of a listing before it goes to the dead-letter subject")
	cmd.Flags().DurationVar(&o.ackWait, "ack-wait", wwnats.DefaultAckWait, "how long the stream waits for an ack before redelivering (the worker renews it while busy)")
	cmd.Flags().DurationVar(&o.statsEvery, "stats-every", time.Minute, "log counts this often (0: only at exit)")
	_ = cmd.MarkFlagRequired("store")
	rootCmd.AddCommand(cmd)
}

func runWorker(ctx context.Context, o workerOptions, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	engine, err := o.engine()
	if err != nil {
		return fmt.Errorf("worker: screening engine: %w", err)
	}
	store, err := openStore(ctx, o.store)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer store.Close()
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
		JS: js, Store: store, Screener: engine, DefaultTenant: o.tenant,
		Batch: o.batch, Concurrency: o.concurrency, Attempts: o.attempts, AckWait: o.ackWait, Logger: log,
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
	kbVersion, modelVersion := engine.Versions()
	log.Info("worker: consuming", "nats", o.natsURL, "kb", kbVersion, "model", modelVersion)
	err = w.Run(ctx)
	logStats("worker: stopped")
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}
