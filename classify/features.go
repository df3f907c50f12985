// Package classify is wildwarden's learned text classifier: a logistic
// regression over hashed features of a listing (words and character n-grams
// of its normalized views, the knowledge-base signals the detector found,
// price and seller description), trained from labelled listings, calibrated
// on held-out data and stored in a small versioned model file.
//
// A Model implements policy.Scorer, so it plugs into the screening engine in
// place of the hand-weighted keyword model. The detector still finds the
// evidence a reviewer sees; the model turns that evidence and the text
// around it into a calibrated score, and names the features that weighed
// most.
//
// The package also evaluates scorers on labelled data (precision, recall,
// PR-AUC, breakdowns, an SVG precision–recall curve) and discovers candidate
// code words: terms over-represented in confirmed violations and absent from
// the knowledge base.
package classify

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/policy"
	"github.com/wildwarden/wildwarden/text"
)

// FeatureSet names the feature extraction scheme. A model file records it,
// and a model is refused by a build whose extraction differs.
const FeatureSet = "ww-features-2"

// Feature namespaces: the first byte hashed for every feature, so that the
// word "ivory" and the signal "ivory" never share a bucket on purpose.
const (
	nsWord     byte = 'w'  // a word of the folded view
	nsBigram   byte = 'b'  // two adjacent words
	nsChar     byte = 'c'  // a character n-gram (CJK 1–3, Latin 3–5)
	nsPinyin   byte = 'y'  // a pinyin syllable of the pinyin view
	nsSignal   byte = 's'  // a detector signal, alone or with its category
	nsPrice    byte = 'p'  // price present and its band
	nsMeta     byte = 'm'  // kind and language
	nsSellerOf byte = 0x80 // or-ed into the namespace of seller text features
)

// Field groups: the listing's own text, and the seller's description of
// themselves, whose words mean something else (a shop that sells antiques
// in its bio is not a listing that does).
const (
	groupListing = 0
	groupSeller  = 1
)

// feature is one hashed feature of a listing, with where it came from so
// that a score can name the features that weighed most without keeping
// strings for every feature.
type feature struct {
	index uint32
	value float32
	ns    byte
	// start and end are bytes of Scratch.arena holding the feature's text
	// (words, n-grams), or -1 when name holds it (signals, price, meta).
	start, end int32
	name       string
	name2      string // a second part, joined to name by | when named
}

// Scratch is the working memory of one goroutine's feature extraction.
// Reuse it: extraction then allocates nothing in the steady state.
type Scratch struct {
	buf      text.Buffer
	features []feature
	arena    []byte  // copies of the views the features point into
	words    []span  // word spans of the current view
	runes    []int32 // rune start offsets of the current run
}

type span struct{ start, end int32 }

// Extractor turns a listing and its findings into hashed features. It is
// immutable and safe for concurrent use.
type Extractor struct {
	norm    *text.Normalizer
	keyword *policy.LinearModel
	bits    uint
	mask    uint32
	seed    uint64
}

// NewExtractor returns an extractor that hashes features into 2^bits
// buckets with the given seed, building views with norm (use the
// detector's normalizer, so that emoji are named the same way). When
// keyword is not nil, the keyword model's log-odds is a feature: the
// hand-set weights of the knowledge base become a prior the learned
// weights correct, which matters where training data is thin.
func NewExtractor(norm *text.Normalizer, keyword *policy.LinearModel, bits uint, seed uint64) *Extractor {
	return &Extractor{norm: norm, keyword: keyword, bits: bits, mask: 1<<bits - 1, seed: seed}
}

// FeatureKeyword names the keyword model's log-odds feature.
const FeatureKeyword = "keyword.logit"

// keywordScale brings the keyword log-odds (about -10 to 12) to the scale
// of the other features.
const keywordScale = 0.25

// FNV-1a 64-bit parameters.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func (x *Extractor) hashStart(ns byte) uint64 {
	h := uint64(fnvOffset) ^ x.seed
	h *= fnvPrime
	h ^= uint64(ns)
	h *= fnvPrime
	return h
}

func hashBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func (x *Extractor) bucket(h uint64) uint32 {
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	return uint32(h) & x.mask
}

// Extract computes the features of a listing into sc and returns them. The
// slice is valid until sc's next use.
func (x *Extractor) Extract(l *wildwarden.Listing, f *detect.Findings, sc *Scratch) []feature {
	sc.features = sc.features[:0]
	sc.arena = sc.arena[:0]
	textStart := 0
	x.textFeatures(l.Title, wildwarden.FieldTitle, groupListing, f, sc)
	x.textFeatures(l.Description, wildwarden.FieldDescription, groupListing, f, sc)
	x.textFeatures(l.ImageText, wildwarden.FieldImageText, groupListing, f, sc)
	x.textFeatures(l.Seller.Name, wildwarden.FieldSellerName, groupSeller, f, sc)
	x.textFeatures(l.Seller.Description, wildwarden.FieldSellerDescription, groupSeller, f, sc)
	// Text features share one unit of weight, so a long description does
	// not outvote the signals.
	if n := len(sc.features) - textStart; n > 0 {
		v := float32(1 / math.Sqrt(float64(n)))
		for i := textStart; i < len(sc.features); i++ {
			sc.features[i].value = v
		}
	}
	x.signalFeatures(l, f, sc)
	x.listingFeatures(l, sc)
	return sc.features
}

func (x *Extractor) addNamed(ns byte, name string, value float32, sc *Scratch) {
	h := hashString(x.hashStart(ns), name)
	sc.features = append(sc.features, feature{index: x.bucket(h), value: value, ns: ns, start: -1, end: -1, name: name})
}

func (x *Extractor) addNamed2(ns byte, a, b string, sc *Scratch) {
	h := hashString(x.hashStart(ns), a)
	h ^= '|'
	h *= fnvPrime
	h = hashString(h, b)
	sc.features = append(sc.features, feature{index: x.bucket(h), value: 1, ns: ns, start: -1, end: -1, name: a, name2: b})
}

// signalFeatures adds one feature per distinct signal, per signal and
// category, per category of product evidence, and the keyword model's
// combinations (product with an offer, …).
func (x *Extractor) signalFeatures(l *wildwarden.Listing, f *detect.Findings, sc *Scratch) {
	if f == nil {
		return
	}
	first := len(sc.features)
	seen := func(ns byte, name string) bool {
		for i := first; i < len(sc.features); i++ {
			if sc.features[i].ns == ns && sc.features[i].name == name && sc.features[i].name2 == "" {
				return true
			}
		}
		return false
	}
	seenPair := func(ns byte, name, category string) bool {
		for i := first; i < len(sc.features); i++ {
			if sc.features[i].ns == ns && sc.features[i].name == name && sc.features[i].name2 == category {
				return true
			}
		}
		return false
	}
	for i := range f.Evidence {
		e := &f.Evidence[i].Signal
		// Evidence in the seller's own description counts apart: a dealer
		// whose bio names ivory posts many things that are not ivory.
		ns := nsSignal
		if e.Field == wildwarden.FieldSellerDescription || e.Field == wildwarden.FieldSellerName {
			ns |= nsSellerOf
		}
		if !seen(ns, e.Name) {
			x.addNamed(ns, e.Name, 1, sc)
		}
		if e.Category != "" && !seenPair(ns, e.Name, e.Category) {
			x.addNamed2(ns, e.Name, e.Category, sc)
		}
	}
	// The keyword model's combinations (see policy.Features), computed
	// here without its map.
	offer := f.Has(detect.SigSaleIntent) || f.Has(detect.SigPrice) || f.Has(detect.SigContact)
	product := policy.HasProduct(f)
	if product && offer {
		x.addNamed(nsSignal, policy.FeatureProductOffer, 1, sc)
	}
	if offer && f.Has(detect.SigAnimal) && f.Has(detect.SigLive) {
		x.addNamed(nsSignal, policy.FeatureAnimalOffer, 1, sc)
	}
	if product && l.Kind == wildwarden.KindQuery {
		x.addNamed(nsSignal, policy.FeatureQuery, 1, sc)
	}
	if x.keyword != nil {
		// The keyword model's log-odds, as policy.LinearModel.Score
		// computes it (each signal once, then the combinations), without
		// its maps.
		w := x.keyword.Weights
		z := w[policy.FeatureBias]
		for i := range f.Evidence {
			name := f.Evidence[i].Name
			if !slices.ContainsFunc(f.Evidence[:i], func(e detect.Evidence) bool { return e.Name == name }) {
				z += w[name]
			}
		}
		if product && offer {
			z += w[policy.FeatureProductOffer]
		}
		if offer && f.Has(detect.SigAnimal) && f.Has(detect.SigLive) {
			z += w[policy.FeatureAnimalOffer]
		}
		if product && l.Kind == wildwarden.KindQuery {
			z += w[policy.FeatureQuery]
		}
		x.addNamed(nsSignal, FeatureKeyword, float32(keywordScale*z), sc)
	}
	// Evidence comes in display order: sort the features so that
	// contributions do not depend on it.
	slices.SortFunc(sc.features[first:], func(a, b feature) int {
		if a.ns != b.ns {
			return int(a.ns) - int(b.ns)
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.name2, b.name2)
	})
}

// priceBands are the names of the price-band features, by power of ten.
var priceBands = func() (t [8]string) {
	for i := range t {
		t[i] = "price.band." + strconv.Itoa(i)
	}
	return t
}()

func (x *Extractor) listingFeatures(l *wildwarden.Listing, sc *Scratch) {
	if l.Price != nil && *l.Price > 0 {
		x.addNamed(nsPrice, "price.present", 1, sc)
		band := int(math.Log10(*l.Price))
		band = max(0, min(band, len(priceBands)-1))
		x.addNamed(nsPrice, priceBands[band], 1, sc)
	}
	if l.Kind != "" {
		x.addNamed2(nsMeta, "kind", l.Kind, sc)
	}
}

// textFeatures adds the features of one text field: words and word
// bigrams of the folded view, character n-grams (1–3 for scripts written
// without spaces, 3–5 inside Latin and other words), and the syllables of
// the pinyin view.
//
// The detector's views are used when it kept them (Scratch.KeepViews);
// otherwise the text is normalized here.
func (x *Extractor) textFeatures(s, field string, group int, f *detect.Findings, sc *Scratch) {
	if s == "" {
		return
	}
	var folded, pinyin []byte
	found := false
	if f != nil {
		for i := range f.Views {
			if f.Views[i].Field == field {
				folded, pinyin, found = f.Views[i].Folded, f.Views[i].Pinyin, true
				break
			}
		}
	}
	if !found {
		for _, v := range x.norm.Views(s, &sc.buf) {
			switch v.Name {
			case text.ViewFolded:
				folded = v.Text
			case text.ViewPinyin:
				pinyin = v.Text
			}
		}
	}
	var nsOr byte
	if group == groupSeller {
		nsOr = nsSellerOf
	}
	base := int32(len(sc.arena))
	sc.arena = append(sc.arena, folded...)
	x.foldedFeatures(base, int32(len(sc.arena)), nsOr, sc)
	if pinyin != nil {
		pbase := int32(len(sc.arena))
		sc.arena = append(sc.arena, pinyin...)
		x.pinyinFeatures(pbase, int32(len(sc.arena)), nsOr, sc)
	}
}

// runeKind classifies a rune of the folded view for tokenization.
type runeKind uint8

const (
	kindSeparator  runeKind = iota
	kindWord                // a letter or digit of a script that separates words
	kindContinuous          // Han, kana, hangul, Thai and other scripts without spaces
	kindSymbol              // an emoji or pictograph: a word of its own
)

func classifyRune(r rune) runeKind {
	switch {
	case r < 0x80:
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' {
			return kindWord
		}
		return kindSeparator
	case r >= 0x3400 && r <= 0x9FFF, r >= 0xF900 && r <= 0xFAFF, r >= 0x20000 && r <= 0x2FFFF,
		r >= 0x3040 && r <= 0x30FF, r >= 0xAC00 && r <= 0xD7AF,
		r >= 0x0E00 && r <= 0x0EFF, r >= 0x1000 && r <= 0x109F, r >= 0x1780 && r <= 0x17FF:
		return kindContinuous
	case r >= 0x1F000, r >= 0x2600 && r <= 0x27BF:
		return kindSymbol
	case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
		return kindWord
	}
	return kindSeparator
}

func (x *Extractor) addSpan(ns byte, start, end int32, sc *Scratch) {
	h := hashBytes(x.hashStart(ns), sc.arena[start:end])
	sc.features = append(sc.features, feature{index: x.bucket(h), value: 1, ns: ns, start: start, end: end})
}

// foldedFeatures tokenizes arena[start:end), a folded view.
func (x *Extractor) foldedFeatures(start, end int32, nsOr byte, sc *Scratch) {
	b := sc.arena[:end]
	words := sc.words[:0]
	i := start
	for i < end {
		r, size := utf8.DecodeRune(b[i:])
		k := classifyRune(r)
		switch k {
		case kindSeparator:
			i += int32(size)
		case kindSymbol:
			words = append(words, span{i, i + int32(size)})
			i += int32(size)
		case kindWord:
			j := i + int32(size)
			for j < end {
				r2, s2 := utf8.DecodeRune(b[j:])
				if classifyRune(r2) != kindWord {
					break
				}
				j += int32(s2)
			}
			words = append(words, span{i, j})
			x.wordCharGrams(i, j, nsOr, sc)
			i = j
		case kindContinuous:
			j := i + int32(size)
			for j < end {
				r2, s2 := utf8.DecodeRune(b[j:])
				if classifyRune(r2) != kindContinuous {
					break
				}
				j += int32(s2)
			}
			// A run of Han or Thai is one "word" for bigrams with its
			// neighbours, and its character n-grams carry its meaning.
			words = append(words, span{i, j})
			x.runCharGrams(i, j, nsOr, sc)
			i = j
		}
	}
	for w, s := range words {
		x.addSpan(nsWord|nsOr, s.start, s.end, sc)
		if w > 0 {
			p := words[w-1]
			h := hashBytes(x.hashStart(nsBigram|nsOr), b[p.start:p.end])
			h ^= ' '
			h *= fnvPrime
			h = hashBytes(h, b[s.start:s.end])
			// Adjacent words are contiguous apart from separators: name the
			// bigram by the span that covers both.
			sc.features = append(sc.features, feature{index: x.bucket(h), value: 1, ns: nsBigram | nsOr, start: p.start, end: s.end})
		}
	}
	sc.words = words
}

// runCharGrams adds the 1-, 2- and 3-grams of characters of a run of a
// script written without spaces.
func (x *Extractor) runCharGrams(start, end int32, nsOr byte, sc *Scratch) {
	runes := sc.runes[:0]
	for i := start; i < end; {
		_, size := utf8.DecodeRune(sc.arena[i:end])
		runes = append(runes, i)
		i += int32(size)
	}
	runes = append(runes, end)
	n := len(runes) - 1
	for i := range n {
		for g := 1; g <= 3 && i+g <= n; g++ {
			x.addSpan(nsChar|nsOr, runes[i], runes[i+g], sc)
		}
	}
	sc.runes = runes
}

// maxCharGram is the longest character n-gram inside a word (3 to 5:
// long enough to carry a stem, short enough to be shared).
const maxCharGram = 5

// wordCharGrams adds the 3- to maxCharGram-grams of characters of a word, with its
// boundaries marked, so that inflections and compounds (ivories,
// ivory-handled) share features. Each n-gram starting at a position is
// hashed by extending the shorter one, not from scratch.
func (x *Extractor) wordCharGrams(start, end int32, nsOr byte, sc *Scratch) {
	runes := sc.runes[:0]
	for i := start; i < end; {
		size := int32(1)
		if sc.arena[i] >= utf8.RuneSelf {
			_, s := utf8.DecodeRune(sc.arena[i:end])
			size = int32(s)
		}
		runes = append(runes, i)
		i += size
	}
	runes = append(runes, end)
	n := len(runes) - 1
	sc.runes = runes
	if n < 2 {
		return
	}
	ns := nsChar | nsOr
	seed := x.hashStart(ns)
	// Positions run from -1 (the start mark) to n (the end mark); the
	// n-gram [i, j) covers marks and characters alike. The whole word
	// with both marks is left to the word feature.
	for i := -1; i < n; i++ {
		h := seed
		for j := i + 1; j <= n+1 && j-i <= maxCharGram; j++ {
			p := j - 1 // the position added
			if p < 0 || p == n {
				h ^= ' '
				h *= fnvPrime
			} else {
				h = hashBytes(h, sc.arena[runes[p]:runes[p+1]])
			}
			if j-i < 3 || (i < 0 && j > n) {
				continue
			}
			lo, hi := max(i, 0), min(j, n)
			sc.features = append(sc.features, feature{index: x.bucket(h), value: 1, ns: ns, start: runes[lo], end: runes[hi]})
		}
	}
}

// pinyinFeatures adds each pair of adjacent syllables of the pinyin view,
// so homophones (the same sounds written with other characters) share
// features; single syllables collide too often to mean anything.
func (x *Extractor) pinyinFeatures(start, end int32, nsOr byte, sc *Scratch) {
	b := sc.arena
	prev := span{-1, -1}
	for i := start; i < end; {
		if b[i] < 'a' || b[i] > 'z' {
			i++
			continue
		}
		j := i
		for j < end && b[j] >= 'a' && b[j] <= 'z' {
			j++
		}
		if prev.start >= 0 {
			h := hashBytes(x.hashStart(nsPinyin|nsOr), b[prev.start:j])
			sc.features = append(sc.features, feature{index: x.bucket(h), value: 1, ns: nsPinyin | nsOr, start: prev.start, end: j})
		}
		prev = span{i, j}
		i = j
	}
}

// featureName names a feature for contributions: its namespace and text.
func (sc *Scratch) featureName(ft *feature) string {
	var prefix string
	switch ft.ns &^ nsSellerOf {
	case nsWord:
		prefix = "word:"
	case nsBigram:
		prefix = "bigram:"
	case nsChar:
		prefix = "chars:"
	case nsPinyin:
		prefix = "pinyin:"
	case nsSignal:
		prefix = "signal:"
	case nsPrice:
		prefix = ""
	case nsMeta:
		prefix = ""
	}
	if ft.ns&nsSellerOf != 0 {
		prefix = "seller." + prefix
	}
	if ft.start < 0 {
		if ft.name2 != "" {
			return prefix + ft.name + "|" + ft.name2
		}
		return prefix + ft.name
	}
	return prefix + string(sc.arena[ft.start:ft.end])
}
