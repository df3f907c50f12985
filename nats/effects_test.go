package nats_test

import (
	"context"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden"
	wwhttp "github.com/wildwarden/wildwarden/http"
	wwnats "github.com/wildwarden/wildwarden/nats"
	"github.com/wildwarden/wildwarden/nats/natstest"
)

// TestWorkerEffects checks what the worker stores beside each verdict:
// with the HTTP service's ScreeningBuilder (what `wildwarden worker`
// uses), every block from the stream gets an automated statement of
// reasons, as a block through the API does; DefaultEffects makes none.
func TestWorkerEffects(t *testing.T) {
	builder, err := wwhttp.NewScreeningBuilder()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		effects        func(l *wildwarden.Listing, v *wildwarden.Verdict) *wildwarden.Screening
		wantStatements bool
	}{
		{name: "default effects", effects: nil, wantStatements: false},
		{
			name: "service screening builder",
			effects: func(l *wildwarden.Listing, v *wildwarden.Verdict) *wildwarden.Screening {
				return builder.ScreeningOf(l, v, "", wwnats.SourceStream)
			},
			wantStatements: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			js := connect(t, natstest.Start(t).ClientURL())
			ctx := context.Background()
			const total = 30
			publish(t, js, f.tenant.Name, exampleListings(t, total))
			w := &wwnats.Worker{JS: js, Store: f.store, Screener: realEngine(t), Batch: 8, Concurrency: 2, Effects: tt.effects}
			runWorker(t, w, 30*time.Second, func() bool { return streamMsgs(t, js, "WILDWARDEN_VERDICTS") == total })

			stats, err := f.store.Stats(ctx, f.tenant.ID)
			if err != nil {
				t.Fatal(err)
			}
			blocks := int(stats.Verdicts[string(wildwarden.Block)])
			if blocks == 0 {
				t.Fatalf("engine: no block among the example listings (verdicts %v); the test needs one", stats.Verdicts)
			}
			statements, err := f.store.Statements(ctx, f.tenant.ID, time.Time{}, 10*total)
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			if tt.wantStatements {
				want = blocks
			}
			if len(statements) != want {
				t.Fatalf("%d statements of reasons for %d blocks, want %d", len(statements), blocks, want)
			}
			for _, st := range statements {
				latest, err := f.store.LatestScreening(ctx, f.tenant.ID, st.ListingID)
				if err != nil {
					t.Fatalf("statement %s names listing %q: %v", st.ID, st.ListingID, err)
				}
				if latest.Verdict.Decision != wildwarden.Block {
					t.Errorf("statement %s for listing %s, whose verdict is %q", st.ID, st.ListingID, latest.Verdict.Decision)
				}
				if latest.Source != wwnats.SourceStream {
					t.Errorf("listing %s screened by source %q, want %q", st.ListingID, latest.Source, wwnats.SourceStream)
				}
				if st.AutomatedDecision != "AUTOMATED_DECISION_FULLY" || st.AutomatedDetection != "Yes" || st.PUID == "" || st.Category == "" {
					t.Errorf("statement of an automated block = %+v", st)
				}
			}
		})
	}
}
