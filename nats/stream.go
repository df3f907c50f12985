// Package nats feeds listings through a NATS JetStream stream to screening
// workers that store verdicts and publish them.
//
// Three streams carry the work:
//   - listings (work-queue retention): one message per listing version,
//     de-duplicated by its Nats-Msg-Id (tenant, listing ID, content hash),
//     consumed by one durable pull consumer that all workers share, with
//     explicit acks and a bounded number of deliveries;
//   - verdicts: one message per stored verdict, for the platform's own
//     consumers;
//   - dead letters: listings that cannot be screened (invalid JSON, an
//     unknown tenant, a verdict the store refuses, too many deliveries),
//     with the reason in a header, for a person to look at and republish.
//
// A worker acknowledges a listing only after its verdict is committed to
// the store and published, so a worker that dies mid-batch loses nothing:
// the stream delivers the unacknowledged listings again and the store's
// idempotent screening writes each listing version once.
package nats

import (
	"context"
	"errors"
	"fmt"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers a listing message may carry, and those a dead letter adds.
const (
	// HeaderTenant names the tenant (ID or name) a listing belongs to; a
	// worker's default tenant applies when it is absent.
	HeaderTenant = "Wildwarden-Tenant"
	// HeaderError says why a listing went to the dead-letter stream.
	HeaderError = "Wildwarden-Error"
	// HeaderDeliveries is how often the listing was delivered before it
	// was dead-lettered.
	HeaderDeliveries = "Wildwarden-Deliveries"
)

// Topology names the streams, subjects and consumer; the zero value of a
// field means its default.
type Topology struct {
	ListingStream   string // default "WILDWARDEN_LISTINGS"
	ListingSubject  string // default "wildwarden.listings"
	VerdictStream   string // default "WILDWARDEN_VERDICTS"
	VerdictSubject  string // default "wildwarden.verdicts"
	DeadStream      string // default "WILDWARDEN_DEAD"
	DeadSubject     string // default "wildwarden.dead"
	Consumer        string // durable consumer shared by workers; default "screeners"
	DedupWindow     time.Duration
	VerdictMaxAge   time.Duration
	MaxListingBytes int64 // the listing stream refuses new messages beyond this (backpressure on publishers); 0: no limit
	Replicas        int   // stream replicas in a NATS cluster; default 1
}

// Defaults of Topology.
const (
	DefaultDedupWindow   = 10 * time.Minute
	DefaultVerdictMaxAge = 24 * time.Hour
)

// withDefaults fills the zero fields.
func (t Topology) withDefaults() Topology {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&t.ListingStream, "WILDWARDEN_LISTINGS")
	def(&t.ListingSubject, "wildwarden.listings")
	def(&t.VerdictStream, "WILDWARDEN_VERDICTS")
	def(&t.VerdictSubject, "wildwarden.verdicts")
	def(&t.DeadStream, "WILDWARDEN_DEAD")
	def(&t.DeadSubject, "wildwarden.dead")
	def(&t.Consumer, "screeners")
	if t.DedupWindow <= 0 {
		t.DedupWindow = DefaultDedupWindow
	}
	if t.VerdictMaxAge <= 0 {
		t.VerdictMaxAge = DefaultVerdictMaxAge
	}
	if t.Replicas <= 0 {
		t.Replicas = 1
	}
	return t
}

// EnsureStreams creates the three streams, or updates them to this
// configuration; publishers and workers both call it, so either may start
// first.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, t Topology) error {
	t = t.withDefaults()
	maxBytes := t.MaxListingBytes
	if maxBytes <= 0 {
		maxBytes = -1
	}
	streams := []jetstream.StreamConfig{
		{
			Name: t.ListingStream, Subjects: []string{t.ListingSubject, t.ListingSubject + ".>"},
			Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
			Duplicates: t.DedupWindow, MaxBytes: maxBytes, Discard: jetstream.DiscardNew, Replicas: t.Replicas,
			Description: "listings waiting to be screened (work queue)",
		},
		{
			Name: t.VerdictStream, Subjects: []string{t.VerdictSubject, t.VerdictSubject + ".>"},
			Retention: jetstream.LimitsPolicy, Storage: jetstream.FileStorage,
			Duplicates: t.DedupWindow, MaxAge: t.VerdictMaxAge, Replicas: t.Replicas,
			Description: "verdicts stored by the screening workers",
		},
		{
			Name: t.DeadStream, Subjects: []string{t.DeadSubject, t.DeadSubject + ".>"},
			Retention: jetstream.LimitsPolicy, Storage: jetstream.FileStorage, Replicas: t.Replicas,
			Description: "listings the workers could not screen, with the reason",
		},
	}
	for _, cfg := range streams {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("nats: stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// Connect dials a NATS server and opens its JetStream context.
func Connect(url, name string) (*natsgo.Conn, jetstream.JetStream, error) {
	nc, err := natsgo.Connect(url, natsgo.Name(name), natsgo.MaxReconnects(-1), natsgo.ReconnectWait(time.Second))
	if err != nil {
		return nil, nil, fmt.Errorf("nats: connect %s: %w", url, err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("nats: jetstream: %w", err)
	}
	return nc, js, nil
}

// msgID is the de-duplication key of a listing version: a listing
// published twice within the window is stored once in the stream; a
// changed listing (another content hash) is a new message.
func msgID(tenant, listingID, contentHash string) string {
	if len(contentHash) > 32 {
		contentHash = contentHash[:32]
	}
	return tenant + "/" + listingID + "/" + contentHash
}

// waitAcks waits for the stream's acknowledgement of each async publish.
func waitAcks(ctx context.Context, futures []jetstream.PubAckFuture) error {
	var errs []error
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs = append(errs, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}
