package postgres_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/postgres"
	"github.com/wildwarden/wildwarden/postgres/pgtest"
)

// Workload sizes shared by the in-process and the two-process tests.
const (
	replicaListings   = 40 // listings every replica screens (the same ones)
	replicaReports    = 10 // reports every replica files on one listing
	replicaReviewers  = 4  // reviewers per replica claiming at once
	replicaDeliveries = 30 // webhook deliveries to dispatch
)

// replicaWorkload is what one replica does, at the same time as the other
// replicas, on a tenant they share: screen the same listings, report the
// same listing, claim and decide review items, dispatch webhook
// deliveries. The parent checks the invariants afterwards.
func replicaWorkload(ctx context.Context, s *postgres.Store, tenantID, name string) error {
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	wg.Add(1)
	go func() { // screening, in batches that share listings
		defer wg.Done()
		for start := 0; start < replicaListings; start += 8 {
			var batch []*wildwarden.Screening
			for i := start; i < min(start+8, replicaListings); i++ {
				id := fmt.Sprintf("L-%d", (i*7)%replicaListings) // another order than the other replica's
				if name == "b" {
					id = fmt.Sprintf("L-%d", i)
				}
				sc := &wildwarden.Screening{
					Listing: &wildwarden.Listing{ID: id, Title: "carved bangle " + id},
					Verdict: &wildwarden.Verdict{ID: id, Decision: wildwarden.Review, Score: 0.6},
					Enqueue: &wildwarden.QueueItem{ListingID: id, Kind: wildwarden.ItemVerdict, Score: 0.6},
					Events:  []wildwarden.Event{{Type: wildwarden.EventBlock, ListingID: id}},
				}
				batch = append(batch, sc)
			}
			res, err := s.SaveScreenings(ctx, tenantID, batch)
			if err != nil {
				errs <- fmt.Errorf("replica %s: save: %w", name, err)
				return
			}
			for _, e := range res {
				if e != nil {
					errs <- fmt.Errorf("replica %s: save: %w", name, e)
				}
			}
		}
	}()
	wg.Add(1)
	go func() { // reports on one listing fold into one item
		defer wg.Done()
		for i := 0; i < replicaReports; i++ {
			r := &wildwarden.Report{TenantID: tenantID, ListingID: "reported", Reason: "ivory", ReporterID: name}
			if err := s.AddReport(ctx, r, &wildwarden.QueueItem{Reports: 1, ReportWeight: 1}); err != nil {
				errs <- fmt.Errorf("replica %s: report: %w", name, err)
				return
			}
		}
	}()
	for r := 0; r < replicaReviewers; r++ {
		wg.Add(1)
		go func(reviewer string) { // reviewers take items until the queue is empty
			defer wg.Done()
			for empty := 0; empty < 20; {
				it, err := s.Claim(ctx, tenantID, reviewer, time.Minute)
				if wildwarden.ErrorCode(err) == wildwarden.ENOTFOUND {
					empty++
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if err != nil {
					errs <- fmt.Errorf("%s: claim: %w", reviewer, err)
					return
				}
				d := &wildwarden.ReviewDecision{TenantID: tenantID, ItemID: it.ID, ReviewerID: reviewer, Action: wildwarden.ActionRemove}
				if err := s.Decide(ctx, d, nil); err != nil {
					errs <- fmt.Errorf("%s: decide %s: %w", reviewer, it.ID, err)
					return
				}
			}
		}(fmt.Sprintf("rev-%s-%d", name, r))
	}
	wg.Add(1)
	go func() { // a dispatcher: every due delivery is posted once
		defer wg.Done()
		for empty := 0; empty < 20; {
			due, err := s.DueDeliveries(ctx, time.Now(), 7)
			if err != nil {
				errs <- fmt.Errorf("replica %s: due: %w", name, err)
				return
			}
			if len(due) == 0 {
				empty++
				time.Sleep(10 * time.Millisecond)
				continue
			}
			for _, d := range due {
				a := &wildwarden.DeliveryAttempt{DeliveryID: d.ID, TenantID: d.TenantID, Status: 200, State: wildwarden.DeliveryDelivered, NextAt: time.Now()}
				if err := s.RecordAttempt(ctx, a); err != nil {
					errs <- fmt.Errorf("replica %s: record %s: %w", name, d.ID, err)
					return
				}
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	return nil
}

// setupShared creates the tenant and webhook the replicas share.
func setupShared(t *testing.T, s *postgres.Store) string {
	t.Helper()
	ctx := context.Background()
	tn := &wildwarden.Tenant{Name: "shop"}
	if err := s.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWebhook(ctx, &wildwarden.Webhook{TenantID: tn.ID, URL: "http://127.0.0.1:1/", Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

// checkInvariants reads the database the replicas shared.
func checkInvariants(t *testing.T, dsn string, s *postgres.Store, tenantID string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	counts := []struct {
		what  string
		query string
		want  int
	}{
		{"screenings (each listing screened once)", `SELECT COUNT(*) FROM screenings`, replicaListings},
		{"listings screened more than once", `SELECT COUNT(*) FROM (SELECT listing_id FROM screenings GROUP BY listing_id HAVING COUNT(*) > 1) x`, 0},
		{"report items whose count disagrees with their reports (a lost fold)", `SELECT COUNT(*) FROM queue_items q
			WHERE kind = 'report' AND reports <> (SELECT COUNT(*) FROM reports r WHERE r.item_id = q.id)`, 0},
		{"reports", `SELECT COUNT(*) FROM reports`, 2 * replicaReports},
		{"items decided twice", `SELECT COUNT(*) FROM (SELECT item_id FROM decisions GROUP BY item_id HAVING COUNT(*) > 1) x`, 0},
		{"open items left", `SELECT COUNT(*) FROM queue_items WHERE open`, 0},
		{"deliveries", `SELECT COUNT(*) FROM deliveries`, replicaListings},
		{"deliveries posted more than once", `SELECT COUNT(*) FROM (SELECT delivery_id FROM delivery_attempts GROUP BY delivery_id HAVING COUNT(*) > 1) x`, 0},
		{"deliveries not delivered", `SELECT COUNT(*) FROM deliveries WHERE state <> 'delivered'`, 0},
	}
	for _, c := range counts {
		var n int
		if err := conn.QueryRow(ctx, c.query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if n != c.want {
			t.Errorf("%s = %d, want %d", c.what, n, c.want)
		}
	}
	var reports int
	if err := conn.QueryRow(ctx, `SELECT SUM(reports) FROM queue_items WHERE kind = 'report'`).Scan(&reports); err != nil || reports != 2*replicaReports {
		t.Errorf("report items count %d reports (%v), want %d", reports, err, 2*replicaReports)
	}
	n, _, err := s.VerifyAudit(ctx)
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	var rows int64
	if err := conn.QueryRow(ctx, `SELECT COUNT(*) FROM audit`).Scan(&rows); err != nil || rows != n {
		t.Fatalf("audit has %d rows (%v), the chain %d entries", rows, err, n)
	}
}

// TestTwoReplicasInProcess runs two stores with separate pools, as two
// replicas, on one database.
func TestTwoReplicasInProcess(t *testing.T) {
	dsn := pgtest.Database(t)
	a, b := open(t, dsn), open(t, dsn)
	tenantID := setupShared(t, a)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, s := range []*postgres.Store{a, b} {
		wg.Add(1)
		go func(i int, s *postgres.Store) {
			defer wg.Done()
			errs[i] = replicaWorkload(context.Background(), s, tenantID, string(rune('a'+i)))
		}(i, s)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	checkInvariants(t, dsn, a, tenantID)
}

// replicaEnv carries the database and tenant to a child replica process.
const replicaEnv = "WW_PG_REPLICA"

// replicaProcess is one replica of TestTwoProcesses, run in a child
// process.
func replicaProcess(spec string) int {
	var dsn, tenantID, name string
	if _, err := fmt.Sscan(spec, &dsn, &tenantID, &name); err != nil {
		fmt.Fprintf(os.Stderr, "%s=%q: %v\n", replicaEnv, spec, err)
		return 1
	}
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	if err := replicaWorkload(context.Background(), s, tenantID, name); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestTwoProcesses runs the replica workload in two separate processes on
// one database, as two `serve` replicas would.
func TestTwoProcesses(t *testing.T) {
	dsn := pgtest.Database(t)
	s := open(t, dsn)
	tenantID := setupShared(t, s)
	var cmds []*exec.Cmd
	outs := make([]*lockedBuffer, 2)
	for i, name := range []string{"a", "b"} {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %s", replicaEnv, dsn, tenantID, name))
		outs[i] = &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatalf("start replica %s: %v", name, err)
		}
		cmds = append(cmds, cmd)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("replica %d: %v\n%s", i, err, outs[i].String())
		}
	}
	checkInvariants(t, dsn, s, tenantID)
}

// lockedBuffer collects a child's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
