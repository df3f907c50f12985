// Package inspect reads a listing's images for the screening engine: it
// fetches each photo within the fetcher's limits, matches its PDQ hash (in
// all 8 orientations) against the tenant's hash banks, and reads the text
// in it with OCR. The text becomes the listing's image_text field, screened
// like the title; bank matches become image.bank_match evidence. Screener
// then runs the engine with both, and says in each image_text signal which
// image its text came from.
package inspect

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/image/bank"
	"github.com/wildwarden/wildwarden/image/fetch"
	"github.com/wildwarden/wildwarden/image/ocr"
	"github.com/wildwarden/wildwarden/image/pdq"
)

// Signal names of image evidence; their weights are in kb/data/weights.tsv.
const (
	// SigBankMatch is a photo near an entry of a deny bank.
	SigBankMatch = "image.bank_match"
	// SigBankAllow is a photo near an entry of an allow bank (a stock
	// photo): it suppresses the photo's deny matches and says so.
	SigBankAllow = "image.bank_allow"
	// FieldImages names the listing's images in evidence.
	FieldImages = "images"
)

// DefaultConcurrency is how many of a listing's images are fetched, hashed
// and read at once. OCR has its own, engine-wide limit.
const DefaultConcurrency = 4

// Config wires an Inspector. Fetcher is required; OCR may be nil or
// unavailable, and then no text is read.
type Config struct {
	Fetcher *fetch.Fetcher
	OCR     *ocr.Engine
	// Radius is the bank match threshold in bits (bank.DefaultRadius when 0).
	Radius int
	// Concurrency bounds the images of one listing handled at once.
	Concurrency int
}

// Inspector reads listings' images. It is safe for concurrent use.
type Inspector struct {
	fetcher     *fetch.Fetcher
	ocr         *ocr.Engine
	radius      int
	concurrency int
}

// New returns an Inspector.
func New(cfg Config) (*Inspector, error) {
	if cfg.Fetcher == nil {
		return nil, fmt.Errorf("inspect: a fetcher is required")
	}
	in := &Inspector{fetcher: cfg.Fetcher, ocr: cfg.OCR, radius: cfg.Radius, concurrency: cfg.Concurrency}
	if in.radius <= 0 {
		in.radius = bank.DefaultRadius
	}
	if in.concurrency <= 0 {
		in.concurrency = DefaultConcurrency
	}
	if in.ocr != nil && !in.ocr.Available() {
		in.ocr = nil
	}
	return in, nil
}

// OCR reports whether the inspector reads text in images.
func (in *Inspector) OCR() bool { return in.ocr != nil }

// Image is what one of a listing's images gave.
type Image struct {
	Index   int      `json:"index"`
	Ref     string   `json:"ref"` // shortened for data: URIs
	Format  string   `json:"format,omitempty"`
	Width   int      `json:"width,omitempty"`
	Height  int      `json:"height,omitempty"`
	Hash    pdq.Hash `json:"hash,omitzero"`
	Quality int      `json:"quality,omitempty"`
	// Text is what OCR read; TextSpan is where it sits in the listing's
	// ImageText, [start, end) in code points (nil when there is no text).
	Text     string       `json:"text,omitempty"`
	TextSpan *[2]int      `json:"text_span,omitempty"`
	Banks    bank.Outcome `json:"banks,omitzero"`
	// Err says why the image could not be fetched or decoded; OCRErr why
	// its text could not be read. Either leaves the rest of the listing
	// screened.
	Err    string `json:"error,omitempty"`
	OCRErr string `json:"ocr_error,omitempty"`
}

// Report is what a listing's images gave: one Image per entry of
// Listing.Images, in order, the joined OCR text and the bank evidence.
type Report struct {
	Images   []Image
	Text     string
	Evidence []detect.Evidence
}

// ImageAt returns the image whose text covers code point offset pos of
// the joined text, or nil.
func (r *Report) ImageAt(pos int) *Image {
	for i := range r.Images {
		if s := r.Images[i].TextSpan; s != nil && pos >= s[0] && pos < s[1] {
			return &r.Images[i]
		}
	}
	return nil
}

// Inspect fetches, hashes, matches and reads every image of l. banks may be
// nil (no bank matching). It never fails as a whole: per-image problems are
// in the report.
func (in *Inspector) Inspect(ctx context.Context, l *wildwarden.Listing, banks *bank.Set) *Report {
	refs := l.Images
	if len(refs) > wildwarden.MaxImages {
		refs = refs[:wildwarden.MaxImages]
	}
	r := &Report{Images: make([]Image, len(refs))}
	slots := make(chan struct{}, in.concurrency)
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			case <-ctx.Done():
				r.Images[i] = Image{Index: i, Ref: ShortRef(ref), Err: ctx.Err().Error()}
				return
			}
			r.Images[i] = in.inspectOne(ctx, i, ref, banks)
		}()
	}
	wg.Wait()
	r.join()
	for i := range r.Images {
		r.Evidence = append(r.Evidence, bankEvidence(&r.Images[i], in.radius)...)
	}
	return r
}

// inspectOne handles one image.
func (in *Inspector) inspectOne(ctx context.Context, index int, ref string, banks *bank.Set) Image {
	im := Image{Index: index, Ref: ShortRef(ref)}
	fetched, err := in.fetcher.Fetch(ctx, ref)
	if err != nil {
		im.Err = err.Error()
		return im
	}
	im.Format, im.Width, im.Height = fetched.Format, fetched.Width, fetched.Height
	hashes := pdq.HashDihedral(fetched.Image)
	im.Hash, im.Quality = hashes.Hashes[pdq.Original], hashes.Quality
	if banks != nil {
		im.Banks = MatchDihedral(banks, hashes, in.radius)
	}
	if in.ocr != nil {
		var text string
		if fetched.Format == "webp" {
			text, err = in.ocr.RecognizeImage(ctx, fetched.Image)
		} else {
			text, err = in.ocr.Recognize(ctx, fetched.Data)
		}
		if err != nil {
			im.OCRErr = err.Error()
		}
		im.Text = text
	}
	return im
}

// MatchDihedral matches a photo in all 8 orientations against every bank,
// so a re-post that was rotated or mirrored still matches an entry stored
// upright. Each entry appears once, at its nearest orientation. As in
// Set.Match, low-quality photos match nothing and an allow match
// suppresses every deny match.
func MatchDihedral(banks *bank.Set, hashes pdq.DihedralResult, radius int) bank.Outcome {
	if hashes.Quality < bank.MinQuality {
		return bank.Outcome{LowQuality: true}
	}
	type key struct{ bank, id string }
	nearest := map[key]bank.Match{}
	for _, b := range banks.Banks() {
		for _, o := range pdq.Orientations {
			for _, m := range b.Match(hashes.Hashes[o], radius) {
				k := key{m.Bank, m.Entry.ID}
				if prev, seen := nearest[k]; !seen || m.Distance < prev.Distance {
					nearest[k] = m
				}
			}
		}
	}
	var out bank.Outcome
	for _, m := range nearest {
		if m.Kind == bank.Allow {
			out.Allowed = append(out.Allowed, m)
		} else {
			out.Matches = append(out.Matches, m)
		}
	}
	if len(out.Allowed) > 0 {
		out.Suppressed, out.Matches = len(out.Matches), nil
	}
	sortMatches(out.Matches)
	sortMatches(out.Allowed)
	return out
}

// sortMatches orders matches nearest first, then by bank and entry.
func sortMatches(matches []bank.Match) {
	slices.SortFunc(matches, func(x, y bank.Match) int {
		return cmp.Or(cmp.Compare(x.Distance, y.Distance), cmp.Compare(x.Bank, y.Bank), cmp.Compare(x.Entry.ID, y.Entry.ID))
	})
}

// join builds the listing's image text from each image's OCR text, one
// image per paragraph, and records each image's span in it.
func (r *Report) join() {
	var b strings.Builder
	pos := 0
	for i := range r.Images {
		text := strings.TrimSpace(r.Images[i].Text)
		if text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
			pos += 2
		}
		n := utf8.RuneCountInString(text)
		r.Images[i].TextSpan = &[2]int{pos, pos + n}
		b.WriteString(text)
		pos += n
	}
	r.Text = b.String()
}

// bankEvidence turns an image's bank outcome into signals: one per deny
// entry matched, or one saying an allow bank suppressed them.
func bankEvidence(im *Image, radius int) []detect.Evidence {
	var out []detect.Evidence
	for _, m := range im.Banks.Matches {
		out = append(out, detect.Evidence{Signal: wildwarden.Signal{
			Name: SigBankMatch, Field: FieldImages, Text: im.Ref, Term: m.Entry.ID,
			Category: m.Entry.Category, Species: m.Entry.Species,
			Note: fmt.Sprintf("image %d matches bank %s entry %s at distance %d (threshold %d)%s",
				im.Index, m.Bank, m.Entry.ID, m.Distance, radius, sourceNote(m.Entry)),
		}})
	}
	if len(im.Banks.Allowed) > 0 {
		m := im.Banks.Allowed[0]
		out = append(out, detect.Evidence{Signal: wildwarden.Signal{
			Name: SigBankAllow, Field: FieldImages, Text: im.Ref, Term: m.Entry.ID,
			Note: fmt.Sprintf("image %d matches allow bank %s entry %s at distance %d (threshold %d); %d deny match(es) suppressed",
				im.Index, m.Bank, m.Entry.ID, m.Distance, radius, im.Banks.Suppressed),
		}})
	}
	return out
}

func sourceNote(e bank.Entry) string {
	if e.Source == "" {
		return ""
	}
	return "; entry source: " + e.Source
}

// ShortRef shortens an image reference for evidence and logs: a data: URI
// becomes its media type, a long URL its first 200 bytes.
func ShortRef(ref string) string {
	if len(ref) > 5 && strings.EqualFold(ref[:5], "data:") {
		head, _, _ := strings.Cut(ref, ",")
		return head + ",…"
	}
	if len(ref) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(ref[cut]) {
			cut--
		}
		return ref[:cut] + "…"
	}
	return ref
}

// Fetcher returns the inspector's fetcher, for other uses of the same
// limits (matching one uploaded photo).
func (in *Inspector) Fetcher() *fetch.Fetcher { return in.fetcher }

// Radius returns the bank match threshold in bits.
func (in *Inspector) Radius() int { return in.radius }
