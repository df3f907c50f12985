package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wildwarden/wildwarden"
)

// SaveScreenings stores screenings in one transaction. Each is idempotent
// on its listing ID and content hash, also against another replica saving
// the same listing at the same moment.
//
// The batch is first written pipelined, in a handful of round trips. If
// that fails, it is written again one screening at a time, each in its
// own savepoint, so that one bad screening does not undo the others.
func (s *Store) SaveScreenings(ctx context.Context, tenantID string, list []*wildwarden.Screening) ([]error, error) {
	// Lock listing heads in one order in every transaction, so that two
	// batches sharing listings cannot deadlock.
	order := make([]int, len(list))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return listingIDOf(list[order[a]]) < listingIDOf(list[order[b]]) })
	// The inputs as given, so that a transaction run again starts from them.
	inputs := make([]wildwarden.Screening, len(list))
	items := make([]*wildwarden.QueueItem, len(list))
	for i, sc := range list {
		inputs[i] = *sc
		if sc.Enqueue != nil {
			item := *sc.Enqueue
			items[i] = &item
		}
	}
	restore := func() {
		for i, sc := range list {
			*sc = inputs[i]
			if items[i] != nil {
				*sc.Enqueue = *items[i]
			}
			sc.TenantID = tenantID
		}
	}
	errs := make([]error, len(list))
	err := s.write(ctx, func(w *tx) error {
		restore()
		clear(errs)
		return w.saveBatch(tenantID, list, order, errs)
	})
	if err == nil {
		return errs, nil
	}
	if retryable(err) || ctx.Err() != nil {
		return nil, err
	}
	err = s.write(ctx, func(w *tx) error {
		restore()
		for _, i := range order {
			sc := list[i]
			errs[i] = w.savepoint(func() error { return w.saveScreening(tenantID, sc) })
			if retryable(errs[i]) {
				return errs[i] // the whole transaction must run again
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// insertScreeningSQL moves the listing's head to a new screening and
// writes the screening, unless the head already judged this content: then
// it returns no row. Concurrent saves of one listing wait on the head row.
// It is the one-at-a-time write; saveBatch has a set-based twin.
const insertScreeningSQL = `WITH head AS (
		INSERT INTO listing_heads (tenant_id, listing_id, seq, content_hash, decision)
		VALUES ($1, $2, nextval('screenings_seq_seq'), $3, $4)
		ON CONFLICT (tenant_id, listing_id) DO UPDATE
			SET seq = EXCLUDED.seq, content_hash = EXCLUDED.content_hash, decision = EXCLUDED.decision
			WHERE listing_heads.content_hash <> EXCLUDED.content_hash
		RETURNING seq)
	INSERT INTO screenings (seq, tenant_id, listing_id, content_hash, seller_id, decision, score, source, listing_json, verdict_json, created_at)
	OVERRIDING SYSTEM VALUE
	SELECT head.seq, $1, $2, $3, $5, $4, $6, $7, $8, $9, $10 FROM head
	RETURNING seq`

// storedScreeningSQL reads the listing's latest screening.
const storedScreeningSQL = `SELECT ` + screeningColumns + ` FROM screenings WHERE seq = (SELECT seq FROM listing_heads WHERE tenant_id = $1 AND listing_id = $2)`

// screeningRow is a checked screening with its documents encoded, ready
// to be written.
type screeningRow struct {
	sc          *wildwarden.Screening
	listingJSON []byte
	verdictJSON []byte
}

// prepareScreening checks a screening, fills its derived fields and
// encodes its listing and verdict.
func (w *tx) prepareScreening(sc *wildwarden.Screening) (*screeningRow, error) {
	if sc.Verdict == nil || sc.Listing == nil {
		return nil, wildwarden.Errorf(wildwarden.EINVALID, "verdict", "listing and verdict are required")
	}
	if sc.Enqueue != nil && !validItemKind(sc.Enqueue.Kind) {
		return nil, wildwarden.Errorf(wildwarden.EINVALID, "kind", "unknown queue item kind %q", sc.Enqueue.Kind)
	}
	if sc.ListingID == "" {
		sc.ListingID = sc.Listing.ID
	}
	if sc.ContentHash == "" {
		sc.ContentHash = wildwarden.ContentHash(sc.Listing)
	}
	listingJSON, err := sc.Listing.AppendJSON(nil)
	if err != nil {
		return nil, fmt.Errorf("postgres: encode listing: %w", err)
	}
	sc.CreatedAt = w.now
	if sc.SellerID == "" {
		sc.SellerID = sc.Listing.Seller.ID
	}
	// AppendJSON writes the document encoding/json would, without
	// reflection: the verdict is the largest part of a screening.
	return &screeningRow{sc: sc, listingJSON: listingJSON, verdictJSON: sc.Verdict.AppendJSON(nil)}, nil
}

// insertArgs returns the arguments of insertScreeningSQL.
func (r *screeningRow) insertArgs(tenantID string) []any {
	sc := r.sc
	return []any{tenantID, sc.ListingID, sc.ContentHash, string(sc.Verdict.Decision), sc.SellerID, sc.Verdict.Score, sc.Source,
		r.listingJSON, r.verdictJSON, sc.CreatedAt}
}

// auditScreening records a stored screening in the audit log.
func (w *tx) auditScreening(tenantID string, sc *wildwarden.Screening) {
	w.audit(tenantID, "screen."+string(sc.Verdict.Decision), sc.ListingID,
		fmt.Sprintf(`{"seq":%d,"content_hash":%q,"score":%s}`, sc.Seq, sc.ContentHash, strconv.FormatFloat(sc.Verdict.Score, 'g', -1, 64)))
}

func listingIDOf(sc *wildwarden.Screening) string {
	if sc.ListingID == "" && sc.Listing != nil {
		return sc.Listing.ID
	}
	return sc.ListingID
}

// saveScreening moves the listing's head to this screening unless the head
// already judged the same content; then the stored screening is returned
// in place, marked Duplicate.
func (w *tx) saveScreening(tenantID string, sc *wildwarden.Screening) error {
	row, err := w.prepareScreening(sc)
	if err != nil {
		return err
	}
	err = w.queryRow(insertScreeningSQL, row.insertArgs(tenantID)...).Scan(&sc.Seq)
	if errors.Is(err, pgx.ErrNoRows) {
		prev, err := scanScreening(w.queryRow(storedScreeningSQL, tenantID, sc.ListingID))
		if err != nil {
			return fmt.Errorf("postgres: stored screening of %s: %w", sc.ListingID, err)
		}
		*sc = *prev
		sc.Duplicate = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("postgres: insert screening: %w", err)
	}
	w.auditScreening(tenantID, sc)
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

func scanScreening(r pgx.Row) (*wildwarden.Screening, error) {
	var out wildwarden.Screening
	var listingJSON, verdictJSON []byte
	if err := r.Scan(&out.Seq, &out.TenantID, &out.ListingID, &out.ContentHash, &out.SellerID, &out.Source, &listingJSON, &verdictJSON, &out.CreatedAt); err != nil {
		return nil, err
	}
	out.CreatedAt = utc(out.CreatedAt)
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
	var verdictJSON []byte
	err := s.pool.QueryRow(ctx, `SELECT s.verdict_json FROM listing_heads h JOIN screenings s ON s.seq = h.seq
		WHERE h.tenant_id = $1 AND h.listing_id = $2 AND h.content_hash = $3`, tenantID, listingID, contentHash).Scan(&verdictJSON)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("verdict of this content of listing", listingID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: stored verdict: %w", err)
	}
	var v wildwarden.Verdict
	if err := json.Unmarshal(verdictJSON, &v); err != nil {
		return nil, fmt.Errorf("postgres: decode verdict of %s: %w", listingID, err)
	}
	return &v, nil
}

// LatestScreening returns the tenant's latest screening of a listing.
func (s *Store) LatestScreening(ctx context.Context, tenantID, listingID string) (*wildwarden.Screening, error) {
	sc, err := scanScreening(s.pool.QueryRow(ctx, `SELECT `+screeningColumns+` FROM screenings
		WHERE seq = (SELECT seq FROM listing_heads WHERE tenant_id = $1 AND listing_id = $2)`, tenantID, listingID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("listing", listingID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: latest screening: %w", err)
	}
	return sc, nil
}

// maxHistory bounds the history returned with a listing.
const maxHistory = 100

// ListingState returns a listing's history, decisions and status.
func (s *Store) ListingState(ctx context.Context, tenantID, listingID string) (*wildwarden.ListingState, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+screeningColumns+` FROM screenings WHERE tenant_id = $1 AND listing_id = $2 ORDER BY seq DESC LIMIT $3`, tenantID, listingID, maxHistory)
	if err != nil {
		return nil, fmt.Errorf("postgres: listing history: %w", err)
	}
	history, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wildwarden.Screening, error) {
		sc, err := scanScreening(r)
		if err != nil {
			return wildwarden.Screening{}, err
		}
		return *sc, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: listing history: %w", err)
	}
	if len(history) == 0 {
		return nil, notFound("listing", listingID)
	}
	st := &wildwarden.ListingState{ListingID: listingID, History: history}
	latest := history[0]
	st.Latest = &latest
	st.Decisions, err = s.decisions(ctx, `WHERE tenant_id = $1 AND listing_id = $2 ORDER BY seq`, tenantID, listingID)
	if err != nil {
		return nil, err
	}
	st.Status = st.DeriveStatus()
	return st, nil
}

// SampleAllowed picks random listings whose latest verdict is allow.
func (s *Store) SampleAllowed(ctx context.Context, tenantID string, n int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT listing_id FROM listing_heads WHERE tenant_id = $1 AND decision = 'allow' ORDER BY random() LIMIT $2`, tenantID, n)
	if err != nil {
		return nil, fmt.Errorf("postgres: sample: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: sample: %w", err)
	}
	return ids, nil
}

// insertStatement stores a statement of reasons.
func (w *tx) insertStatement(tenantID string, st *wildwarden.Statement) error {
	body, err := w.prepareStatement(tenantID, st)
	if err != nil {
		return err
	}
	if _, err := w.exec(`INSERT INTO statements (id, tenant_id, listing_id, body, created_at) VALUES ($1, $2, $3, $4, $5)`,
		st.ID, tenantID, st.ListingID, body, st.CreatedAt); err != nil {
		return fmt.Errorf("postgres: insert statement: %w", err)
	}
	return nil
}

// prepareStatement fills a statement of reasons' identifiers and time,
// audits it and returns the body to store.
func (w *tx) prepareStatement(tenantID string, st *wildwarden.Statement) ([]byte, error) {
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
		return nil, fmt.Errorf("postgres: encode statement: %w", err)
	}
	w.audit(tenantID, "statement.create", st.ID, st.ListingID)
	return body, nil
}

// Statement returns one statement of reasons.
func (s *Store) Statement(ctx context.Context, tenantID, id string) (*wildwarden.Statement, error) {
	var body []byte
	err := s.pool.QueryRow(ctx, `SELECT body FROM statements WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("statement", id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: statement: %w", err)
	}
	var st wildwarden.Statement
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("postgres: decode statement %s: %w", id, err)
	}
	st.TenantID = tenantID
	return &st, nil
}

// Statements lists statements created at or after since.
func (s *Store) Statements(ctx context.Context, tenantID string, since time.Time, limit int) ([]wildwarden.Statement, error) {
	rows, err := s.pool.Query(ctx, `SELECT body FROM statements WHERE tenant_id = $1 AND created_at >= $2 ORDER BY seq LIMIT $3`, tenantID, since, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: statements: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wildwarden.Statement, error) {
		var body []byte
		var st wildwarden.Statement
		if err := r.Scan(&body); err != nil {
			return st, err
		}
		if err := json.Unmarshal(body, &st); err != nil {
			return st, fmt.Errorf("decode statement: %w", err)
		}
		st.TenantID = tenantID
		return st, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: statements: %w", err)
	}
	return out, nil
}
