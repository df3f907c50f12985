package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wildwarden/wildwarden"
)

// The batch write is set-based: one statement per kind of row and batch,
// each taking its rows as arrays (unnest), instead of one statement per
// screening. PostgreSQL's cost per statement (parse, plan, executor
// start-up, protocol messages) dominated the per-listing cost of the
// stream workers; a statement over 64 rows costs little more than one
// over one row.

// insertScreeningsSQL is insertScreeningSQL over arrays of screenings with
// distinct listing IDs: it moves each listing's head unless the head
// already judged that content, writes a screening for each head it moved
// and returns their listing IDs and sequence numbers. A listing missing
// from the result is a duplicate. The input is sorted by listing ID, so
// the heads are locked in the same order in every transaction.
const insertScreeningsSQL = `WITH input AS (
		SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::text[], $8::text[], $9::text[]) WITH ORDINALITY
			AS i(listing_id, content_hash, decision, seller_id, score, source, listing_json, verdict_json, ord)
	), head AS (
		INSERT INTO listing_heads (tenant_id, listing_id, seq, content_hash, decision)
		SELECT $1, listing_id, nextval('screenings_seq_seq'), content_hash, decision FROM input ORDER BY ord
		ON CONFLICT (tenant_id, listing_id) DO UPDATE
			SET seq = EXCLUDED.seq, content_hash = EXCLUDED.content_hash, decision = EXCLUDED.decision
			WHERE listing_heads.content_hash <> EXCLUDED.content_hash
		RETURNING listing_id, seq)
	INSERT INTO screenings (seq, tenant_id, listing_id, content_hash, seller_id, decision, score, source, listing_json, verdict_json, created_at)
	OVERRIDING SYSTEM VALUE
	SELECT head.seq, $1, i.listing_id, i.content_hash, i.seller_id, i.decision, i.score, i.source, i.listing_json::jsonb, i.verdict_json::jsonb, $10
	FROM head JOIN input i USING (listing_id) ORDER BY head.seq
	RETURNING listing_id, seq`

// storedScreeningsSQL reads the latest screening of each listing named.
const storedScreeningsSQL = `SELECT s.seq, s.tenant_id, s.listing_id, s.content_hash, s.seller_id, s.source, s.listing_json, s.verdict_json, s.created_at
	FROM listing_heads h JOIN screenings s ON s.seq = h.seq
	WHERE h.tenant_id = $1 AND h.listing_id = ANY($2::text[])`

// insertItemsSQL is insertItemSQL over arrays of items; it returns the
// IDs of the items it inserted. Those left out collided with an open item
// (in the table or earlier in the arrays) and must be folded.
const insertItemsSQL = `INSERT INTO queue_items (id, tenant_id, listing_id, kind, score, cites, reports, report_weight, reach, priority, exclude_reviewer, created_at)
	SELECT id, $1, listing_id, kind, score, cites, reports, report_weight, reach, priority, exclude_reviewer, $2
	FROM unnest($3::text[], $4::text[], $5::text[], $6::float8[], $7::text[], $8::int4[], $9::float8[], $10::int8[], $11::float8[], $12::text[]) WITH ORDINALITY
		AS i(id, listing_id, kind, score, cites, reports, report_weight, reach, priority, exclude_reviewer, ord)
	ORDER BY ord
	ON CONFLICT (tenant_id, listing_id, kind) WHERE open DO NOTHING
	RETURNING id`

// insertStatementsSQL inserts statements of reasons from arrays, in
// order (their seq follows it).
const insertStatementsSQL = `INSERT INTO statements (id, tenant_id, listing_id, body, created_at)
	SELECT id, $1, listing_id, body::jsonb, $2
	FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS s(id, listing_id, body, ord)
	ORDER BY ord`

// insertDeliveriesSQL inserts pending webhook deliveries from arrays.
const insertDeliveriesSQL = `INSERT INTO deliveries (id, tenant_id, webhook_id, event_type, body, state, next_at, created_at)
	SELECT id, $1, webhook_id, event_type, body, $2, $3, $3
	FROM unnest($4::text[], $5::text[], $6::text[], $7::bytea[]) AS d(id, webhook_id, event_type, body)`

// saveBatch writes screenings (in the given order, sorted by listing ID)
// with a handful of set-based statements: one per round moves the heads
// and writes the screenings, then one reads the duplicates' stored
// screenings (when there are any), and one pipelined round trip writes
// the queue items, statements of reasons and webhook deliveries.
// Screenings that fail validation get their error in errs and are left
// out; any database error fails the whole batch.
//
// A listing that occurs k times in the batch goes in rounds 1…k, one
// occurrence per round, so that each statement touches a head once and
// the occurrences are judged in the order given, as one at a time would.
func (w *tx) saveBatch(tenantID string, list []*wildwarden.Screening, order []int, errs []error) error {
	var rows []*screeningRow
	var rounds [][]*screeningRow
	previous, occurrence := "", 0
	for _, i := range order {
		row, err := w.prepareScreening(list[i])
		if err != nil {
			errs[i] = err
			continue
		}
		if id := row.sc.ListingID; id == previous && len(rows) > 0 {
			occurrence++
		} else {
			previous, occurrence = id, 0
		}
		if occurrence == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[occurrence] = append(rounds[occurrence], row)
		rows = append(rows, row)
	}
	for _, round := range rounds {
		dups, err := w.insertScreenings(tenantID, round)
		if err != nil {
			return err
		}
		if err := w.loadStored(tenantID, dups); err != nil {
			return err
		}
	}
	fresh := make([]*wildwarden.Screening, 0, len(rows))
	for _, row := range rows {
		if !row.sc.Duplicate {
			fresh = append(fresh, row.sc)
		}
	}
	return w.writeEffects(tenantID, fresh)
}

// insertScreenings runs insertScreeningsSQL over one round and sets the
// stored screenings' sequence numbers; it returns the duplicates.
func (w *tx) insertScreenings(tenantID string, round []*screeningRow) ([]*wildwarden.Screening, error) {
	n := len(round)
	ids, hashes, decisions, sellers, sources := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	scores := make([]float64, n)
	listingJSON, verdictJSON := make([]string, n), make([]string, n)
	for k, row := range round {
		sc := row.sc
		ids[k], hashes[k], decisions[k], sellers[k], sources[k] = sc.ListingID, sc.ContentHash, string(sc.Verdict.Decision), sc.SellerID, sc.Source
		scores[k] = sc.Verdict.Score
		listingJSON[k], verdictJSON[k] = string(row.listingJSON), string(row.verdictJSON)
	}
	result, err := w.Query(w.ctx, insertScreeningsSQL, tenantID, ids, hashes, decisions, sellers, scores, sources, listingJSON, verdictJSON, w.now)
	if err != nil {
		return nil, fmt.Errorf("postgres: insert screenings: %w", err)
	}
	seqs := make(map[string]int64, n)
	var id string
	var seq int64
	_, err = pgx.ForEachRow(result, []any{&id, &seq}, func() error {
		seqs[id] = seq
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: insert screenings: %w", err)
	}
	var dups []*wildwarden.Screening
	for _, row := range round {
		if s, ok := seqs[row.sc.ListingID]; ok {
			row.sc.Seq = s
		} else {
			dups = append(dups, row.sc)
		}
	}
	return dups, nil
}

// loadStored replaces each duplicate (distinct listing IDs) with the
// stored screening of its listing, marked Duplicate.
func (w *tx) loadStored(tenantID string, dups []*wildwarden.Screening) error {
	if len(dups) == 0 {
		return nil
	}
	ids := make([]string, len(dups))
	for k, sc := range dups {
		ids[k] = sc.ListingID
	}
	result, err := w.Query(w.ctx, storedScreeningsSQL, tenantID, ids)
	if err != nil {
		return fmt.Errorf("postgres: stored screenings: %w", err)
	}
	stored, err := pgx.CollectRows(result, func(r pgx.CollectableRow) (*wildwarden.Screening, error) { return scanScreening(r) })
	if err != nil {
		return fmt.Errorf("postgres: stored screenings: %w", err)
	}
	byListing := make(map[string]*wildwarden.Screening, len(stored))
	for _, sc := range stored {
		byListing[sc.ListingID] = sc
	}
	for _, sc := range dups {
		prev, ok := byListing[sc.ListingID]
		if !ok {
			return fmt.Errorf("postgres: stored screening of %s: %w", sc.ListingID, pgx.ErrNoRows)
		}
		*sc = *prev
		sc.Duplicate = true
	}
	return nil
}

// writeEffects audits newly stored screenings and writes what they set in
// motion (queue items, statements of reasons, webhook deliveries), one
// statement per kind in one round trip. Queue items that collide with an
// open item are folded into it afterwards, one by one.
func (w *tx) writeEffects(tenantID string, fresh []*wildwarden.Screening) error {
	var items []*wildwarden.QueueItem
	var statements statementArrays
	var deliveries []newDelivery
	for _, sc := range fresh {
		w.auditScreening(tenantID, sc)
		if sc.Enqueue != nil {
			sc.Enqueue.TenantID = tenantID
			w.prepareItem(sc.Enqueue)
			items = append(items, sc.Enqueue)
		}
		if sc.Statement != nil {
			body, err := w.prepareStatement(tenantID, sc.Statement)
			if err != nil {
				return err
			}
			statements.add(sc.Statement, body)
		}
		ds, err := w.deliveriesOf(tenantID, sc.Events)
		if err != nil {
			return err
		}
		deliveries = append(deliveries, ds...)
	}
	b := &pgx.Batch{}
	if len(items) > 0 {
		b.Queue(insertItemsSQL, itemArrays(tenantID, w.now, items)...)
	}
	if len(statements.ids) > 0 {
		b.Queue(insertStatementsSQL, tenantID, w.now, statements.ids, statements.listingIDs, statements.bodies)
	}
	if len(deliveries) > 0 {
		b.Queue(insertDeliveriesSQL, deliveryArrays(tenantID, w.now, deliveries)...)
	}
	if b.Len() == 0 {
		return nil
	}
	br := w.SendBatch(w.ctx, b)
	inserted := map[string]bool{}
	if len(items) > 0 {
		result, err := br.Query()
		if err == nil {
			var id string
			_, err = pgx.ForEachRow(result, []any{&id}, func() error {
				inserted[id] = true
				return nil
			})
		}
		if err != nil {
			br.Close()
			return fmt.Errorf("postgres: insert queue items: %w", err)
		}
	}
	if len(statements.ids) > 0 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return fmt.Errorf("postgres: insert statements: %w", err)
		}
	}
	if len(deliveries) > 0 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return fmt.Errorf("postgres: insert deliveries: %w", err)
		}
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("postgres: write effects: %w", err)
	}
	var folds []*wildwarden.QueueItem
	for _, item := range items {
		if inserted[item.ID] {
			w.audit(tenantID, "queue.add", item.ID, item.Kind+" "+item.ListingID)
		} else {
			folds = append(folds, item)
		}
	}
	for _, item := range folds {
		if err := w.enqueue(item); err != nil {
			return err
		}
	}
	return nil
}

// statementArrays are the columns of statements to insert.
type statementArrays struct {
	ids, listingIDs, bodies []string
}

func (a *statementArrays) add(st *wildwarden.Statement, body []byte) {
	a.ids = append(a.ids, st.ID)
	a.listingIDs = append(a.listingIDs, st.ListingID)
	a.bodies = append(a.bodies, string(body))
}

// itemArrays returns the arguments of insertItemsSQL.
func itemArrays(tenantID string, now time.Time, items []*wildwarden.QueueItem) []any {
	n := len(items)
	ids, listingIDs, kinds, cites, excluded := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	scores, weights, priorities := make([]float64, n), make([]float64, n), make([]float64, n)
	reports := make([]int32, n)
	reach := make([]int64, n)
	for k, it := range items {
		ids[k], listingIDs[k], kinds[k], cites[k], excluded[k] = it.ID, it.ListingID, it.Kind, it.CITES, it.ExcludeReviewer
		scores[k], weights[k], priorities[k] = it.Score, it.ReportWeight, it.Priority
		reports[k], reach[k] = int32(it.Reports), it.Reach
	}
	return []any{tenantID, now, ids, listingIDs, kinds, scores, cites, reports, weights, reach, priorities, excluded}
}

// deliveryArrays returns the arguments of insertDeliveriesSQL.
func deliveryArrays(tenantID string, now time.Time, ds []newDelivery) []any {
	n := len(ds)
	ids, hooks, types := make([]string, n), make([]string, n), make([]string, n)
	bodies := make([][]byte, n)
	for k, d := range ds {
		ids[k], hooks[k], types[k], bodies[k] = d.id, d.webhookID, d.eventType, d.body
	}
	return []any{tenantID, wildwarden.DeliveryPending, now, ids, hooks, types, bodies}
}
