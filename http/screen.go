package http

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/wildwarden/wildwarden"
)

// batchRequest is the body of POST /v1/screen/batch.
type batchRequest struct {
	Listings []wildwarden.Listing `json:"listings"`
}

// batchResponse answers a batch, verdicts in input order.
type batchResponse struct {
	Verdicts []*wildwarden.Verdict `json:"verdicts"`
}

// decodeListing decodes and checks one listing.
func decodeListing(body []byte) (*wildwarden.Listing, error) {
	var l wildwarden.Listing
	if err := decodeJSON(body, &l); err != nil {
		return nil, err
	}
	if err := l.Validate(); err != nil {
		return nil, err
	}
	return &l, nil
}

// decodeBatch decodes and checks a batch; problems name the listing's
// index, such as "listings[3].id".
func decodeBatch(body []byte) ([]wildwarden.Listing, error) {
	var req batchRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, err
	}
	switch {
	case len(req.Listings) == 0:
		return nil, wildwarden.Errorf(wildwarden.EINVALID, "listings", "is required and must not be empty")
	case len(req.Listings) > MaxBatch:
		return nil, wildwarden.Errorf(wildwarden.ETOOLARGE, "listings", "has %d listings; at most %d are allowed", len(req.Listings), MaxBatch)
	}
	for i := range req.Listings {
		if err := req.Listings[i].Validate(); err != nil {
			return nil, wildwarden.Errorf(wildwarden.ErrorCode(err), fmt.Sprintf("listings[%d].%s", i, wildwarden.ErrorField(err)), "%s", messageOf(err))
		}
	}
	return req.Listings, nil
}

func messageOf(err error) string {
	if e, ok := err.(*wildwarden.Error); ok {
		return e.Message
	}
	return err.Error()
}

func (s *Server) handleScreen(w http.ResponseWriter, r *http.Request, p *principal) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	l, err := decodeListing(body)
	if err != nil {
		return err
	}
	verdicts, err := s.screen(r.Context(), p.TenantID, []*wildwarden.Listing{l}, wildwarden.SourceAPI)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, verdicts[0])
	return nil
}

func (s *Server) handleScreenBatch(w http.ResponseWriter, r *http.Request, p *principal) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	listings, err := decodeBatch(body)
	if err != nil {
		return err
	}
	ptrs := make([]*wildwarden.Listing, len(listings))
	for i := range listings {
		ptrs[i] = &listings[i]
	}
	verdicts, err := s.screen(r.Context(), p.TenantID, ptrs, wildwarden.SourceAPI)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, batchResponse{Verdicts: verdicts})
	return nil
}

// screen judges listings and stores the verdicts. The store's transaction
// finds a listing whose content was stored before and answers with the
// stored verdict, so a repeat writes nothing. A listing with images is
// looked up first, because screening its images costs far more than the
// lookup; text alone is screened faster than a read, so it is not.
func (s *Server) screen(ctx context.Context, tenantID string, listings []*wildwarden.Listing, source string) ([]*wildwarden.Verdict, error) {
	out := make([]*wildwarden.Verdict, len(listings))
	var pending []*wildwarden.Screening
	var pendingIdx []int
	for i, l := range listings {
		hash := wildwarden.ContentHash(l)
		if len(l.Images) > 0 {
			if stored, err := s.store.StoredVerdict(ctx, tenantID, l.ID, hash); err == nil {
				out[i] = stored
				s.metrics.duplicates.Inc()
				continue
			} else if wildwarden.ErrorCode(err) != wildwarden.ENOTFOUND {
				return nil, err
			}
		}
		v, err := s.screener.Screen(ctx, l)
		if err != nil {
			return nil, fmt.Errorf("screen %s: %w", l.ID, err)
		}
		v.ID = l.ID
		pending = append(pending, s.screeningOf(l, v, hash, source))
		pendingIdx = append(pendingIdx, i)
	}
	if len(pending) == 0 {
		return out, nil
	}
	errs, err := s.store.SaveScreenings(ctx, tenantID, pending)
	if err != nil {
		return nil, err
	}
	for j, sc := range pending {
		if errs[j] != nil {
			return nil, fmt.Errorf("store verdict of %s: %w", sc.ListingID, errs[j])
		}
		if sc.Duplicate {
			s.metrics.duplicates.Inc()
		} else {
			s.metrics.verdicts.WithLabelValues(string(sc.Verdict.Decision)).Inc()
		}
		out[pendingIdx[j]] = sc.Verdict
	}
	return out, nil
}

// screeningOf builds the screening record of one of the service's verdicts.
func (s *Server) screeningOf(l *wildwarden.Listing, v *wildwarden.Verdict, hash, source string) *wildwarden.Screening {
	return screeningOf(s.sor, l, v, hash, source)
}

// screeningOf builds what a verdict sets in motion: a review item for
// `review`, a statement of reasons and a block event for `block`.
func screeningOf(sor *statementRules, l *wildwarden.Listing, v *wildwarden.Verdict, hash, source string) *wildwarden.Screening {
	sc := &wildwarden.Screening{ListingID: l.ID, ContentHash: hash, Listing: l, Verdict: v, Source: source, SellerID: l.Seller.ID}
	switch v.Decision {
	case wildwarden.Review:
		sc.Enqueue = &wildwarden.QueueItem{ListingID: l.ID, Kind: wildwarden.ItemVerdict, Score: v.Score, CITES: wildwarden.TopCITES(v), Reach: wildwarden.Reach(l)}
	case wildwarden.Block:
		sc.Statement = sor.automated(l, v)
		sc.Events = []wildwarden.Event{{Type: wildwarden.EventBlock, ListingID: l.ID, Decision: string(v.Decision), Reason: v.Reason}}
	}
	return sc
}

// ScreeningBuilder builds screening records exactly as the service does,
// for verdicts made outside it (the NATS stream worker), so that an
// automated block gets its statement of reasons wherever it was decided.
type ScreeningBuilder struct {
	sor *statementRules
}

// NewScreeningBuilder loads the statement-of-reasons rules (embedded data
// file data/statement.json).
func NewScreeningBuilder() (*ScreeningBuilder, error) {
	sor, err := loadStatementRules()
	if err != nil {
		return nil, err
	}
	return &ScreeningBuilder{sor: sor}, nil
}

// ScreeningOf returns the record to store for verdict v of listing l: a
// review item for `review`; a statement of reasons (automated detection
// and decision) and a block event for `block`. hash is the listing's
// wildwarden.ContentHash and source says where the verdict was made
// (wildwarden.SourceAPI, or the stream worker's source).
func (b *ScreeningBuilder) ScreeningOf(l *wildwarden.Listing, v *wildwarden.Verdict, hash, source string) *wildwarden.Screening {
	return screeningOf(b.sor, l, v, hash, source)
}

func (s *Server) handleListing(w http.ResponseWriter, r *http.Request, p *principal) error {
	st, err := s.store.ListingState(r.Context(), p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request, p *principal) error {
	st, err := s.store.Stats(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) handleAuditLog(w http.ResponseWriter, r *http.Request, p *principal) error {
	limit, err := queryInt(r, "limit", defaultPageLimit, maxPageLimit)
	if err != nil {
		return err
	}
	var after int64
	if v := r.URL.Query().Get("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return wildwarden.Errorf(wildwarden.EINVALID, "after", "must be a sequence number (0 or more)")
		}
	}
	log, err := s.store.AuditLog(r.Context(), p.TenantID, after, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": log})
	return nil
}
