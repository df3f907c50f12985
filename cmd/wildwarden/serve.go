package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	nethttp "net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/console"
	wwhttp "github.com/wildwarden/wildwarden/http"
	"github.com/wildwarden/wildwarden/replica"
	"github.com/wildwarden/wildwarden/screen"
)

// defaultDB is where serve, admin and audit keep their data by default.
const defaultDB = "./wildwarden.db"

// firstTenant is the tenant created on a service's first start.
const firstTenant = "default"

type serveOptions struct {
	engineFlags
	images  imageFlags
	addr    string
	db      string
	maxBody int64
	lease   time.Duration
	drain   time.Duration
	debug   string
	// syncInterval is how often other processes' changes are picked up.
	syncInterval time.Duration
	// Review console.
	secureCookies   bool
	reductionTarget float64
}

func init() {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the screening service (JSON API, review queue, webhooks)",
		Long: `Run the screening service: the JSON API under /v1, /metrics, /healthz and
/readyz, the webhook dispatcher, and the review console at / (reviewers sign
in with a password set by 'wildwarden admin reviewer password NAME').

With no flags it listens on 127.0.0.1:8080 and keeps its data in
./wildwarden.db (SQLite, WAL). On the first start it creates the tenant
"default" and prints its admin API key once; only a hash is stored.

Replicas share the database: several serve processes on one PostgreSQL
database, or serve beside the CLI on one SQLite file. Every --sync-interval
a replica picks up, without a restart, the knowledge-base additions made in
another replica's console and the image-bank changes made with 'wildwarden
bank' or through another replica's API; when nothing changed, that costs
one indexed query. Changes made through a replica apply to it at once.

SIGINT or SIGTERM stops accepting connections and waits for requests in
flight (up to --drain). An answered request is on disk: a crash of the
process never loses it.`,
		Example: `  wildwarden serve
  wildwarden serve --addr 0.0.0.0:9000 --db /var/lib/wildwarden/ww.db
  wildwarden serve --addr 0.0.0.0:9000 --db postgres://ww@db.internal/ww`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runServe(cmd.Context(), o, cmd.ErrOrStderr()) },
	}
	o.engineFlags.register(cmd)
	o.images.register(cmd, true)
	cmd.Flags().StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free one)")
	cmd.Flags().StringVar(&o.db, "db", defaultDB, dbFlagHelp+" (a SQLite file is created if missing)")
	cmd.Flags().Int64Var(&o.maxBody, "max-body", wwhttp.DefaultMaxBody, "largest request body in bytes")
	cmd.Flags().DurationVar(&o.lease, "lease", wwhttp.DefaultLease, "how long a reviewer holds a claimed queue item")
	cmd.Flags().DurationVar(&o.drain, "drain", 30*time.Second, "how long shutdown waits for requests in flight")
	cmd.Flags().DurationVar(&o.syncInterval, "sync-interval", 10*time.Second, "how often to pick up knowledge-base additions and image-bank changes made by other replicas or the CLI (0 turns it off)")
	cmd.Flags().BoolVar(&o.secureCookies, "secure-cookies", false, "mark the console's cookies Secure (set it behind a TLS-terminating proxy; requests over TLS always get Secure cookies)")
	cmd.Flags().Float64Var(&o.reductionTarget, "reduction-target", 0.8, "the dashboard's goal: this share fewer violating listings than in the baseline period")
	cmd.Flags().StringVar(&o.debug, "debug-addr", "", "serve Go profiles (/debug/pprof) on this separate address, e.g. 127.0.0.1:6060 (off by default)")
	rootCmd.AddCommand(cmd)
}

func runServe(ctx context.Context, o serveOptions, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.syncInterval < 0 {
		return fmt.Errorf("serve: --sync-interval is %v; want 0 (off) or more", o.syncInterval)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if os.Getenv("GOGC") == "" {
		// The service keeps little live memory and allocates per request;
		// collecting less often buys throughput for a few MB of heap.
		debug.SetGCPercent(400)
	}
	store, err := openStore(ctx, o.db)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer store.Close()
	if err := bootstrap(ctx, store, redactDSN(o.db), stderr); err != nil {
		return err
	}
	// Other processes' changes are followed from the newest one before
	// the engine and the banks are loaded, so none committed meanwhile is
	// missed (replaying one that memory holds already changes nothing).
	syncFrom, err := store.SyncHead(ctx)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// The engine is reloadable: admins' knowledge-base additions (kept in
	// the store) apply at start and, from the console or another
	// replica's, without a restart.
	engine, err := o.reloadableEngine(ctx, store)
	if err != nil {
		return fmt.Errorf("serve: screening engine: %w", err)
	}
	inspector, err := o.images.inspector(false, log) // logs whether OCR is on
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	banks, err := loadBanks(ctx, store, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	kbVersion, modelVersion := engine.Versions()
	server, err := wwhttp.NewServer(wwhttp.Config{Store: store, Screener: engine, Logger: log, MaxBody: o.maxBody, Lease: o.lease,
		Images: inspector, Banks: banks,
		Console: func(api *wwhttp.Server) (nethttp.Handler, error) {
			return console.New(console.Config{Store: store, Decider: api, Engine: engine, Logger: log, Lease: o.lease,
				SecureCookies: o.secureCookies, ReductionTarget: o.reductionTarget})
		}})
	if err != nil {
		return err
	}
	// The syncer logs and counts the additions the engine skipped at
	// start, and follows other processes' changes when the interval is on.
	syncer, err := replica.New(replica.Config{Store: store, Engine: engine, Banks: banks, After: syncFrom, Logger: log, Registerer: server.Registry()})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	httpServer := &nethttp.Server{
		Handler:           server,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The webhook dispatcher and the syncer run until the requests in
	// flight are drained.
	workCtx, stopWork := context.WithCancel(context.Background())
	var work sync.WaitGroup
	work.Go(func() { server.NewDispatcher().Run(workCtx) })
	if o.syncInterval > 0 {
		work.Go(func() { syncer.Run(workCtx, o.syncInterval) })
	}
	if o.debug != "" {
		go serveDebug(o.debug, log)
	}
	served := make(chan error, 1)
	go func() { served <- httpServer.Serve(ln) }()
	log.Info("wildwarden: listening", "url", "http://"+ln.Addr().String(), "db", redactDSN(o.db), "kb", kbVersion, "model", modelVersion, "sync_interval", o.syncInterval)

	select {
	case err := <-served:
		stopWork()
		work.Wait()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("wildwarden: shutting down; draining requests in flight", "drain", o.drain)
	drainCtx, cancel := context.WithTimeout(context.Background(), o.drain)
	defer cancel()
	err = httpServer.Shutdown(drainCtx)
	stopWork()
	work.Wait()
	if err != nil && !errors.Is(err, nethttp.ErrServerClosed) {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	log.Info("wildwarden: stopped")
	return nil
}

// bootstrap creates the first tenant and its admin key when the database
// has no tenant, and prints the key once.
func bootstrap(ctx context.Context, store wildwarden.Store, db string, stderr io.Writer) error {
	tenants, err := store.Tenants(ctx)
	if err != nil {
		return err
	}
	if len(tenants) > 0 {
		return nil
	}
	ctx = wildwarden.WithActor(ctx, "bootstrap")
	t := &wildwarden.Tenant{Name: firstTenant}
	if err := store.CreateTenant(ctx, t); err != nil {
		return fmt.Errorf("serve: create first tenant: %w", err)
	}
	secret, _, err := wwhttp.IssueKey(ctx, store, t.ID, wildwarden.RoleAdmin, "", "first admin key")
	if err != nil {
		return fmt.Errorf("serve: create first admin key: %w", err)
	}
	fmt.Fprintf(stderr, `
First start: created tenant %q and its admin API key. It is shown only now
(the database keeps only its hash); store it in a secret manager:

    %s

Create a key for your platform to screen with:

    wildwarden admin key create --db %s --tenant %s --role platform

and reviewers with:

    wildwarden admin reviewer create --db %s --tenant %s alice

`, t.Name, secret, db, t.Name, db, t.Name)
	return nil
}

// reloadableEngine builds the screening engine of serve and worker with
// the knowledge-base additions stored by the console applied, but those
// its knowledge base refuses: they are skipped (the engine's Additions
// says why) and the replica's syncer reports them.
func (f engineFlags) reloadableEngine(ctx context.Context, store wildwarden.Store) (*screen.Reloadable, error) {
	scorer, err := loadScorer(f.modelPath, f.kbDir)
	if err != nil {
		return nil, err
	}
	engine, err := screen.NewReloadable(screen.Options{KBDir: f.kbDir, PolicyPath: f.policyPath, Scorer: scorer})
	if err != nil {
		return nil, err
	}
	adds, err := store.KBAdditions(ctx)
	if err != nil {
		return nil, err
	}
	if err := engine.Apply(adds); err != nil {
		return nil, err
	}
	return engine, nil
}

// serveDebug serves the runtime profiles on their own listener, so they are
// never exposed on the API address.
func serveDebug(addr string, log *slog.Logger) {
	mux := nethttp.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	if err := nethttp.ListenAndServe(addr, mux); err != nil {
		log.Error("debug listener", "err", err)
	}
}
