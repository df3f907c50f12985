package storetest

import (
	"strings"
	"testing"

	"github.com/wildwarden/wildwarden"
)

// testImageBanks checks the image bank methods: create, add, list,
// remove and delete, their error codes, tenant isolation and the audit
// entry every change leaves.
func testImageBanks(t *testing.T, s wildwarden.Store) {
	a := mustTenant(t, s, "shop-a")
	b := mustTenant(t, s, "shop-b")
	hash := strings.Repeat("0f", 32)

	if err := s.CreateImageBank(ctx, &wildwarden.ImageBank{TenantID: a, Name: "confirmed", Kind: "deny", Description: "seized"}); err != nil {
		t.Fatalf("CreateImageBank: %v", err)
	}
	wantCode(t, "second bank of the same name", s.CreateImageBank(ctx, &wildwarden.ImageBank{TenantID: a, Name: "confirmed", Kind: "deny"}), wildwarden.ECONFLICT)
	wantCode(t, "bank of unknown kind", s.CreateImageBank(ctx, &wildwarden.ImageBank{TenantID: a, Name: "odd", Kind: "maybe"}), wildwarden.EINVALID)
	// Another tenant may use the same name: banks are per tenant.
	if err := s.CreateImageBank(ctx, &wildwarden.ImageBank{TenantID: b, Name: "confirmed", Kind: "allow"}); err != nil {
		t.Fatalf("CreateImageBank in a second tenant: %v", err)
	}

	entry := &wildwarden.ImageBankEntry{Bank: "confirmed", ID: "E-1", Hash: hash, Quality: 90, Species: "Manis javanica", Category: "pangolin", Source: "L-9"}
	if err := s.AddImageBankEntry(ctx, a, entry); err != nil {
		t.Fatalf("AddImageBankEntry: %v", err)
	}
	if entry.AddedBy != "storetest" || entry.AddedAt.IsZero() {
		t.Errorf("added entry has AddedBy %q, AddedAt %v; want the actor and a time", entry.AddedBy, entry.AddedAt)
	}
	wantCode(t, "entry id taken", s.AddImageBankEntry(ctx, a, &wildwarden.ImageBankEntry{Bank: "confirmed", ID: "E-1", Hash: hash, Quality: 90}), wildwarden.ECONFLICT)
	wantCode(t, "entry in a missing bank", s.AddImageBankEntry(ctx, a, &wildwarden.ImageBankEntry{Bank: "nope", ID: "E-2", Hash: hash, Quality: 90}), wildwarden.ENOTFOUND)
	wantCode(t, "entry with a bad hash", s.AddImageBankEntry(ctx, a, &wildwarden.ImageBankEntry{Bank: "confirmed", ID: "E-3", Hash: "xyz", Quality: 90}), wildwarden.EINVALID)

	banks, err := s.ImageBanks(ctx, a)
	if err != nil || len(banks) != 1 || banks[0].Name != "confirmed" || banks[0].Kind != "deny" || banks[0].Description != "seized" || banks[0].CreatedBy != "storetest" {
		t.Fatalf("ImageBanks(a) = %+v, %v", banks, err)
	}
	entries, err := s.ImageBankEntries(ctx, a, "confirmed")
	if err != nil || len(entries) != 1 {
		t.Fatalf("ImageBankEntries(a) = %+v, %v", entries, err)
	}
	if got := entries[0]; got.ID != "E-1" || got.Hash != hash || got.Quality != 90 || got.Species != "Manis javanica" || got.Category != "pangolin" || got.Source != "L-9" {
		t.Errorf("stored entry = %+v, want %+v", got, *entry)
	}
	// Tenant b's bank of the same name has none of a's entries, and b
	// cannot remove them.
	if entries, err := s.ImageBankEntries(ctx, b, "confirmed"); err != nil || len(entries) != 0 {
		t.Errorf("tenant b sees entries %+v, %v", entries, err)
	}
	wantCode(t, "remove another tenant's entry", s.RemoveImageBankEntry(ctx, b, "confirmed", "E-1"), wildwarden.ENOTFOUND)
	_, err = s.ImageBankEntries(ctx, b, "nope")
	wantCode(t, "entries of a missing bank", err, wildwarden.ENOTFOUND)

	got, err := s.ImageBankEntry(ctx, a, "confirmed", "E-1")
	if err != nil || got.Bank != "confirmed" || got.ID != "E-1" || got.Hash != hash || got.Quality != 90 || got.Species != "Manis javanica" ||
		got.Category != "pangolin" || got.Source != "L-9" || got.AddedBy != "storetest" || !got.AddedAt.Equal(entry.AddedAt) {
		t.Errorf("ImageBankEntry = %+v, %v; want %+v", got, err, *entry)
	}
	_, err = s.ImageBankEntry(ctx, a, "confirmed", "E-9")
	wantCode(t, "a missing entry", err, wildwarden.ENOTFOUND)
	_, err = s.ImageBankEntry(ctx, b, "confirmed", "E-1")
	wantCode(t, "another tenant's entry", err, wildwarden.ENOTFOUND)

	if err := s.RemoveImageBankEntry(ctx, a, "confirmed", "E-1"); err != nil {
		t.Fatalf("RemoveImageBankEntry: %v", err)
	}
	wantCode(t, "remove twice", s.RemoveImageBankEntry(ctx, a, "confirmed", "E-1"), wildwarden.ENOTFOUND)
	if err := s.AddImageBankEntry(ctx, a, &wildwarden.ImageBankEntry{Bank: "confirmed", ID: "E-4", Hash: hash, Quality: 80}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteImageBank(ctx, a, "confirmed"); err != nil {
		t.Fatalf("DeleteImageBank: %v", err)
	}
	wantCode(t, "delete twice", s.DeleteImageBank(ctx, a, "confirmed"), wildwarden.ENOTFOUND)
	// A bank created again under the name starts empty.
	if err := s.CreateImageBank(ctx, &wildwarden.ImageBank{TenantID: a, Name: "confirmed", Kind: "deny"}); err != nil {
		t.Fatal(err)
	}
	if entries, err := s.ImageBankEntries(ctx, a, "confirmed"); err != nil || len(entries) != 0 {
		t.Errorf("recreated bank has entries %+v, %v", entries, err)
	}
	if banks, err := s.ImageBanks(ctx, b); err != nil || len(banks) != 1 || banks[0].Kind != "allow" {
		t.Errorf("ImageBanks(b) = %+v, %v", banks, err)
	}

	log, err := s.AuditLog(ctx, a, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		if strings.HasPrefix(e.Action, "bank.") {
			actions = append(actions, e.Action+" "+e.Subject)
		}
	}
	want := []string{"bank.create confirmed", "bank.add confirmed/E-1", "bank.remove confirmed/E-1", "bank.add confirmed/E-4", "bank.delete confirmed", "bank.create confirmed"}
	if strings.Join(actions, "|") != strings.Join(want, "|") {
		t.Errorf("audited bank changes:\n got %q\nwant %q", actions, want)
	}
	if _, _, err := s.VerifyAudit(ctx); err != nil {
		t.Errorf("VerifyAudit: %v", err)
	}
}

// testSyncLog: SyncLog lists the knowledge-base additions and image-bank
// changes of every tenant in the order they were made, and nothing else
// of the audit log; SyncHead names the newest of them.
func testSyncLog(t *testing.T, s wildwarden.Store) {
	if head, err := s.SyncHead(ctx); err != nil || head != 0 {
		t.Fatalf("SyncHead of an empty store = %d, %v; want 0", head, err)
	}
	a := mustTenant(t, s, "shop-a")
	b := mustTenant(t, s, "shop-b")
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("CreateImageBank", s.CreateImageBank(ctx, &wildwarden.ImageBank{TenantID: a, Name: "confirmed", Kind: "deny"}))
	must("AddImageBankEntry", s.AddImageBankEntry(ctx, a, &wildwarden.ImageBankEntry{Bank: "confirmed", ID: "L-1#0", Hash: strings.Repeat("0f", 32), Quality: 90}))
	save(t, s, a, screening("L-1", "x", wildwarden.Block, 0.9))
	add := &wildwarden.KBAddition{TenantID: b, Kind: wildwarden.KBAddTerm, Text: "white gold", Lang: "en", Category: "ivory", Note: "n"}
	must("AddKBAddition", s.AddKBAddition(ctx, add))
	must("CreateUser", s.CreateUser(ctx, &wildwarden.User{TenantID: b, Name: "alice", Role: wildwarden.RoleReviewer}))
	must("RemoveImageBankEntry", s.RemoveImageBankEntry(ctx, a, "confirmed", "L-1#0"))
	must("DeleteImageBank", s.DeleteImageBank(ctx, a, "confirmed"))

	log, err := s.SyncLog(ctx, 0, 100)
	if err != nil {
		t.Fatalf("SyncLog: %v", err)
	}
	var got []string
	for i, e := range log {
		got = append(got, e.TenantID+" "+e.Action+" "+e.Subject)
		if i > 0 && e.Seq <= log[i-1].Seq {
			t.Errorf("entry %d (seq %d) is not after seq %d", i, e.Seq, log[i-1].Seq)
		}
	}
	want := []string{a + " bank.create confirmed", a + " bank.add confirmed/L-1#0", b + " kb.add " + add.ID,
		a + " bank.remove confirmed/L-1#0", a + " bank.delete confirmed"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("SyncLog(0):\n got %q\nwant %q", got, want)
	}
	head, err := s.SyncHead(ctx)
	if err != nil || head != log[len(log)-1].Seq {
		t.Fatalf("SyncHead = %d, %v; want %d, the newest entry's", head, err, log[len(log)-1].Seq)
	}
	// Following from an entry returns the rest, a page at a time.
	rest, err := s.SyncLog(ctx, log[1].Seq, 2)
	if err != nil || len(rest) != 2 || rest[0].Seq != log[2].Seq || rest[1].Seq != log[3].Seq {
		t.Fatalf("SyncLog(after entry 2, limit 2) = %+v, %v; want entries 3 and 4", rest, err)
	}
	// Other changes move neither the head nor the log.
	save(t, s, a, screening("L-2", "y", wildwarden.Allow, 0.1))
	if after, err := s.SyncLog(ctx, head, 100); err != nil || len(after) != 0 {
		t.Fatalf("SyncLog after the head = %+v, %v; want nothing", after, err)
	}
	if h, err := s.SyncHead(ctx); err != nil || h != head {
		t.Fatalf("SyncHead after a screening = %d, %v; want %d", h, err, head)
	}
	for _, action := range wildwarden.SyncActions {
		if !strings.Contains(strings.Join(got, "|"), " "+action+" ") {
			t.Errorf("SyncLog returned no %s entry", action)
		}
	}
}
