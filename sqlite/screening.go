package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/wildwarden/wildwarden"
)

// SaveScreenings stores screenings, each idempotent on its listing ID and
// content hash.
func (s *Store) SaveScreenings(ctx context.Context, tenantID string, list []*wildwarden.Screening) ([]error, error) {
	errs := make([]error, len(list))
	dones := make([]chan error, len(list))
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, errors.New("sqlite: store is closed")
	}
	for i, sc := range list {
		sc := sc
		sc.TenantID = tenantID
		o := &op{ctx: ctx, done: make(chan error, 1), fn: func(w *wtx) error { return w.saveScreening(tenantID, sc) }}
		dones[i] = o.done
		s.ops <- o
	}
	s.closeMu.RUnlock()
	for i, d := range dones {
		errs[i] = <-d
	}
	return errs, nil
}

func (w *wtx) saveScreening(tenantID string, sc *wildwarden.Screening) error {
	if sc.Verdict == nil || sc.Listing == nil {
		return wildwarden.Errorf(wildwarden.EINVALID, "verdict", "listing and verdict are required")
	}
	if sc.ListingID == "" {
		sc.ListingID = sc.Listing.ID
	}
	if sc.ContentHash == "" {
		sc.ContentHash = wildwarden.ContentHash(sc.Listing)
	}
	var prevSeq int64
	var prevHash string
	err := w.queryRow(`SELECT seq, content_hash FROM screenings WHERE tenant_id = ? AND listing_id = ? ORDER BY seq DESC LIMIT 1`, tenantID, sc.ListingID).Scan(&prevSeq, &prevHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: latest screening: %w", err)
	}
	if err == nil && prevHash == sc.ContentHash {
		prev, err := scanScreening(w.queryRow(`SELECT `+screeningColumns+` FROM screenings WHERE seq = ?`, prevSeq))
		if err != nil {
			return fmt.Errorf("sqlite: stored screening %d: %w", prevSeq, err)
		}
		*sc = *prev
		sc.Duplicate = true
		return nil
	}
	listingJSON, err := sc.Listing.AppendJSON(nil)
	if err != nil {
		return fmt.Errorf("sqlite: encode listing: %w", err)
	}
	verdictJSON, err := json.Marshal(sc.Verdict)
	if err != nil {
		return fmt.Errorf("sqlite: encode verdict: %w", err)
	}
	sc.CreatedAt = w.now
	if sc.SellerID == "" {
		sc.SellerID = sc.Listing.Seller.ID
	}
	res, err := w.exec(`INSERT INTO screenings (tenant_id, listing_id, content_hash, seller_id, decision, score, source, listing_json, verdict_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tenantID, sc.ListingID, sc.ContentHash, sc.SellerID, string(sc.Verdict.Decision), sc.Verdict.Score, sc.Source, listingJSON, verdictJSON, formatTime(sc.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlite: insert screening: %w", err)
	}
	sc.Seq, _ = res.LastInsertId()
	if err := w.audit(tenantID, "screen."+string(sc.Verdict.Decision), sc.ListingID,
		fmt.Sprintf(`{"seq":%d,"content_hash":%q,"score":%s}`, sc.Seq, sc.ContentHash, strconv.FormatFloat(sc.Verdict.Score, 'g', -1, 64))); err != nil {
		return err
	}
	if sc.Enqueue != nil {
		sc.Enqueue.TenantID = tenantID
		if err := w.enqueue(sc.Enqueue); err != nil {
			return err
		}
	}
	if sc.Statement != nil {
		if err := w.insertStatement(tenantID, sc.Statement); err != nil {
			return err
		}
	}
	return w.insertEvents(tenantID, sc.Events)
}

const screeningColumns = `seq, tenant_id, listing_id, content_hash, seller_id, source, listing_json, verdict_json, created_at`

func scanScreening(sc interface{ Scan(...any) error }) (*wildwarden.Screening, error) {
	var out wildwarden.Screening
	var listingJSON, verdictJSON []byte
	var at string
	if err := sc.Scan(&out.Seq, &out.TenantID, &out.ListingID, &out.ContentHash, &out.SellerID, &out.Source, &listingJSON, &verdictJSON, &at); err != nil {
		return nil, err
	}
	out.CreatedAt = parseTime(at)
	out.Listing = new(wildwarden.Listing)
	if err := json.Unmarshal(listingJSON, out.Listing); err != nil {
		return nil, fmt.Errorf("decode listing %d: %w", out.Seq, err)
	}
	out.Verdict = new(wildwarden.Verdict)
	if err := json.Unmarshal(verdictJSON, out.Verdict); err != nil {
		return nil, fmt.Errorf("decode verdict %d: %w", out.Seq, err)
	}
	return &out, nil
}

// StoredVerdict returns the latest verdict if it judged this content.
func (s *Store) StoredVerdict(ctx context.Context, tenantID, listingID, contentHash string) (*wildwarden.Verdict, error) {
	var hash string
	var verdictJSON []byte
	err := s.queryRow(ctx, `SELECT content_hash, verdict_json FROM screenings WHERE tenant_id = ? AND listing_id = ? ORDER BY seq DESC LIMIT 1`, tenantID, listingID).Scan(&hash, &verdictJSON)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && hash != contentHash) {
		return nil, notFound("verdict of this content of listing", listingID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: stored verdict: %w", err)
	}
	var v wildwarden.Verdict
	if err := json.Unmarshal(verdictJSON, &v); err != nil {
		return nil, fmt.Errorf("sqlite: decode verdict of %s: %w", listingID, err)
	}
	return &v, nil
}

// LatestScreening returns the tenant's latest screening of a listing.
func (s *Store) LatestScreening(ctx context.Context, tenantID, listingID string) (*wildwarden.Screening, error) {
	sc, err := scanScreening(s.queryRow(ctx, `SELECT `+screeningColumns+` FROM screenings WHERE tenant_id = ? AND listing_id = ? ORDER BY seq DESC LIMIT 1`, tenantID, listingID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("listing", listingID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: latest screening: %w", err)
	}
	return sc, nil
}

// maxHistory bounds the history returned with a listing.
const maxHistory = 100

// ListingState returns a listing's history, decisions and status.
func (s *Store) ListingState(ctx context.Context, tenantID, listingID string) (*wildwarden.ListingState, error) {
	rows, err := s.query(ctx, `SELECT `+screeningColumns+` FROM screenings WHERE tenant_id = ? AND listing_id = ? ORDER BY seq DESC LIMIT ?`, tenantID, listingID, maxHistory)
	if err != nil {
		return nil, fmt.Errorf("sqlite: listing history: %w", err)
	}
	st := &wildwarden.ListingState{ListingID: listingID, History: []wildwarden.Screening{}, Decisions: []wildwarden.ReviewDecision{}}
	for rows.Next() {
		sc, err := scanScreening(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: listing history: %w", err)
		}
		st.History = append(st.History, *sc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: listing history: %w", err)
	}
	if len(st.History) == 0 {
		return nil, notFound("listing", listingID)
	}
	latest := st.History[0]
	st.Latest = &latest
	st.Decisions, err = s.decisions(ctx, `WHERE tenant_id = ? AND listing_id = ? ORDER BY seq`, tenantID, listingID)
	if err != nil {
		return nil, err
	}
	st.Status = st.DeriveStatus()
	return st, nil
}

// SampleAllowed picks random listings whose latest verdict is allow.
func (s *Store) SampleAllowed(ctx context.Context, tenantID string, n int) ([]string, error) {
	rows, err := s.query(ctx, `SELECT listing_id FROM screenings s WHERE tenant_id = ? AND decision = 'allow'
		AND seq = (SELECT MAX(seq) FROM screenings l WHERE l.tenant_id = s.tenant_id AND l.listing_id = s.listing_id)
		ORDER BY RANDOM() LIMIT ?`, tenantID, n)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sample: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: sample: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// insertStatement stores a statement of reasons.
func (w *wtx) insertStatement(tenantID string, st *wildwarden.Statement) error {
	if st.ID == "" {
		st.ID = wildwarden.NewID("sor")
	}
	if st.PUID == "" {
		st.PUID = st.ID
	}
	st.TenantID = tenantID
	st.CreatedAt = w.now
	body, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("sqlite: encode statement: %w", err)
	}
	if _, err := w.exec(`INSERT INTO statements (id, seq, tenant_id, listing_id, body, created_at) VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM statements), ?, ?, ?, ?)`,
		st.ID, tenantID, st.ListingID, body, formatTime(st.CreatedAt)); err != nil {
		return fmt.Errorf("sqlite: insert statement: %w", err)
	}
	return w.audit(tenantID, "statement.create", st.ID, st.ListingID)
}

// Statement returns one statement of reasons.
func (s *Store) Statement(ctx context.Context, tenantID, id string) (*wildwarden.Statement, error) {
	var body []byte
	err := s.queryRow(ctx, `SELECT body FROM statements WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("statement", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: statement: %w", err)
	}
	var st wildwarden.Statement
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("sqlite: decode statement %s: %w", id, err)
	}
	st.TenantID = tenantID
	return &st, nil
}

// Statements lists statements created at or after since.
func (s *Store) Statements(ctx context.Context, tenantID string, since time.Time, limit int) ([]wildwarden.Statement, error) {
	rows, err := s.query(ctx, `SELECT body FROM statements WHERE tenant_id = ? AND created_at >= ? ORDER BY seq LIMIT ?`, tenantID, formatTime(since), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: statements: %w", err)
	}
	defer rows.Close()
	var out []wildwarden.Statement
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("sqlite: statements: %w", err)
		}
		var st wildwarden.Statement
		if err := json.Unmarshal(body, &st); err != nil {
			return nil, fmt.Errorf("sqlite: decode statement: %w", err)
		}
		st.TenantID = tenantID
		out = append(out, st)
	}
	return out, rows.Err()
}
