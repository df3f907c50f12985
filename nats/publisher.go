package nats

import (
	"context"
	"errors"
	"fmt"
	"io"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/listings"
)

// maxPublishPending bounds the publishes awaiting the stream's ack, so a
// slow or full stream slows the publisher instead of growing its memory.
const maxPublishPending = 1024

// Publisher feeds listings into the listing stream.
type Publisher struct {
	JS       jetstream.JetStream
	Topology Topology
	// Tenant is put in each message's tenant header ("" leaves it out:
	// the worker's default tenant applies).
	Tenant string

	pending []jetstream.PubAckFuture
	ensured bool // the streams exist
}

// PublishStats counts what a publish did.
type PublishStats struct {
	Published int // messages the stream accepted (duplicates included)
	Invalid   int // lines skipped because they are not valid listings
}

// Publish sends one listing, given as its JSON, after checking that it
// decodes; the stream drops it as a duplicate when the same listing
// version was published within the de-duplication window. Call Flush to
// wait for the stream's acknowledgements.
func (p *Publisher) Publish(ctx context.Context, data []byte) error {
	var l wildwarden.Listing
	if err := listings.DecodeJSON(data, &l); err != nil {
		return wildwarden.Errorf(wildwarden.EINVALID, "", "not a valid listing: %v", err)
	}
	t := p.Topology.withDefaults()
	if !p.ensured {
		if err := EnsureStreams(ctx, p.JS, t); err != nil {
			return err
		}
		p.ensured = true
	}
	msg := natsgo.NewMsg(t.ListingSubject)
	msg.Data = append([]byte(nil), data...) // the caller may reuse data; the publish is async
	if p.Tenant != "" {
		msg.Header.Set(HeaderTenant, p.Tenant)
	}
	f, err := p.JS.PublishMsgAsync(msg, jetstream.WithMsgID(msgID(p.Tenant, l.ID, wildwarden.ContentHash(&l))))
	if err != nil {
		return fmt.Errorf("nats: publish %s: %w", l.ID, err)
	}
	p.pending = append(p.pending, f)
	if len(p.pending) >= maxPublishPending {
		return p.Flush(ctx)
	}
	return nil
}

// Flush waits until the stream acknowledged every publish so far.
func (p *Publisher) Flush(ctx context.Context) error {
	err := waitAcks(ctx, p.pending)
	p.pending = p.pending[:0]
	if err != nil {
		return fmt.Errorf("nats: publish: %w", err)
	}
	return nil
}

// PublishLines publishes every listing of a JSON Lines stream. Invalid
// lines are reported to invalid (with their line number) and skipped.
func (p *Publisher) PublishLines(ctx context.Context, r io.Reader, name string, invalid func(error)) (PublishStats, error) {
	var st PublishStats
	lr := listings.NewLineReader(r, name, 0)
	for {
		line, data, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, listings.ErrLineTooLong) {
				st.Invalid++
				if invalid != nil {
					invalid(err)
				}
				continue
			}
			return st, fmt.Errorf("nats: read %s: %w", name, err)
		}
		if err := p.Publish(ctx, data); err != nil {
			if wildwarden.ErrorCode(err) == wildwarden.EINVALID {
				st.Invalid++
				if invalid != nil {
					invalid(fmt.Errorf("%s:%d: %w", name, line, err))
				}
				continue
			}
			return st, err
		}
		st.Published++
	}
	return st, p.Flush(ctx)
}
