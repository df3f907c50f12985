package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSynonymOf(t *testing.T) {
	tests := []struct {
		name, synonyms string
		want           bool
	}{
		{"Panthera uncia", "Panthera uncia (Schreber, 1775)", true},
		{"Panthera uncia", "Felis uncia Schreber, 1775, Panthera uncia (Schreber, 1775)", true},
		{"Panthera uncia", "Panthera unciata Smith, 1900", false},
		{"Manis", "Manis javanica Desmarest, 1822", false},
		{"Manis javanica", "", false},
	}
	for _, tt := range tests {
		if got := synonymOf(tt.name, tt.synonyms); got != tt.want {
			t.Errorf("synonymOf(%q, %q) = %v, want %v", tt.name, tt.synonyms, got, tt.want)
		}
	}
}

func TestBuildRow(t *testing.T) {
	checklist := map[string]checklistTaxon{
		"Geochelone elegans": {name: "Geochelone elegans", rank: "SPECIES", listing: "II", english: "Indian Star Tortoise"},
		"Uncia uncia":        {name: "Uncia uncia", rank: "SPECIES", listing: "I", english: "Ounce", synonyms: "Panthera uncia (Schreber, 1775)"},
	}
	tests := []struct {
		name    string
		wanted  wantedTaxon
		want    []string // key, scientific, rank, common, cites, categories
		note    []string // fragments the note must hold
		wantErr bool
	}{
		{
			name:   "later listing change overrides the export",
			wanted: wantedTaxon{scientific: "Geochelone elegans", categories: "live_tortoise", common: "-", cites: "I", rank: "-", change: "CoP18 (2019) transferred to Appendix I"},
			want:   []string{"geochelone_elegans", "Geochelone elegans", "SPECIES", "Indian Star Tortoise", "I", "live_tortoise"},
			note:   []string{"export 2017-04-21", "Appendix II", "current appendix I", "CoP18 (2019)"},
		},
		{
			name:   "found through a synonym",
			wanted: wantedTaxon{scientific: "Panthera uncia", categories: "big_cat", common: "Snow leopard", cites: "-", rank: "-", change: "-"},
			want:   []string{"uncia_uncia", "Uncia uncia", "SPECIES", "Snow leopard", "I", "big_cat"},
			note:   []string{"listed there as Uncia uncia"},
		},
		{
			name:   "missing from the export with a listing change",
			wanted: wantedTaxon{scientific: "Sphyrnidae", categories: "shark_ray", common: "Hammerhead sharks", cites: "II", rank: "FAMILY", change: "CoP19 (2022) listed the family"},
			want:   []string{"sphyrnidae", "Sphyrnidae", "FAMILY", "Hammerhead sharks", "II", "shark_ray"},
			note:   []string{"not in CITES Checklist export", "CoP19 (2022)"},
		},
		{
			name:    "missing from the export without the facts",
			wanted:  wantedTaxon{scientific: "Isurus", categories: "shark_ray", common: "-", cites: "-", rank: "-", change: "-"},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row, err := buildRow(tt.wanted, checklist)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("buildRow: want an error, got %q", row)
				}
				return
			}
			if err != nil {
				t.Fatalf("buildRow: %v", err)
			}
			if got := row[:6]; strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("row = %q, want %q", got, tt.want)
			}
			for _, frag := range tt.note {
				if !strings.Contains(row[6], frag) {
					t.Errorf("note %q lacks %q", row[6], frag)
				}
			}
		})
	}
}

// TestTaxaFileIsGenerated checks that kb/data/taxa.tsv is what the generator
// makes from the CITES export and wanted.tsv, so neither drifts by hand.
func TestTaxaFileIsGenerated(t *testing.T) {
	export := filepath.Join("..", "..", "..", "..", "shared", "data", "cites_index_2017-04-21.csv.gz")
	if _, err := os.Stat(export); err != nil {
		if os.Getenv("WW_REQUIRE_ALL") == "1" {
			t.Fatalf("CITES export %s is required (WW_REQUIRE_ALL=1): %v", export, err)
		}
		t.Skipf("CITES export not found at %s (../shared is absent in a fresh clone): %v", export, err)
	}
	var got bytes.Buffer
	if err := run(export, "wanted.tsv", &got); err != nil {
		t.Fatalf("run: %v", err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "data", "taxa.tsv"))
	if err != nil {
		t.Fatalf("read taxa.tsv: %v", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("kb/data/taxa.tsv is out of date: regenerate it with go run ./kb/internal/citesextract (see the command's doc comment)")
	}
}
