package detect

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/kb"
	"github.com/wildwarden/wildwarden/text"
)

const (
	viewPinyin = text.ViewPinyin
	viewLeet   = text.ViewLeet
)

// hit is one raw match in one view of one field.
type hit struct {
	pat          pattern
	view         string
	vtext        []byte // the view's text
	vstart, vend int    // bytes of the view
	ostart, oend int    // bytes of the original field text
	drop         bool
	noPapers     bool // a lawful cue (papers, certificate) said to be missing
	formed       bool // a product form stands right beside it (稀角粉)
	colour       bool // a colour word used as a colour
}

func (h *hit) contains(o *hit) bool {
	return h.ostart <= o.ostart && o.oend <= h.oend && (h.oend-h.ostart) > (o.oend-o.ostart)
}

func (h *hit) overlaps(o *hit) bool { return h.ostart < o.oend && o.ostart < h.oend }

// Scratch is the working memory of one goroutine's detections. The
// Findings that Detect returns live in it until its next use.
type Scratch struct {
	buf      text.Buffer
	hits     []hit
	findings Findings
	// KeepViews asks Detect to keep each field's folded and pinyin views in
	// the findings, for a scorer that reads the text (the learned model)
	// and should not normalize it again.
	KeepViews bool
	kept      []byte // the kept views' bytes, reused from listing to listing
}

// keep copies a view for the findings into the scratch. A slice returned
// earlier stays valid when kept grows: it holds on to the old array.
func (sc *Scratch) keep(view []byte) []byte {
	start := len(sc.kept)
	sc.kept = append(sc.kept, view...)
	return sc.kept[start:len(sc.kept):len(sc.kept)]
}

// FieldView is the normalized text of one field, kept when asked for.
type FieldView struct {
	Field          string
	Folded, Pinyin []byte
}

// Evidence is one signal found in a listing, before scoring.
type Evidence struct {
	wildwarden.Signal
	Weak bool // an ambiguous term that counts only with other evidence
}

// Findings is everything the detector found in one listing.
type Findings struct {
	Evidence []Evidence
	// Views are the fields' normalized texts when Scratch.KeepViews is set.
	Views []FieldView

	ranks   []uint8    // scratch of sortEvidence
	sortBuf []Evidence // scratch of sortEvidence
}

// maxCueEvidence is how many times one context cue is quoted as evidence:
// a description that says "for sale" ten times adds nothing after the
// first few.
const maxCueEvidence = 3

// Has reports whether a signal of the given name was found.
func (f *Findings) Has(name string) bool { return f.count(name) > 0 }

func (f *Findings) count(name string) int {
	n := 0
	for i := range f.Evidence {
		if f.Evidence[i].Name == name {
			n++
		}
	}
	return n
}

// Detect finds the signals in a listing's text fields.
func (d *Detector) Detect(l *wildwarden.Listing, sc *Scratch) *Findings {
	f := &sc.findings
	f.Evidence, f.Views, sc.kept = f.Evidence[:0], f.Views[:0], sc.kept[:0]
	chinese := l.Lang == "" || strings.HasPrefix(strings.ToLower(l.Lang), "zh")
	for _, field := range l.TextFields() {
		d.detectField(field, chinese, sc, f)
	}
	if l.Price != nil && *l.Price > 0 {
		f.Evidence = append(f.Evidence, Evidence{Signal: wildwarden.Signal{
			Name: SigPrice, Field: "price", Note: "the listing states a price"}})
	}
	d.resolveWeak(f)
	return f
}

// detectField finds the hits in one field. Typed pinyin counts only in
// listings that may be Chinese: in others, pinyin syllables are words of
// their own (badan is Malay for body).
func (d *Detector) detectField(field wildwarden.TextField, chinese bool, sc *Scratch, f *Findings) {
	views := d.norm.Views(field.Text, &sc.buf)
	hits := sc.hits[:0]
	folded := &views[0]
	if sc.KeepViews {
		fv := FieldView{Field: field.Name, Folded: sc.keep(folded.Text)}
		for i := range views {
			if views[i].Name == text.ViewPinyin {
				fv.Pinyin = sc.keep(views[i].Text)
			}
		}
		f.Views = append(f.Views, fv)
	}
	// Offer cues say the same thing however often they recur: keep the
	// first few of each, so a long description costs no more to resolve.
	var offers [len(offerCues)]int
	counted := func(cue int) bool {
		if cue < 0 {
			return true
		}
		k := d.offerCue[cue]
		if k < 0 {
			return true
		}
		offers[k]++
		return offers[k] <= maxCueEvidence
	}
	for vi := range views {
		v := &views[vi]
		switch v.Name {
		case text.ViewFolded, text.ViewLeet:
			found := func(pats []pattern) func(id, s, e int) {
				return func(id, s, e int) {
					p := pats[id]
					if (p.boundStart && wordByteBefore(v.Text, s)) || (p.boundEnd && wordByteAt(v.Text, e)) || !counted(p.cue) {
						return
					}
					os, oe := v.Source(s, e)
					view := v.Name
					if view == text.ViewFolded && sc.buf.HasEmojiNames() && hasPictograph(field.Text[os:oe]) {
						view = text.ViewEmoji
					}
					hits = append(hits, hit{pat: p, view: view, vtext: v.Text, vstart: s, vend: e, ostart: os, oend: oe})
				}
			}
			d.folded.Find(v.Text, found(d.foldedPats))
			if !isASCIIBytes(v.Text) {
				d.wide.Find(v.Text, found(d.widePats))
			}
			if chinese && v.Name == text.ViewFolded && hasASCIILetter(v.Text) {
				d.typed.Find(v.Text, found(d.typedPats))
			}
		case text.ViewPinyin:
			d.pinyin.Find(v.Text, func(id, s, e int) {
				if (s > 0 && isLowerASCII(v.Text[s-1])) || (e < len(v.Text) && isLowerASCII(v.Text[e])) {
					return
				}
				os, oe := v.Source(s, e)
				hits = append(hits, hit{pat: d.pinyinPats[id], view: text.ViewPinyin, vtext: v.Text, vstart: s, vend: e, ostart: os, oend: oe})
			})
		}
	}
	d.regexes.findAll(folded.Text, func(rc *regexCue, s, e int) {
		if !counted(rc.cue) {
			return
		}
		os, oe := folded.Source(s, e)
		hits = append(hits, hit{pat: pattern{term: -1, cue: rc.cue}, view: text.ViewFolded, vtext: folded.Text, vstart: s, vend: e, ostart: os, oend: oe})
	})
	sc.hits = hits
	d.resolveField(hits)
	d.appendEvidence(field, hits, f)
}

// keptCue is where a cue hit that stands was found.
type keptCue struct {
	ostart, oend int
	cue          int
}

// resolveField decides which hits stand: masks (colour phrases, false
// friends) hide the terms inside them, the longest term wins, pinyin counts
// only where the characters are not the term itself, colour words beside
// colour context become colour use, part words need an animal beside them.
func (d *Detector) resolveField(hits []hit) {
	for i := range hits {
		h := &hits[i]
		if h.pat.cue < 0 {
			continue
		}
		switch d.kb.Cues[h.pat.cue].Cue {
		case kb.CueColourPhrase, kb.CueFalseFriend:
			for j := range hits {
				o := &hits[j]
				if j == i || o.pat.term < 0 || o.ostart < h.ostart || h.oend < o.oend {
					continue
				}
				// A false friend typed in pinyin masks only typed pinyin, and
				// only when it says more (xiangya yiyuan, not xiangya alone).
				if h.pat.pinyin && (!o.pat.pinyin || !h.contains(o)) {
					continue
				}
				o.drop = true
			}
		case kb.CueNegation, kb.CueNegationAfter:
			// "not resin", "非树脂", "no CITES papers", "登録票なし": the claim
			// next to a negation is not made. Papers said to be missing are
			// themselves a sign of illegal trade.
			after := d.kb.Cues[h.pat.cue].Cue == kb.CueNegationAfter
			for j := range hits {
				o := &hits[j]
				if o.pat.cue < 0 || o.drop {
					continue
				}
				if after && (o.oend > h.ostart || h.ostart-o.oend > negationGap(h.vtext, h.vstart+1)) ||
					!after && (o.ostart < h.oend || o.ostart-h.oend > negationGap(h.vtext, h.vend)) {
					continue
				}
				switch d.kb.Cues[o.pat.cue].Cue {
				case kb.CueLawful:
					o.drop, o.noPapers = true, true
				case kb.CueImitation, kb.CueAltMaterial, kb.CueNews:
					o.drop = true
				}
			}
		}
	}
	// The rules below compare a hit with the term hits only.
	terms := make([]int32, 0, 16)
	cuesKept := make([]keptCue, 0, 16)
	for j := range hits {
		if hits[j].pat.term >= 0 {
			terms = append(terms, int32(j))
		}
	}
	for i := range hits {
		h := &hits[i]
		if h.drop {
			continue
		}
		for _, j32 := range terms {
			j := int(j32)
			o := &hits[j]
			if i == j || o.drop {
				continue
			}
			// A term inside a longer term (犀牛 in 犀牛角), or a cue inside a
			// term (塑料 in 白塑料), gives way.
			if o.contains(h) && !(o.view == viewPinyin && h.view != viewPinyin) {
				h.drop = true
				break
			}
			// A pinyin match where the characters are the term itself, or
			// another term covering them, is not a homophone. A shorter word
			// inside (角 in 稀角粉) does not cancel it.
			if h.pat.pinyin && h.view == text.ViewPinyin && !o.pat.pinyin && o.ostart <= h.ostart && h.oend <= o.oend {
				h.drop = true
				break
			}
			// The same term found twice at one place (as typed pinyin and
			// as a word): keep one.
			if j < i && o.ostart == h.ostart && o.oend == h.oend && o.pat.term == h.pat.term {
				h.drop = true
				break
			}
		}
		// Two rows of one cue at one place (whatsapp, whats app): keep one.
		// The cue hits kept so far are listed apart: comparing with every
		// earlier hit made long texts quadratic in their hits.
		if h.pat.cue >= 0 && !h.drop {
			for _, o := range cuesKept {
				if o.ostart == h.ostart && o.oend == h.oend && d.kb.Cues[o.cue].Cue == d.kb.Cues[h.pat.cue].Cue {
					h.drop = true
					break
				}
			}
		}
		// The leet view counts only where the folded view found nothing.
		if h.view == text.ViewLeet {
			for j := range hits {
				o := &hits[j]
				if o.pat.term != h.pat.term {
					continue
				}
				if o.view != text.ViewLeet && o.pat.term == h.pat.term && o.pat.cue == h.pat.cue && h.overlaps(o) {
					h.drop = true
					break
				}
			}
		}
		if h.pat.cue >= 0 && !h.drop {
			cuesKept = append(cuesKept, keptCue{ostart: h.ostart, oend: h.oend, cue: h.pat.cue})
		}
	}
	// A weak term or a homophone right beside a product form is meant.
	for i := range hits {
		h := &hits[i]
		if h.drop || h.pat.cue < 0 || d.kb.Cues[h.pat.cue].Cue != kb.CueForm {
			continue
		}
		for _, j := range terms {
			o := &hits[j]
			if !o.drop && adjacent(h, o) {
				o.formed = true
			}
		}
	}
	// Colour words beside colour context are colours, unless the seller
	// insists right there that it is the real thing (echtem Schildpatt).
	for _, i := range terms {
		h := &hits[i]
		if h.drop || !d.kb.Terms[h.pat.term].Colour {
			continue
		}
		colour, real := false, false
		for j := range hits {
			o := &hits[j]
			if o.pat.cue < 0 || o.drop || !near(h, o) {
				continue
			}
			switch d.kb.Cues[o.pat.cue].Cue {
			case kb.CueColourContext:
				colour = true
			case kb.CueAuthentic:
				real = true
			}
		}
		h.colour = colour && !real
	}
}

func isLowerASCII(c byte) bool { return c >= 'a' && c <= 'z' }

func hasASCIILetter(b []byte) bool {
	for _, c := range b {
		if isLowerASCII(c) {
			return true
		}
	}
	return false
}

// adjacent reports whether two hits touch in the original text, with at
// most a space or a short word between them (vòng hạt tê giác, 稀角 粉).
func adjacent(a, b *hit) bool {
	first, last := a, b
	if a.ostart > b.ostart {
		first, last = b, a
	}
	gap := last.ostart - first.oend
	if unspacedAt(first.vtext, first.vend-1) || unspacedAt(last.vtext, last.vstart) {
		return gap <= 1 // touching, or one space between
	}
	return gap <= 8
}

// negationGap is how many bytes of the original may stand between a
// negation and the cue it negates: a few words in spaced scripts, one
// character in unspaced ones.
func negationGap(view []byte, end int) int {
	if unspacedAt(view, end-1) {
		return 3
	}
	return 12
}

// near reports whether two hits stand close together in the folded view:
// within Window bytes, or with at most one character between them when
// either is in a script written without spaces (大象 … 纪录片 are not near).
func near(a, b *hit) bool {
	first, last := a, b
	if a.ostart > b.ostart {
		first, last = b, a
	}
	gap := last.ostart - first.oend
	if gap < 0 {
		return true
	}
	if unspacedAt(first.vtext, first.vend-1) || unspacedAt(last.vtext, last.vstart) {
		return gap <= 4 // one CJK character (3 bytes) and a space
	}
	return gap <= Window
}

// unspacedAt reports whether the byte at i belongs to a character of a
// script written without spaces.
func unspacedAt(b []byte, i int) bool {
	if i < 0 || i >= len(b) || b[i] < utf8.RuneSelf {
		return false
	}
	for i > 0 && !utf8.RuneStart(b[i]) {
		i--
	}
	r, _ := utf8.DecodeRune(b[i:])
	return r >= 0x0E00 && r <= 0x0EFF || r >= 0x2E80
}

func hasPictograph(s string) bool {
	for _, r := range s {
		if r >= 0x1F000 || (r >= 0x2600 && r <= 0x27BF) {
			return true
		}
	}
	return false
}

// appendEvidence turns the hits that stand into evidence.
func (d *Detector) appendEvidence(field wildwarden.TextField, hits []hit, f *Findings) {
	rc := runeCounter{s: field.Text}
	for i := range hits {
		h := &hits[i]
		if h.noPapers && f.count(SigNoPapers) < maxCueEvidence {
			c := &d.kb.Cues[h.pat.cue]
			f.Evidence = append(f.Evidence, Evidence{Signal: d.signal(&rc, SigNoPapers, field, h, c.Pattern, "", "papers or a certificate said to be missing: "+c.Note)})
		}
		if h.drop {
			continue
		}
		if h.pat.cue >= 0 {
			c := &d.kb.Cues[h.pat.cue]
			name := d.cueSignal[h.pat.cue]
			if name == "" || f.count(name) >= maxCueEvidence {
				continue // colour context only qualifies colour words
			}
			f.Evidence = append(f.Evidence, Evidence{Signal: d.signal(&rc, name, field, h, c.Pattern, "", c.Note)})
			continue
		}
		t := &d.kb.Terms[h.pat.term]
		switch {
		case h.colour:
			f.Evidence = append(f.Evidence, Evidence{Signal: d.signal(&rc, SigColourUse, field, h, t.Text, "", "used as a colour or pattern: "+t.Note)})
			continue
		case t.Kind == kb.KindPart:
			animal := d.animalNear(hits, h)
			if animal == nil {
				continue
			}
			at := &d.kb.Terms[animal.pat.term]
			span := *h
			span.ostart, span.oend = min(h.ostart, animal.ostart), max(h.oend, animal.oend)
			span.vstart, span.vend = min(h.vstart, animal.vstart), max(h.vend, animal.vend)
			s := d.signal(&rc, SigAnimalPart, field, &span, at.Text+" + "+t.Text, at.Category, at.Note)
			d.setTaxon(&s, at)
			f.Evidence = append(f.Evidence, Evidence{Signal: s})
			continue
		}
		name := SigProduct
		switch {
		case h.pat.pinyin && h.view == text.ViewPinyin:
			name = SigHomophone
		case h.pat.pinyin:
			name = SigPinyin
		case t.Kind == kb.KindCode:
			name = SigCodeWord
		case t.Kind == kb.KindAnimal:
			name = SigAnimal
		}
		s := d.signal(&rc, name, field, h, t.Text, t.Category, t.Note)
		d.setTaxon(&s, t)
		// A homophone or typed pinyin may be an ordinary word that sounds
		// alike (湘雅, 香芽): it needs company, as a weak term does.
		weak := (t.Weak || (name == SigHomophone || name == SigPinyin) && h.pat.syllables < 3) && !h.formed
		f.Evidence = append(f.Evidence, Evidence{Signal: s, Weak: weak})
		if name != SigHomophone && name != SigPinyin && d.obfuscated(field.Text[h.ostart:h.oend], h.pat.term) {
			o := d.signal(&rc, SigObfuscated, field, h, t.Text, t.Category, "the original characters differ from the term: look-alike letters, separators, invisible characters, leetspeak or repeated letters")
			f.Evidence = append(f.Evidence, Evidence{Signal: o, Weak: t.Weak})
		}
	}
}

// animalNear returns an animal hit within the window of part hit h.
func (d *Detector) animalNear(hits []hit, h *hit) *hit {
	for j := range hits {
		o := &hits[j]
		if o.drop || o.pat.term < 0 || d.kb.Terms[o.pat.term].Kind != kb.KindAnimal || !near(h, o) {
			continue
		}
		return o
	}
	return nil
}

// obfuscated reports whether the original text of a match hides the term:
// it reads differently from the term once case, diacritics and script
// variants are set aside.
func (d *Detector) obfuscated(original string, term int) bool {
	p := text.Plain(d.norm, original)
	if d.kb.Terms[term].Prefix {
		return !strings.HasPrefix(p, d.termPlain[term])
	}
	if p == d.termPlain[term] {
		return false
	}
	// Plural and inflected forms of Latin words are not tricks.
	return !strings.HasPrefix(p, d.termPlain[term]) || len(p)-len(d.termPlain[term]) > 2
}

func (d *Detector) signal(rc *runeCounter, name string, field wildwarden.TextField, h *hit, term, category, note string) wildwarden.Signal {
	rs, re := rc.span(h.ostart, h.oend)
	return wildwarden.Signal{
		Name:     name,
		Field:    field.Name,
		View:     h.view,
		Span:     &[2]int{rs, re},
		Text:     field.Text[h.ostart:h.oend],
		Term:     term,
		Category: category,
		Note:     note,
	}
}

func (d *Detector) setTaxon(s *wildwarden.Signal, t *kb.Term) {
	if t.Taxon == "" {
		return
	}
	tx := d.kb.Taxa[t.Taxon]
	s.Species, s.CITES = tx.Scientific, tx.CITES
}

// runeCounter turns byte offsets of a text into code-point offsets (an
// invalid byte counts as one, as ranging over the string does). Evidence
// comes mostly in the order of the text: it counts on from the offset it
// was last asked for.
type runeCounter struct {
	s             string
	byteAt, runes int // runes in s[:byteAt]
}

func (c *runeCounter) at(b int) int {
	if b < c.byteAt {
		c.byteAt, c.runes = 0, 0
	}
	c.runes += utf8.RuneCountInString(c.s[c.byteAt:b])
	c.byteAt = b
	return c.runes
}

// span returns the code-point span of the byte span [bs, be).
func (c *runeCounter) span(bs, be int) (int, int) {
	start := c.at(bs)
	return start, c.at(be)
}

// resolveWeak drops weak terms that stand alone: an ambiguous word counts
// only with an offer in the text (sale intent, a price written out, contact;
// the price field alone is not enough, almost every listing has one) or
// beside stronger evidence of the same category. The evasion claim (懂的来)
// also cancels imitation cues: the seller says they are a disguise.
func (d *Detector) resolveWeak(f *Findings) {
	offer := false
	for _, e := range f.Evidence {
		switch {
		case e.Name == SigPrice && e.Span == nil: // the price field
		case companyFor[e.Name]:
			offer = true
		}
	}
	if f.Has(SigEvasion) {
		f.Evidence = slices.DeleteFunc(f.Evidence, func(e Evidence) bool { return e.Name == SigImitation })
	}
	if !offer && slices.ContainsFunc(f.Evidence, func(e Evidence) bool { return e.Weak }) {
		// A category is supported by non-weak evidence, or by two
		// different weak terms (two rhino-horn diagnostics together are no
		// accident).
		supported := func(category string) bool {
			firstTerm := ""
			for _, e := range f.Evidence {
				switch {
				case e.Category != category:
				case !e.Weak:
					return true
				case firstTerm == "":
					firstTerm = e.Term
				case firstTerm != e.Term:
					return true
				}
			}
			return false
		}
		drop := make([]bool, len(f.Evidence))
		for i, e := range f.Evidence {
			drop[i] = e.Weak && !supported(e.Category)
		}
		keep := f.Evidence[:0]
		for i, e := range f.Evidence {
			if !drop[i] {
				keep = append(keep, e)
			}
		}
		clear(f.Evidence[len(keep):])
		f.Evidence = keep
	}
	f.sortEvidence()
}

// sortEvidence orders the evidence by signalRank, keeping the order of
// evidence of one rank. A counting sort: each piece of evidence is a large
// value, costly to move as often as a comparison sort would.
func (f *Findings) sortEvidence() {
	if len(f.Evidence) < 2 {
		return
	}
	ranks := f.ranks[:0]
	sorted := true
	for i := range f.Evidence {
		r := uint8(signalRank(f.Evidence[i].Name))
		sorted = sorted && (i == 0 || ranks[i-1] <= r)
		ranks = append(ranks, r)
	}
	f.ranks = ranks
	if sorted {
		return
	}
	var next [len(rankOrder) + 2]int // rank → where its next piece goes
	for _, r := range ranks {
		next[r+1]++
	}
	for r := 1; r < len(next); r++ {
		next[r] += next[r-1]
	}
	out := slices.Grow(f.sortBuf[:0], len(ranks))[:len(ranks)]
	for i, r := range ranks {
		out[next[r]] = f.Evidence[i]
		next[r]++
	}
	copy(f.Evidence, out)
	clear(out) // hold no strings of this listing
	f.sortBuf = out[:0]
}

// companyFor are the signals that let a weak term count: an offer in the
// text, a live animal offered, insistence that it is genuine, an evasion
// claim, missing papers.
var companyFor = map[string]bool{
	SigSaleIntent: true, SigContact: true, SigPrice: true, SigLive: true,
	SigAuthentic: true, SigEvasion: true, SigNoPapers: true,
}

// signalRank orders evidence for display: the product first, then how it
// was hidden, then the offer, then what speaks against it.
func signalRank(name string) int {
	if i := slices.Index(rankOrder[:], name); i >= 0 {
		return i
	}
	return len(rankOrder)
}

var rankOrder = [...]string{SigCodeWord, SigProduct, SigAnimalPart, SigHomophone, SigPinyin, SigAnimal, SigObfuscated, SigEvasion,
	SigSaleIntent, SigPrice, SigContact, SigLive, SigAuthentic, SigNoPapers, SigLawful, SigImitation, SigAltMaterial, SigColourUse, SigFalseFriend, SigNews}
