// Package kb loads the knowledge base: categories, taxa with their CITES
// appendix, terms and code words, context cues, emoji and the keyword
// scoring weights. The files are data (see README.md in this directory);
// the default set is embedded in the binary.
package kb

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

//go:embed data/*.tsv
var embedded embed.FS

// Term kinds.
const (
	KindProduct = "product"
	KindAnimal  = "animal"
	KindPart    = "part"
	KindCode    = "code"
)

// Cue names.
const (
	CueSaleIntent    = "sale_intent"
	CuePrice         = "price"
	CueContact       = "contact"
	CueImitation     = "imitation"
	CueColourContext = "colour_context"
	CueColourPhrase  = "colour_phrase"
	CueFalseFriend   = "false_friend"
	CueLawful        = "lawful"
	CueAltMaterial   = "alt_material"
	CueNews          = "news"
	CueLive          = "live"
	CueNegation      = "negation"
	CueNegationAfter = "negation_after"
	CueForm          = "form"
	CueAuthentic     = "authentic"
	CueEvasionClaim  = "evasion_claim"
)

var (
	termKinds = []string{KindProduct, KindAnimal, KindPart, KindCode}
	cueNames  = []string{CueSaleIntent, CuePrice, CueContact, CueImitation, CueColourContext,
		CueColourPhrase, CueFalseFriend, CueLawful, CueAltMaterial, CueNews, CueLive,
		CueNegation, CueNegationAfter, CueAuthentic, CueEvasionClaim, CueForm}
	termFlags = []string{"colour", "weak", "prefix"}
)

// Category is a kind of traded wildlife product.
type Category struct {
	ID, Label, Note string
}

// Taxon is a species or higher taxon with its CITES appendix.
type Taxon struct {
	Key, Scientific, Rank, Common, CITES string
	Categories                           []string
	Note                                 string
}

// Term is a word a seller writes for a product, an animal, a part or in code.
type Term struct {
	Text, Lang, Kind, Category, Taxon string
	Colour, Weak, Prefix              bool
	Note                              string
	Source                            string // file:line
}

// Cue is a pattern of context around terms.
type Cue struct {
	Cue     string
	Regex   bool
	Pattern string
	Lang    string
	Note    string
	Source  string
}

// Weight is one feature weight of the keyword scoring model.
type Weight struct {
	Feature string
	Weight  float64
	Note    string
}

// KB is a loaded, validated knowledge base.
type KB struct {
	Version    string // content hash of the files, stamped on verdicts
	Categories map[string]Category
	Taxa       map[string]Taxon
	Terms      []Term
	Cues       []Cue
	Emoji      map[string]string
	Weights    []Weight
}

// Embedded returns the file system of the knowledge base built into the
// binary.
func Embedded() fs.FS {
	sub, err := fs.Sub(embedded, "data")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// LoadDefault loads the embedded knowledge base.
func LoadDefault() (*KB, error) { return Load(Embedded()) }

// LoadDir loads a knowledge base from a directory of the same files.
func LoadDir(dir string) (*KB, error) {
	if dir == "" {
		return LoadDefault()
	}
	return Load(os.DirFS(dir))
}

var files = []struct {
	name   string
	header []string
}{
	{"categories.tsv", []string{"id", "label", "note"}},
	{"taxa.tsv", []string{"key", "scientific", "rank", "common", "cites", "categories", "note"}},
	{"terms.tsv", []string{"term", "lang", "kind", "category", "taxon", "flags", "note"}},
	{"cues.tsv", []string{"cue", "match", "pattern", "lang", "note"}},
	{"emoji.tsv", []string{"emoji", "name", "note"}},
	{"weights.tsv", []string{"feature", "weight", "note"}},
}

// Load reads and validates the knowledge base in fsys. Errors name the file
// and line.
func Load(fsys fs.FS) (*KB, error) {
	k := &KB{
		Categories: map[string]Category{},
		Taxa:       map[string]Taxon{},
		Emoji:      map[string]string{},
	}
	digest := sha256.New()
	rows := map[string][]row{}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f.name)
		if err != nil {
			return nil, fmt.Errorf("kb: %w", err)
		}
		fmt.Fprintf(digest, "%s\x00%d\x00", f.name, len(data))
		digest.Write(data)
		rs, err := parseTSV(f.name, data, f.header)
		if err != nil {
			return nil, err
		}
		rows[f.name] = rs
	}
	k.Version = "kb-" + hex.EncodeToString(digest.Sum(nil))[:12]

	for _, r := range rows["categories.tsv"] {
		c := Category{ID: r.f[0], Label: r.f[1], Note: r.f[2]}
		if _, dup := k.Categories[c.ID]; dup {
			return nil, r.errorf("category %q is defined twice", c.ID)
		}
		k.Categories[c.ID] = c
	}
	for _, r := range rows["taxa.tsv"] {
		t := Taxon{Key: r.f[0], Scientific: r.f[1], Rank: r.f[2], Common: r.f[3], CITES: r.f[4], Note: r.f[6]}
		if _, dup := k.Taxa[t.Key]; dup {
			return nil, r.errorf("taxon %q is defined twice", t.Key)
		}
		for _, c := range splitList(r.f[5]) {
			if _, ok := k.Categories[c]; !ok {
				return nil, r.errorf("category %q is not in categories.tsv", c)
			}
			t.Categories = append(t.Categories, c)
		}
		k.Taxa[t.Key] = t
	}
	for _, r := range rows["terms.tsv"] {
		t := Term{Text: r.f[0], Lang: r.f[1], Kind: r.f[2], Category: r.f[3], Taxon: r.f[4], Note: r.f[6], Source: r.source()}
		if !slices.Contains(termKinds, t.Kind) {
			return nil, r.errorf("kind %q is not one of %s", t.Kind, strings.Join(termKinds, ", "))
		}
		if t.Category == "-" {
			if t.Kind != KindPart {
				return nil, r.errorf("a %s term needs a category", t.Kind)
			}
			t.Category = ""
		} else if _, ok := k.Categories[t.Category]; !ok {
			return nil, r.errorf("category %q is not in categories.tsv", t.Category)
		}
		if t.Taxon == "-" {
			t.Taxon = ""
		} else if _, ok := k.Taxa[t.Taxon]; !ok {
			return nil, r.errorf("taxon %q is not in taxa.tsv", t.Taxon)
		}
		for _, fl := range splitList(r.f[5]) {
			switch fl {
			case "colour":
				t.Colour = true
			case "weak":
				t.Weak = true
			case "prefix":
				t.Prefix = true
			default:
				return nil, r.errorf("flag %q is not one of %s", fl, strings.Join(termFlags, ", "))
			}
		}
		k.Terms = append(k.Terms, t)
	}
	for _, r := range rows["cues.tsv"] {
		c := Cue{Cue: r.f[0], Pattern: r.f[2], Lang: r.f[3], Note: r.f[4], Source: r.source()}
		if !slices.Contains(cueNames, c.Cue) {
			return nil, r.errorf("cue %q is not one of %s", c.Cue, strings.Join(cueNames, ", "))
		}
		switch r.f[1] {
		case "term":
		case "regex":
			c.Regex = true
			if _, err := regexp.Compile(c.Pattern); err != nil {
				return nil, r.errorf("pattern: %v", err)
			}
		default:
			return nil, r.errorf("match %q is not term or regex", r.f[1])
		}
		k.Cues = append(k.Cues, c)
	}
	for _, r := range rows["emoji.tsv"] {
		k.Emoji[r.f[0]] = r.f[1]
	}
	for _, r := range rows["weights.tsv"] {
		w, err := strconv.ParseFloat(r.f[1], 64)
		if err != nil {
			return nil, r.errorf("weight %q is not a number", r.f[1])
		}
		k.Weights = append(k.Weights, Weight{Feature: r.f[0], Weight: w, Note: r.f[2]})
	}
	return k, nil
}

// TaxaOf returns the taxa traded as category, sorted by key.
func (k *KB) TaxaOf(category string) []Taxon {
	var out []Taxon
	for _, t := range k.Taxa {
		if slices.Contains(t.Categories, category) {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// row is one data line of a TSV file.
type row struct {
	file string
	line int
	f    []string
}

func (r row) source() string { return fmt.Sprintf("%s:%d", r.file, r.line) }

func (r row) errorf(format string, args ...any) error {
	return fmt.Errorf("kb: %s: %s", r.source(), fmt.Sprintf(format, args...))
}

// parseTSV reads a file with a header row. Every row needs every column,
// and the last column (the note) must not be empty.
func parseTSV(name string, data []byte, header []string) ([]row, error) {
	var rows []row
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line, sawHeader := 0, false
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, "\t")
		if !sawHeader {
			if !slices.Equal(fields, header) {
				return nil, fmt.Errorf("kb: %s:%d: header is %q, want %q", name, line, fields, header)
			}
			sawHeader = true
			continue
		}
		r := row{file: name, line: line, f: fields}
		if len(fields) != len(header) {
			return nil, r.errorf("has %d columns, want %d (%s)", len(fields), len(header), strings.Join(header, ", "))
		}
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
			if fields[i] == "" {
				return nil, r.errorf("column %q is empty", header[i])
			}
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("kb: %s: %w", name, err)
	}
	if !sawHeader {
		return nil, fmt.Errorf("kb: %s: no header row", name)
	}
	return rows, nil
}

func splitList(s string) []string {
	if s == "-" || s == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
