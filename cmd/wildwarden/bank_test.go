package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wildwarden/wildwarden/image/imagetest"

	"github.com/wildwarden/wildwarden/sqlite"
)

// writePhoto writes a deterministic photo (different seeds give unrelated
// pictures) scaled to width×height as a JPEG.
func writePhoto(t *testing.T, path string, seed uint64, width, height, quality int) {
	t.Helper()
	if err := os.WriteFile(path, imagetest.Photo(t, seed, width, height, quality), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBankCommands runs the bank commands on a database with two tenants:
// create, add, list, match (a resized copy matches, another tenant's
// banks do not, an allow bank suppresses), remove, and the refusals.
func TestBankCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ww.db")
	seized := filepath.Join(dir, "seized.jpg")
	repost := filepath.Join(dir, "repost.jpg")
	other := filepath.Join(dir, "other.jpg")
	writePhoto(t, seized, 1, 640, 480, 90)
	writePhoto(t, repost, 1, 320, 240, 50)
	writePhoto(t, other, 2, 640, 480, 90)
	for _, tenant := range []string{"default", "shop-b"} {
		if _, stderr, status := run(t, nil, "admin", "tenant", "create", "--db", db, tenant); status != 0 {
			t.Fatalf("tenant create %s: %s", tenant, stderr)
		}
	}
	bank := func(args ...string) (string, string, int) {
		t.Helper()
		return run(t, nil, append([]string{"bank", "--db", db}, args...)...)
	}
	steps := []struct {
		name       string
		args       []string
		wantStatus int
		wantOut    []string // lines of stdout containing all these fields
		wantErr    string
	}{
		{"create deny bank", []string{"create", "confirmed", "--description", "seized items"}, 0, nil, "created deny bank confirmed"},
		{"create allow bank", []string{"create", "stock", "--kind", "allow"}, 0, nil, "created allow bank stock"},
		{"bad name refused", []string{"create", "Bad Name"}, 1, nil, "bank name"},
		{"bad kind refused", []string{"create", "odd", "--kind", "maybe"}, 1, nil, "kind"},
		{"name taken", []string{"create", "confirmed"}, 1, nil, "already exists"},
		{"add photo", []string{"add", "confirmed", "--id", "E-1", "--category", "pangolin", "--species", "Manis javanica", seized}, 0, []string{"E-1"}, ""},
		{"same id refused", []string{"add", "confirmed", "--id", "E-1", other}, 1, nil, "already has an entry"},
		{"missing file reported", []string{"add", "confirmed", filepath.Join(dir, "none.jpg")}, 1, nil, "none.jpg"},
		{"list banks", []string{"list"}, 0, []string{"confirmed deny 1", "stock allow 0"}, ""},
		{"list entries", []string{"list", "confirmed"}, 0, []string{"E-1 pangolin Manis javanica"}, ""},
		{"repost matches", []string{"match", repost, other}, 0, []string{"repost.jpg confirmed deny E-1", "other.jpg -"}, ""},
		{"other tenant sees nothing", []string{"match", "--tenant", "shop-b", repost}, 0, []string{"repost.jpg -"}, ""},
		{"other tenant cannot remove", []string{"remove", "--tenant", "shop-b", "confirmed", "E-1"}, 1, nil, "no bank confirmed"},
		{"allow bank entry", []string{"add", "stock", "--id", "S-1", seized}, 0, []string{"S-1"}, ""},
		{"allow suppresses deny", []string{"match", repost}, 0, []string{"repost.jpg stock allow S-1"}, ""},
		{"remove", []string{"remove", "confirmed", "E-1"}, 0, nil, ""},
		{"remove again", []string{"remove", "confirmed", "E-1"}, 1, nil, "no entry"},
		{"list after remove", []string{"list"}, 0, []string{"confirmed deny 0", "stock allow 1"}, ""},
	}
	for _, step := range steps {
		stdout, stderr, status := bank(step.args...)
		if status != step.wantStatus {
			t.Fatalf("%s: status %d, want %d\nstdout: %s\nstderr: %s", step.name, status, step.wantStatus, stdout, stderr)
		}
		if !strings.Contains(stderr, step.wantErr) {
			t.Errorf("%s: stderr %q does not contain %q", step.name, stderr, step.wantErr)
		}
		for _, want := range step.wantOut {
			if !hasLineWithFields(stdout, strings.Fields(want)) {
				t.Errorf("%s: no output line with %q in\n%s", step.name, want, stdout)
			}
		}
		if step.name == "allow suppresses deny" && strings.Contains(stdout, "confirmed") {
			t.Errorf("%s: deny match printed despite the allow bank:\n%s", step.name, stdout)
		}
	}

	// Every change is in the audit log, and the chain holds.
	store, err := sqlite.Open(db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	if _, _, err := store.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
	tenant, err := resolveTenant(ctx, store, "default")
	if err != nil {
		t.Fatal(err)
	}
	log, err := store.AuditLog(ctx, tenant.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	for _, e := range log {
		if strings.HasPrefix(e.Action, "bank.") {
			changes = append(changes, e.Actor+" "+e.Action+" "+e.Subject)
		}
	}
	want := "cli:bank bank.create confirmed|cli:bank bank.create stock|cli:bank bank.add confirmed/E-1|cli:bank bank.add stock/S-1|cli:bank bank.remove confirmed/E-1"
	if got := strings.Join(changes, "|"); got != want {
		t.Errorf("audited bank changes:\n got %s\nwant %s", got, want)
	}
}

// hasLineWithFields reports whether a line of out holds the fields in
// order (tab-aligned tables pad with spaces).
func hasLineWithFields(out string, fields []string) bool {
	for _, line := range strings.Split(out, "\n") {
		got := strings.Fields(line)
		i := 0
		for _, f := range got {
			if i < len(fields) && strings.HasSuffix(f, fields[i]) {
				i++
			}
		}
		if i == len(fields) {
			return true
		}
	}
	return false
}

// TestScanImages scans a listing whose only content is a local photo, a
// re-post of a banked one: with --images and --db the verdict carries the
// bank match; without --images the photo is not read.
func TestScanImages(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ww.db")
	seized := filepath.Join(dir, "seized.jpg")
	repost := filepath.Join(dir, "repost.jpg")
	writePhoto(t, seized, 3, 640, 480, 90)
	writePhoto(t, repost, 3, 400, 300, 50)
	for _, args := range [][]string{
		{"admin", "tenant", "create", "--db", db, "default"},
		{"bank", "create", "--db", db, "confirmed"},
		{"bank", "add", "--db", db, "--id", "E-1", "--category", "ivory", "confirmed", seized},
	} {
		if _, stderr, status := run(t, nil, args...); status != 0 {
			t.Fatalf("%v: %s", args, stderr)
		}
	}
	input := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(input, []byte(`{"id":"L-1","images":["`+repost+`"]}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		wantMatch bool
		wantLog   string
	}{
		{"images off by default", nil, false, ""},
		{"images with banks", []string{"--images", "--ocr=false", "--db", db}, true, "ocr: off"},
		{"images without banks", []string{"--images", "--ocr=false"}, false, "ocr: off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, status := run(t, nil, append([]string{"scan", "-q", input}, tt.args...)...)
			if status != 0 {
				t.Fatalf("status %d: %s", status, stderr)
			}
			matched := strings.Contains(stdout, `"image.bank_match"`) && strings.Contains(stdout, "bank confirmed entry E-1 at distance")
			if matched != tt.wantMatch {
				t.Errorf("bank match in verdict = %v, want %v:\n%s", matched, tt.wantMatch, stdout)
			}
			if !strings.Contains(stderr, tt.wantLog) {
				t.Errorf("stderr %q lacks %q", stderr, tt.wantLog)
			}
		})
	}
}
