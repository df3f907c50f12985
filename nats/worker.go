package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/listings"
)

// SourceStream marks screenings made by a stream worker.
const SourceStream = "stream"

// Worker defaults. A batch of 256 listings costs the store and the NATS
// server less per listing than one of 64 (fewer transactions, fetch
// requests and statements; bench/stream.sh), and still screens in a few
// milliseconds.
const (
	DefaultBatch    = 256
	DefaultAttempts = 5
	DefaultAckWait  = 30 * time.Second
)

// Worker screens listings from the listing stream, stores the verdicts and
// publishes them. Several workers (processes) share the stream's durable
// consumer; each takes its own messages.
//
// Backpressure: a worker fetches a new batch only when its previous one is
// acknowledged, so at most Concurrency×Batch messages are in flight per
// worker. While the store is slow or down, the worker keeps retrying the
// write and tells the stream the batch is in progress, so the messages are
// neither redelivered elsewhere nor counted as failed deliveries; the
// stream holds the backlog.
type Worker struct {
	JS    jetstream.JetStream
	Store wildwarden.Store
	// Screener judges the listings; when it is a TenantScreener too, the
	// worker calls ScreenFor with each listing's tenant.
	Screener wildwarden.Screener
	Topology Topology
	// DefaultTenant (an ID or a name) applies to messages without a tenant
	// header.
	DefaultTenant string
	Batch         int           // messages per fetch; DefaultBatch when 0
	Concurrency   int           // batches in flight at once; 2×GOMAXPROCS when 0 (one screens while another waits on the store)
	Attempts      int           // deliveries of a message before it is dead-lettered; DefaultAttempts when 0
	AckWait       time.Duration // DefaultAckWait when 0
	// Effects builds the screening to store from a verdict (review item,
	// statement of reasons, webhook events); DefaultEffects when nil. The
	// worker sets the screening's ContentHash afterwards. wildwarden worker
	// sets it to the HTTP service's http.ScreeningBuilder.ScreeningOf, so
	// that blocks from the stream get a statement of reasons.
	Effects func(l *wildwarden.Listing, v *wildwarden.Verdict) *wildwarden.Screening
	// Metrics receive the worker's counts and timings for Prometheus
	// (NewMetrics); when nil, they are counted nowhere. Stats has the
	// counts either way.
	Metrics *Metrics
	Logger  *slog.Logger

	screened, duplicates, deadLettered, redelivered atomic.Int64

	tenantsMu   sync.Mutex
	tenants     map[string]string // name or ID → ID
	tenantsRead time.Time
}

// TenantScreener is a Screener whose judgement depends on the listing's
// tenant: wildwarden worker's matches listings' photos against the
// tenant's image banks (inspect.TenantScreener).
type TenantScreener interface {
	ScreenFor(ctx context.Context, tenantID string, l *wildwarden.Listing) (*wildwarden.Verdict, error)
}

// Stats are a worker's counts since it started.
type Stats struct {
	Screened     int64 // verdicts stored
	Duplicates   int64 // listing versions the store already had
	DeadLettered int64 // messages sent to the dead-letter stream
	Redelivered  int64 // messages received that had been delivered before
}

// Stats returns the worker's counts.
func (w *Worker) Stats() Stats {
	return Stats{Screened: w.screened.Load(), Duplicates: w.duplicates.Load(), DeadLettered: w.deadLettered.Load(), Redelivered: w.redelivered.Load()}
}

// DefaultEffects sets what a verdict sets in motion, as the HTTP service
// does: a review item for `review`, a block event for `block`. It makes no
// statement of reasons: the statement rules belong to package http, whose
// ScreeningBuilder a worker uses as its Effects to get them.
func DefaultEffects(l *wildwarden.Listing, v *wildwarden.Verdict) *wildwarden.Screening {
	sc := &wildwarden.Screening{ListingID: l.ID, Listing: l, Verdict: v, Source: SourceStream, SellerID: l.Seller.ID}
	switch v.Decision {
	case wildwarden.Review:
		sc.Enqueue = &wildwarden.QueueItem{ListingID: l.ID, Kind: wildwarden.ItemVerdict, Score: v.Score, CITES: wildwarden.TopCITES(v), Reach: wildwarden.Reach(l)}
	case wildwarden.Block:
		sc.Events = []wildwarden.Event{{Type: wildwarden.EventBlock, ListingID: l.ID, Decision: string(v.Decision), Reason: v.Reason}}
	}
	return sc
}

func (w *Worker) defaults() {
	w.Topology = w.Topology.withDefaults()
	if w.Batch <= 0 {
		w.Batch = DefaultBatch
	}
	if w.Concurrency <= 0 {
		w.Concurrency = 2 * runtime.GOMAXPROCS(0)
	}
	if w.Attempts <= 0 {
		w.Attempts = DefaultAttempts
	}
	if w.AckWait <= 0 {
		w.AckWait = DefaultAckWait
	}
	if w.Effects == nil {
		w.Effects = DefaultEffects
	}
	if w.Metrics == nil {
		w.Metrics = newMetrics()
	}
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
}

// Ready reports whether the worker can work: its NATS connection is up
// and the store answers.
func (w *Worker) Ready(ctx context.Context) error {
	if status := w.JS.Conn().Status(); status != natsgo.CONNECTED {
		return fmt.Errorf("nats: connection %s", status)
	}
	return w.Store.Ready(ctx)
}

// Consumer creates or updates the durable consumer the workers share.
func (w *Worker) Consumer(ctx context.Context) (jetstream.Consumer, error) {
	w.defaults()
	if err := EnsureStreams(ctx, w.JS, w.Topology); err != nil {
		return nil, err
	}
	cons, err := w.JS.CreateOrUpdateConsumer(ctx, w.Topology.ListingStream, jetstream.ConsumerConfig{
		Durable:     w.Topology.Consumer,
		Description: "screening workers",
		AckPolicy:   jetstream.AckExplicitPolicy,
		AckWait:     w.AckWait,
		// One more delivery than attempts: the last one only moves the
		// message to the dead-letter stream.
		MaxDeliver:    w.Attempts + 1,
		MaxAckPending: 100_000,
		BackOff:       nil,
	})
	if err != nil {
		return nil, fmt.Errorf("nats: consumer %s: %w", w.Topology.Consumer, err)
	}
	return cons, nil
}

// Run consumes until ctx ends. Batches in flight when it ends are given
// back to the stream (negative ack) for another worker.
func (w *Worker) Run(ctx context.Context) error {
	cons, err := w.Consumer(ctx)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, w.Concurrency)
	for i := 0; i < w.Concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			idle := false
			for ctx.Err() == nil {
				msgs, err := w.fetch(ctx, cons, idle)
				if err != nil {
					w.Logger.Warn("nats: fetch", "err", err)
					sleep(ctx, time.Second)
					continue
				}
				idle = len(msgs) == 0
				if idle {
					continue
				}
				if err := w.processTimed(ctx, msgs); err != nil && ctx.Err() == nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when none
}

// idleWait is how long a fetch on an empty stream waits for a message.
const idleWait = time.Second

// fetch takes up to a batch of messages. While the stream has a backlog
// it takes what is there without waiting for a full batch (a fetch that
// waits would hold the last, partial batch of a backlog for the whole
// wait). When the previous fetch came back empty it waits up to idleWait
// for the next message instead, so that an idle worker does not spin; it
// returns no messages and no error when none came.
func (w *Worker) fetch(ctx context.Context, cons jetstream.Consumer, idle bool) ([]jetstream.Msg, error) {
	var batch jetstream.MessageBatch
	var err error
	if idle {
		batch, err = cons.Fetch(1, jetstream.FetchMaxWait(idleWait))
	} else {
		batch, err = cons.FetchNoWait(w.Batch)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, err
	}
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, natsgo.ErrTimeout) && ctx.Err() == nil {
		w.Logger.Warn("nats: fetch", "err", err)
	}
	return msgs, nil
}

// job is one message on its way through a batch.
type job struct {
	msg      jetstream.Msg
	tenantID string
	sc       *wildwarden.Screening
}

// processTimed processes a batch and counts it in the metrics.
func (w *Worker) processTimed(ctx context.Context, msgs []jetstream.Msg) error {
	n := float64(len(msgs))
	w.Metrics.batchSize.Observe(n)
	w.Metrics.inFlight.Add(n)
	start := time.Now()
	err := w.process(ctx, msgs)
	w.Metrics.batchDuration.Observe(time.Since(start).Seconds())
	w.Metrics.inFlight.Sub(n)
	return err
}

// process screens, stores, publishes and acknowledges one batch.
func (w *Worker) process(ctx context.Context, msgs []jetstream.Msg) error {
	stop := w.heartbeat(msgs)
	defer stop()
	byTenant := map[string][]*job{}
	var order []string
	for _, m := range msgs {
		j, p := w.prepare(ctx, m)
		if p != nil {
			w.deadLetter(ctx, m, *p)
			continue
		}
		if j == nil {
			continue // given back to the stream
		}
		if _, ok := byTenant[j.tenantID]; !ok {
			order = append(order, j.tenantID)
		}
		byTenant[j.tenantID] = append(byTenant[j.tenantID], j)
	}
	for _, tenantID := range order {
		if err := w.store(ctx, tenantID, byTenant[tenantID]); err != nil {
			return err
		}
	}
	return nil
}

// poison says why a message goes to the dead-letter stream: the cause
// is the metrics' label, the reason the message's Wildwarden-Error header.
type poison struct{ cause, reason string }

// prepare decodes and screens a message. It returns why when the message
// is poison (it goes to the dead-letter stream), or a nil job when the
// message was given back to the stream.
func (w *Worker) prepare(ctx context.Context, m jetstream.Msg) (*job, *poison) {
	md, err := m.Metadata()
	if err != nil {
		return nil, &poison{causeInvalid, "not a JetStream message: " + err.Error()}
	}
	if md.NumDelivered > 1 {
		w.redelivered.Add(1)
		w.Metrics.redelivered.Inc()
	}
	if int(md.NumDelivered) > w.Attempts {
		return nil, &poison{causeTooManyDeliveries, fmt.Sprintf("delivered %d times without being stored", md.NumDelivered)}
	}
	l := new(wildwarden.Listing)
	if err := listings.DecodeJSON(m.Data(), l); err != nil {
		return nil, &poison{causeInvalid, "invalid listing: " + err.Error()}
	}
	tenant := m.Headers().Get(HeaderTenant)
	if tenant == "" {
		tenant = w.DefaultTenant
	}
	tenantID, err := w.tenantID(ctx, tenant)
	if wildwarden.ErrorCode(err) == wildwarden.ENOTFOUND {
		return nil, &poison{causeUnknownTenant, err.Error()}
	}
	if err != nil {
		w.Logger.Warn("nats: tenants", "err", err)
		_ = m.NakWithDelay(time.Second) // the store is not answering: try later
		return nil, nil
	}
	hash := wildwarden.ContentHash(l)
	v := w.storedVerdict(ctx, tenantID, l, hash)
	if v == nil {
		if v, err = w.screen(ctx, tenantID, l); err != nil {
			return nil, &poison{causeScreening, "screening failed: " + err.Error()}
		}
	}
	v.ID = l.ID
	sc := w.Effects(l, v)
	sc.ContentHash = hash
	return &job{msg: m, tenantID: tenantID, sc: sc}, nil
}

// storedVerdict returns the stored verdict of a listing with images whose
// content was screened before (a redelivery, or a repeat published after
// the stream's de-duplication window), as the service does: screening
// images costs far more than the lookup, and text alone is screened
// faster than a read, so it is not looked up. The store then finds the
// screening a duplicate and writes nothing. A failed lookup returns nil:
// the listing is screened, and the store de-duplicates it all the same.
func (w *Worker) storedVerdict(ctx context.Context, tenantID string, l *wildwarden.Listing, hash string) *wildwarden.Verdict {
	if len(l.Images) == 0 {
		return nil
	}
	v, err := w.Store.StoredVerdict(ctx, tenantID, l.ID, hash)
	if err != nil {
		if wildwarden.ErrorCode(err) != wildwarden.ENOTFOUND {
			w.Logger.Warn("nats: stored verdict lookup failed; screening the listing", "listing", l.ID, "err", err)
		}
		return nil
	}
	return v
}

// screen runs the screener and times it, turning a panic into an error
// so that one poison listing cannot crash-loop the worker.
func (w *Worker) screen(ctx context.Context, tenantID string, l *wildwarden.Listing) (v *wildwarden.Verdict, err error) {
	start := time.Now()
	defer func() {
		w.Metrics.screenLatency.Observe(time.Since(start).Seconds())
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	if ts, ok := w.Screener.(TenantScreener); ok {
		return ts.ScreenFor(ctx, tenantID, l)
	}
	return w.Screener.Screen(ctx, l)
}

// store writes a tenant's screenings, retrying for as long as the store
// fails, then publishes the verdicts and acknowledges the messages.
func (w *Worker) store(ctx context.Context, tenantID string, jobs []*job) error {
	scs := make([]*wildwarden.Screening, len(jobs))
	for i, j := range jobs {
		scs[i] = j.sc
	}
	var errs []error
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		var err error
		errs, err = w.Store.SaveScreenings(ctx, tenantID, scs)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			w.giveBack(jobs)
			return nil
		}
		w.Metrics.storeErrors.Inc()
		w.Logger.Warn("nats: store is failing; retrying", "err", err, "listings", len(jobs), "retry_in", backoff)
		if !sleep(ctx, backoff) {
			w.giveBack(jobs)
			return nil
		}
	}
	futures := make([]jetstream.PubAckFuture, 0, len(jobs))
	published := make([]*job, 0, len(jobs))
	for i, j := range jobs {
		if err := errs[i]; err != nil {
			if wildwarden.ErrorCode(err) == wildwarden.EINVALID {
				w.deadLetter(ctx, j.msg, poison{causeStoreRefused, "the store refused the verdict: " + err.Error()})
			} else {
				w.Logger.Warn("nats: store refused a listing; redelivering", "listing", j.sc.ListingID, "err", err)
				_ = j.msg.NakWithDelay(time.Second)
			}
			continue
		}
		if j.sc.Duplicate {
			w.duplicates.Add(1)
			w.Metrics.duplicates.Inc()
		} else {
			w.screened.Add(1)
			w.Metrics.verdicts.WithLabelValues(string(j.sc.Verdict.Decision)).Inc()
		}
		f, err := w.publishVerdict(tenantID, j.sc)
		if err != nil {
			w.Logger.Warn("nats: publish verdict", "listing", j.sc.ListingID, "err", err)
			_ = j.msg.NakWithDelay(time.Second) // stored already: the redelivery is a duplicate
			continue
		}
		futures = append(futures, f)
		published = append(published, j)
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
			if err := published[i].msg.Ack(); err != nil {
				w.Logger.Warn("nats: ack", "err", err)
			}
		case err := <-f.Err():
			w.Logger.Warn("nats: publish verdict", "listing", published[i].sc.ListingID, "err", err)
			_ = published[i].msg.NakWithDelay(time.Second)
		case <-ctx.Done():
			w.giveBack(published[i:])
			return nil
		}
	}
	return nil
}

// Verdict is the message published on the verdict subject.
type Verdict struct {
	TenantID    string              `json:"tenant_id"`
	ListingID   string              `json:"listing_id"`
	ContentHash string              `json:"content_hash"`
	Seq         int64               `json:"seq"`
	Duplicate   bool                `json:"duplicate,omitempty"`
	Verdict     *wildwarden.Verdict `json:"verdict"`
}

// publishVerdict publishes a stored verdict; its message ID makes a
// redelivered listing publish its verdict once.
func (w *Worker) publishVerdict(tenantID string, sc *wildwarden.Screening) (jetstream.PubAckFuture, error) {
	v := Verdict{TenantID: tenantID, ListingID: sc.ListingID, ContentHash: sc.ContentHash, Seq: sc.Seq, Duplicate: sc.Duplicate, Verdict: sc.Verdict}
	msg := natsgo.NewMsg(w.Topology.VerdictSubject)
	msg.Data = v.AppendJSON(make([]byte, 0, 2048))
	msg.Header.Set(HeaderTenant, tenantID)
	return w.JS.PublishMsgAsync(msg, jetstream.WithMsgID("verdict/"+msgID(tenantID, sc.ListingID, sc.ContentHash)))
}

// deadLetter moves a message to the dead-letter stream with the reason
// and ends its deliveries. If the dead-letter publish fails, the message
// stays in the listing stream for a later delivery.
func (w *Worker) deadLetter(ctx context.Context, m jetstream.Msg, p poison) {
	dl := natsgo.NewMsg(w.Topology.DeadSubject)
	dl.Data = m.Data()
	for k, v := range m.Headers() {
		dl.Header[k] = v
	}
	dl.Header.Del(natsgo.MsgIdHdr)
	dl.Header.Set(HeaderError, p.reason)
	if md, err := m.Metadata(); err == nil {
		dl.Header.Set(HeaderDeliveries, strconv.FormatUint(md.NumDelivered, 10))
	}
	pubCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := w.JS.PublishMsg(pubCtx, dl); err != nil {
		w.Logger.Warn("nats: dead letter", "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	w.deadLettered.Add(1)
	w.Metrics.deadLettered.WithLabelValues(p.cause).Inc()
	w.Logger.Info("nats: dead-lettered a listing", "cause", p.cause, "reason", p.reason)
	if err := m.TermWithReason(p.reason); err != nil {
		w.Logger.Warn("nats: term", "err", err)
	}
}

// giveBack returns messages to the stream at once (the worker stops).
func (w *Worker) giveBack(jobs []*job) {
	for _, j := range jobs {
		_ = j.msg.Nak()
	}
}

// heartbeat tells the stream the batch is still being worked on, every
// third of the ack wait, until the returned stop is called.
func (w *Worker) heartbeat(msgs []jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(w.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, m := range msgs {
					_ = m.InProgress() // an acked message ignores it
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// tenantID resolves a tenant name or ID, reading the tenant list again
// when it does not know the tenant (at most once a second).
func (w *Worker) tenantID(ctx context.Context, nameOrID string) (string, error) {
	if nameOrID == "" {
		return "", wildwarden.Errorf(wildwarden.ENOTFOUND, "tenant", "the message names no tenant and the worker has no default tenant")
	}
	w.tenantsMu.Lock()
	defer w.tenantsMu.Unlock()
	if id, ok := w.tenants[nameOrID]; ok {
		return id, nil
	}
	if time.Since(w.tenantsRead) > time.Second {
		ts, err := w.Store.Tenants(ctx)
		if err != nil {
			return "", fmt.Errorf("nats: tenants: %w", err)
		}
		w.tenants = map[string]string{}
		for _, t := range ts {
			w.tenants[t.ID], w.tenants[t.Name] = t.ID, t.ID
		}
		w.tenantsRead = time.Now()
		if id, ok := w.tenants[nameOrID]; ok {
			return id, nil
		}
		return "", wildwarden.Errorf(wildwarden.ENOTFOUND, "tenant", "unknown tenant %q", nameOrID)
	}
	// The list is fresh but the tenant may have been created since.
	return "", fmt.Errorf("nats: tenant %q is not known yet", nameOrID)
}

// sleep waits d or until ctx ends; it reports whether the full time
// passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
