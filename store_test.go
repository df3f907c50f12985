package wildwarden

import (
	"testing"
	"time"
)

func TestQueuePriority(t *testing.T) {
	tests := []struct {
		name   string
		higher [4]any // score, cites, reportWeight, reach
		lower  [4]any
	}{
		{"score", [4]any{0.9, "", 0.0, int64(0)}, [4]any{0.5, "", 0.0, int64(0)}},
		{"CITES I over II", [4]any{0.5, "I", 0.0, int64(0)}, [4]any{0.5, "II", 0.0, int64(0)}},
		{"split listing counts as I", [4]any{0.5, "I/II", 0.0, int64(0)}, [4]any{0.5, "II", 0.0, int64(0)}},
		{"reports", [4]any{0.5, "", 2.0, int64(0)}, [4]any{0.5, "", 1.0, int64(0)}},
		{"reach", [4]any{0.5, "", 0.0, int64(100000)}, [4]any{0.5, "", 0.0, int64(10)}},
	}
	p := func(a [4]any) float64 {
		return QueuePriority(a[0].(float64), a[1].(string), a[2].(float64), a[3].(int64))
	}
	for _, tt := range tests {
		if h, l := p(tt.higher), p(tt.lower); h <= l {
			t.Errorf("%s: priority %v <= %v", tt.name, h, l)
		}
	}
}

func TestReportWeight(t *testing.T) {
	tests := []struct {
		upheld, decided int
		want            float64
	}{{0, 0, 1.0}, {2, 2, 1.25}, {0, 2, 0.75}, {98, 98, 1.49}}
	for _, tt := range tests {
		if got := ReportWeight(tt.upheld, tt.decided); got < tt.want-0.01 || got > tt.want+0.01 {
			t.Errorf("ReportWeight(%d, %d) = %v, want %v", tt.upheld, tt.decided, got, tt.want)
		}
	}
}

func TestTopCITES(t *testing.T) {
	tests := []struct {
		species []Species
		want    string
	}{
		{nil, ""},
		{[]Species{{CITES: "III"}, {CITES: "II"}}, "II"},
		{[]Species{{CITES: "II"}, {CITES: "I/II"}}, "I"},
		{[]Species{{CITES: ""}}, ""},
	}
	for _, tt := range tests {
		if got := TopCITES(&Verdict{Species: tt.species}); got != tt.want {
			t.Errorf("TopCITES(%v) = %q, want %q", tt.species, got, tt.want)
		}
	}
}

func TestDeriveStatus(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	screened := func(d Decision, at time.Time, source string) *Screening {
		return &Screening{Verdict: &Verdict{Decision: d}, CreatedAt: at, Source: source}
	}
	dec := func(action, kind string, at time.Time) ReviewDecision {
		return ReviewDecision{Action: action, ItemKind: kind, CreatedAt: at}
	}
	tests := []struct {
		name      string
		latest    *Screening
		decisions []ReviewDecision
		want      string
	}{
		{"blocked", screened(Block, t0, SourceAPI), nil, StatusBlocked},
		{"in review", screened(Review, t0, SourceAPI), nil, StatusInReview},
		{"removed", screened(Review, t0, SourceAPI), []ReviewDecision{dec(ActionRemove, ItemVerdict, t0.Add(time.Hour))}, StatusRemoved},
		{"restored on appeal", screened(Review, t0, SourceAPI), []ReviewDecision{dec(ActionRemove, ItemVerdict, t0.Add(time.Hour)), dec(ActionAllow, ItemAppeal, t0.Add(2*time.Hour))}, StatusRestored},
		{"escalation changes nothing", screened(Review, t0, SourceAPI), []ReviewDecision{dec(ActionEscalate, ItemVerdict, t0.Add(time.Hour))}, StatusInReview},
		{"new content after removal", screened(Allow, t0.Add(3*time.Hour), SourceAPI), []ReviewDecision{dec(ActionRemove, ItemVerdict, t0.Add(time.Hour))}, StatusAllowed},
		{"report re-screen keeps removal", screened(Allow, t0.Add(3*time.Hour), SourceReport), []ReviewDecision{dec(ActionRemove, ItemVerdict, t0.Add(time.Hour))}, StatusRemoved},
	}
	for _, tt := range tests {
		st := &ListingState{Latest: tt.latest, Decisions: tt.decisions}
		if got := st.DeriveStatus(); got != tt.want {
			t.Errorf("%s: status %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestAuditHashCoversEveryField(t *testing.T) {
	base := AuditEntry{Seq: 1, TenantID: "t", Actor: "a", Action: "x", Subject: "s", Data: "d", At: time.Unix(1, 0), PrevHash: "p"}
	h := base.ComputeHash()
	edits := map[string]func(e *AuditEntry){
		"seq": func(e *AuditEntry) { e.Seq = 2 }, "tenant": func(e *AuditEntry) { e.TenantID = "u" },
		"actor": func(e *AuditEntry) { e.Actor = "b" }, "action": func(e *AuditEntry) { e.Action = "y" },
		"subject": func(e *AuditEntry) { e.Subject = "z" }, "data": func(e *AuditEntry) { e.Data = "e" },
		"at": func(e *AuditEntry) { e.At = time.Unix(2, 0) }, "prev": func(e *AuditEntry) { e.PrevHash = "q" },
		"boundary": func(e *AuditEntry) { e.Actor, e.Action = "ax", "" },
	}
	for name, edit := range edits {
		e := base
		edit(&e)
		if e.ComputeHash() == h {
			t.Errorf("editing %s does not change the hash", name)
		}
	}
}

func TestContentHashIgnoresCreatedAt(t *testing.T) {
	a := &Listing{ID: "1", Title: "x", CreatedAt: time.Unix(1, 0)}
	b := &Listing{ID: "1", Title: "x", CreatedAt: time.Unix(2, 0)}
	c := &Listing{ID: "1", Title: "y"}
	if ContentHash(a) != ContentHash(b) || ContentHash(a) == ContentHash(c) {
		t.Fatal("content hash must ignore created_at and see the title")
	}
}
