// Package replica keeps what a running service holds in memory in step
// with a store that other processes change too: several `wildwarden serve`
// replicas and `wildwarden worker` processes on one PostgreSQL database,
// or serve beside CLI commands on one SQLite file. Two things live in memory and change in the store: the
// knowledge-base additions the screening engine is built with, and the
// tenants' image banks. A Syncer polls the store's sync log (the audit
// entries of those changes, wildwarden.Store.SyncLog) and applies what is
// new: it rebuilds the engine with all the additions, which skips each one
// this process's knowledge base refuses and applies the others, and
// replays bank changes one by one on the banks in memory, whose index
// takes adds and removes without a rebuild.
package replica

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/screen"
)

// pageSize bounds the sync log entries read in one query; a poll reads
// pages until it has seen them all.
const pageSize = 1000

// Store is what a Syncer reads.
type Store interface {
	SyncLog(ctx context.Context, afterSeq int64, limit int) ([]wildwarden.AuditEntry, error)
	KBAdditions(ctx context.Context) ([]wildwarden.KBAddition, error)
}

// Engine is the screening engine additions apply to (screen.Reloadable):
// Apply rebuilds it with all the additions but those its knowledge base
// refuses, which Additions reports, or keeps it on an error.
type Engine interface {
	Apply(adds []wildwarden.KBAddition) error
	Additions() (applied []string, skipped []screen.SkippedAddition)
	Versions() (kbVersion, modelVersion string)
}

// Banks are the image banks in memory (inspect.Banks): Apply replays one
// bank change and reports whether memory changed.
type Banks interface {
	Apply(ctx context.Context, change wildwarden.AuditEntry) (bool, error)
}

// Config wires a Syncer.
type Config struct {
	Store Store
	// Engine receives knowledge-base additions. The additions it skipped
	// at start are reported by New, those it skips later by Poll.
	Engine Engine
	// Banks receive image-bank changes; nil when the process holds no
	// banks in memory (a worker that reads no images), which passes them
	// over.
	Banks Banks
	// After is the sequence number of the newest change memory holds:
	// Store.SyncHead, read before the engine and the banks were loaded.
	After  int64
	Logger *slog.Logger
	// Registerer receives the metrics; they are not exported when nil.
	Registerer prometheus.Registerer
}

// Syncer applies the changes other processes stored. It is safe for
// concurrent use; polls run one at a time.
type Syncer struct {
	cfg Config
	log *slog.Logger

	mu    sync.Mutex // held by a poll
	after int64      // the newest change applied
	// rebuild is set by an addition seen and cleared once the engine was
	// rebuilt, or refused the additions: a failed read of them retries at
	// the next poll.
	rebuild bool
	// reported holds the IDs of the skipped additions logged and counted.
	reported map[string]bool

	applied  *prometheus.CounterVec
	skipped  *prometheus.CounterVec
	failures prometheus.Counter
}

// New returns a Syncer that follows the store from cfg.After, having
// logged and counted the additions the engine skipped at start.
func New(cfg Config) (*Syncer, error) {
	s := &Syncer{cfg: cfg, log: cfg.Logger, after: cfg.After, reported: map[string]bool{},
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wildwarden_sync_applied_total",
			Help: "Changes made by other processes and applied here: engine rebuilds with new knowledge-base additions, image-bank changes."}, []string{"what"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wildwarden_sync_skipped_total",
			Help: "Stored changes passed over because this process refuses them, each counted once: knowledge-base additions its knowledge base refuses (kb_addition)."}, []string{"what"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "wildwarden_sync_failures_total",
			Help: "Polls of the store that failed, and changes or engine rebuilds that could not be applied."}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{s.applied, s.skipped, s.failures} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("replica: metrics: %w", err)
			}
		}
	}
	s.reportSkipped()
	return s, nil
}

// Run polls every interval until ctx ends, logging failed polls (the next
// poll tries again from where the failed one stopped).
func (s *Syncer) Run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := s.Poll(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sync: poll failed; retrying at the next one", "err", err)
		}
	}
}

// Poll applies the changes stored since the last poll. When none were, it
// costs one query. An error leaves the changes not yet applied for the
// next poll; a change that can never apply (refused as invalid) is logged
// and passed over, and so is each addition the engine's knowledge base
// refuses: the others apply.
func (s *Syncer) Poll(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var applied, held int
	for {
		page, err := s.cfg.Store.SyncLog(ctx, s.after, pageSize)
		if err != nil {
			s.failures.Inc()
			s.logApplied(applied, held)
			return fmt.Errorf("replica: sync log after %d: %w", s.after, err)
		}
		for _, change := range page {
			if change.Action == wildwarden.AuditKBAdd {
				// One rebuild takes all the additions of the poll.
				s.rebuild = true
				s.after = change.Seq
				continue
			}
			if s.cfg.Banks == nil {
				s.after = change.Seq
				continue
			}
			changed, err := s.cfg.Banks.Apply(ctx, change)
			switch {
			case err != nil && wildwarden.ErrorCode(err) != wildwarden.EINVALID:
				s.failures.Inc()
				s.logApplied(applied, held)
				return fmt.Errorf("replica: apply %s %s (audit entry %d): %w", change.Action, change.Subject, change.Seq, err)
			case err != nil:
				s.failures.Inc()
				s.log.Error("sync: change not applied: it never will be", "seq", change.Seq, "tenant", change.TenantID, "action", change.Action, "subject", change.Subject, "err", err)
			case changed:
				applied++
				s.applied.WithLabelValues("bank_change").Inc()
				s.log.Debug("sync: image-bank change applied", "seq", change.Seq, "tenant", change.TenantID, "action", change.Action, "subject", change.Subject, "by", change.Actor)
			default:
				held++
			}
			s.after = change.Seq
		}
		if len(page) < pageSize {
			break
		}
	}
	s.logApplied(applied, held)
	if s.rebuild {
		return s.rebuildEngine(ctx)
	}
	return nil
}

// logApplied says what a poll picked up. Changes memory held already were
// made by this process, or loaded after they were made.
func (s *Syncer) logApplied(applied, held int) {
	if applied > 0 {
		s.log.Info("sync: image-bank changes picked up", "applied", applied, "already_held", held, "seq", s.after)
	} else if held > 0 {
		s.log.Debug("sync: image-bank changes already held", "changes", held, "seq", s.after)
	}
}

// rebuildEngine rebuilds the engine with all the stored additions but
// those it refuses. The engine keeps its current build when it has them
// all already, and when the build fails.
func (s *Syncer) rebuildEngine(ctx context.Context) error {
	adds, err := s.cfg.Store.KBAdditions(ctx)
	if err != nil {
		s.failures.Inc()
		return fmt.Errorf("replica: knowledge-base additions: %w", err)
	}
	s.rebuild = false
	before, _ := s.cfg.Engine.Versions()
	if err := s.cfg.Engine.Apply(adds); err != nil {
		s.failures.Inc()
		s.log.Error("sync: knowledge-base additions not applied; the engine keeps its knowledge base", "additions", len(adds), "kb", before, "err", err)
		return nil
	}
	if after, _ := s.cfg.Engine.Versions(); after != before {
		s.applied.WithLabelValues("engine_rebuild").Inc()
		s.log.Info("sync: knowledge-base additions picked up; engine rebuilt", "additions", len(adds), "kb", after, "was", before)
	}
	s.reportSkipped()
	return nil
}

// reportSkipped logs and counts, once each, the additions the engine
// skipped because its knowledge base refuses them (a category or taxon
// this process's --kb lacks, a pattern its detector cannot compile).
func (s *Syncer) reportSkipped() {
	_, skipped := s.cfg.Engine.Additions()
	for _, a := range skipped {
		if s.reported[a.ID] {
			continue
		}
		s.reported[a.ID] = true
		s.skipped.WithLabelValues("kb_addition").Inc()
		s.log.Error("sync: knowledge-base addition skipped: this process's knowledge base refuses it; the others apply", "id", a.ID, "err", a.Err)
	}
}
