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
const FeatureSet = "ww-features-3"

// Feature namespaces: the first byte hashed for every feature, so that the
// word "ivory" and the signal "ivory" never share a bucket on purpose.
const (
	nsWord     byte = 'w'  // a word of the folded view
	nsBigram   byte = 'b'  // two adjacent words
	nsChar     byte = 'c'  // a character 2- or 3-gram of Han, kana, Thai…
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
	arena    []byte // copies of the views the features point into

	// When weights is set (Extractor.score), text features are scored
	// as they are found instead of recorded: a listing has hundreds, and
	// storing each with its span costs more than finding it. Only the sum
	// of their weights, their count and the few heaviest (for Model.Score
	// to name) are kept.
	weights   *sparseWeights
	textSum   float64
	textCount int
	top       [topFeatures]heavyText
}

// heavyText is one of the heaviest text features seen while scoring: its
// weight and where its text lies in Scratch.arena.
type heavyText struct {
	weight     float32
	ns         byte
	start, end int32
}

// Extractor turns a listing and its findings into hashed features. It is
// immutable and safe for concurrent use.
type Extractor struct {
	norm    *text.Normalizer
	keyword *policy.LinearModel
	bits    uint
	mask    uint32
	shift   uint // 64 - bits: text features take the top bits of a product
	seed    uint64
	starts  [256]uint64 // hashStart of each namespace, computed once
}

// NewExtractor returns an extractor that hashes features into 2^bits
// buckets with the given seed, building views with norm (use the
// detector's normalizer, so that emoji are named the same way). When
// keyword is not nil, the keyword model's log-odds is a feature: the
// hand-set weights of the knowledge base become a prior the learned
// weights correct, which matters where training data is thin.
func NewExtractor(norm *text.Normalizer, keyword *policy.LinearModel, bits uint, seed uint64) *Extractor {
	x := &Extractor{norm: norm, keyword: keyword, bits: bits, mask: 1<<bits - 1, shift: 64 - bits, seed: seed}
	for ns := range x.starts {
		x.starts[ns] = x.hashStart(byte(ns))
	}
	return x
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
	sc.weights = nil
	x.extract(l, f, sc)
	// Text features share one unit of weight, so a long description does
	// not outvote the signals.
	n := 0
	for n < len(sc.features) && isText(sc.features[n].ns) {
		n++
	}
	if n > 0 {
		v := textValue(n)
		for i := range n {
			sc.features[i].value = v
		}
	}
	return sc.features
}

// score is Extract for scoring with weights: it records only the named
// features (signals, price, kind) and returns them; the text features'
// weights are summed into sc.textSum, their count into sc.textCount and
// the heaviest kept in sc.top (by |weight|, the earliest first among
// equals, as Model.Score ranks them). The text value textValue(textCount)
// is left to the caller to apply.
func (x *Extractor) score(l *wildwarden.Listing, f *detect.Findings, weights *sparseWeights, sc *Scratch) []feature {
	sc.weights = weights
	sc.textSum, sc.textCount = 0, 0
	sc.top = [topFeatures]heavyText{}
	x.extract(l, f, sc)
	sc.weights = nil
	return sc.features
}

// textValue is the value of each of a listing's n text features: together
// they weigh one unit (in Euclidean norm).
func textValue(n int) float32 { return float32(1 / math.Sqrt(float64(n))) }

// isText reports whether a namespace holds text features (words, n-grams,
// pinyin) rather than named ones.
func isText(ns byte) bool {
	switch ns &^ nsSellerOf {
	case nsWord, nsBigram, nsChar, nsPinyin:
		return true
	}
	return false
}

// extract computes a listing's features into sc: the text features first
// (recorded or scored, see Scratch.weights), then the named ones.
func (x *Extractor) extract(l *wildwarden.Listing, f *detect.Findings, sc *Scratch) {
	sc.features = sc.features[:0]
	sc.arena = sc.arena[:0]
	x.textFeatures(l.Title, wildwarden.FieldTitle, groupListing, f, sc)
	x.textFeatures(l.Description, wildwarden.FieldDescription, groupListing, f, sc)
	x.textFeatures(l.ImageText, wildwarden.FieldImageText, groupListing, f, sc)
	x.textFeatures(l.Seller.Name, wildwarden.FieldSellerName, groupSeller, f, sc)
	x.textFeatures(l.Seller.Description, wildwarden.FieldSellerDescription, groupSeller, f, sc)
	x.signalFeatures(l, f, sc)
	x.listingFeatures(l, sc)
}

// textScore is the running score of the text features a tokenizer has
// produced (see Extractor.score). A tokenizer holds it in a local
// variable, so that its loops keep it in registers, and hands it back
// with endText when done.
type textScore struct {
	sum   float64
	count int
	// least is the smallest |weight| among the heaviest features kept: a
	// feature no heavier is not one of them.
	least float32
}

// beginText starts a tokenizer's textScore.
func (sc *Scratch) beginText() textScore {
	return textScore{least: abs32(sc.top[topFeatures-1].weight)}
}

// endText adds a tokenizer's textScore to the listing's.
func (sc *Scratch) endText(t textScore) {
	sc.textSum += t.sum
	sc.textCount += t.count
}

// addText adds the text feature in bucket index whose text is
// arena[start:end): recorded, or scored into t when sc.weights is set.
func (sc *Scratch) addText(t textScore, index uint32, ns byte, start, end int32) textScore {
	if w := sc.weights; w != nil {
		v := w.at(index)
		t.sum += float64(v)
		t.count++
		if abs32(v) <= t.least {
			return t
		}
	}
	t.least = sc.addTextSlow(index, ns, start, end)
	return t
}

// addGram is addText for a character n-gram ending at b[end]: it starts
// back characters before b[pos], no further back than floor, which is
// found only when the feature is kept (rarely, when scoring).
func (sc *Scratch) addGram(t textScore, index uint32, ns byte, b []byte, floor, pos int32, back int, end int32) textScore {
	if w := sc.weights; w != nil {
		v := w.at(index)
		t.sum += float64(v)
		t.count++
		if abs32(v) <= t.least {
			return t
		}
	}
	t.least = sc.addTextSlow(index, ns, backChars(b, floor, pos, back), end)
	return t
}

// addTextSlow is addText's rare path: a feature to record, or one among
// the heaviest so far. It returns the new textScore.least.
func (sc *Scratch) addTextSlow(index uint32, ns byte, start, end int32) float32 {
	if sc.weights == nil {
		sc.features = append(sc.features, feature{index: index, value: 1, ns: ns, start: start, end: end})
		return 0
	}
	return sc.keepHeavy(heavyText{weight: sc.weights.at(index), ns: ns, start: start, end: end})
}

func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

// backChars returns where the character k characters before the one at
// b[pos] starts, going no further back than floor.
func backChars(b []byte, floor, pos int32, k int) int32 {
	for ; k > 0 && pos > floor; k-- {
		pos--
		for pos > floor && b[pos]&0xc0 == 0x80 {
			pos--
		}
	}
	return pos
}

// keepHeavy inserts t among the heaviest text features, after those of
// equal weight, dropping the lightest, and returns the smallest |weight|
// kept.
func (sc *Scratch) keepHeavy(t heavyText) float32 {
	aw := abs32(t.weight)
	for k := range sc.top {
		if aw > abs32(sc.top[k].weight) {
			copy(sc.top[k+1:], sc.top[k:topFeatures-1])
			sc.top[k] = t
			break
		}
	}
	return abs32(sc.top[topFeatures-1].weight)
}

func (x *Extractor) addNamed(ns byte, name string, value float32, sc *Scratch) {
	h := hashString(x.starts[ns], name)
	sc.features = append(sc.features, feature{index: x.bucket(h), value: value, ns: ns, start: -1, end: -1, name: name})
}

func (x *Extractor) addNamed2(ns byte, a, b string, sc *Scratch) {
	h := hashString(x.starts[ns], a)
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
// bigrams of the folded view, character 2- and 3-grams of the scripts
// written without spaces, and pairs of syllables of the pinyin view.
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

// asciiWordByte marks the ASCII bytes classifyRune calls kindWord.
var asciiWordByte = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = classifyRune(rune(c)) == kindWord
	}
	return t
}()

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

// Text features are keyed by polynomial hashes of their code points: the
// key of c_0…c_{n-1} is Σ c_t·polyMul^(n-1-t) (mod 2^64). Tokenizers roll
// the keys of a run's n-grams along with its last two code points, where
// hashing every n-gram's bytes afresh costs a multiplication a byte.
const (
	polyMul = 0x9e3779b97f4a7c15 // odd, so that no code point is lost
	pairMul = 0xc2b2ae3d27d4eb4f // combines two keys into a bigram's
	gramMul = 0xd6e8feb86659fd93 // sets n-grams of each length apart
	keyMul  = 0xff51afd7ed558ccd // multiplies a key to bucket it
)

// textSeed is the seed of the text features of namespace ns and n-gram
// length g (0 for words, bigrams and pinyin): an n-gram and a longer one
// whose keys happen to be equal still fall apart.
func (x *Extractor) textSeed(ns byte, g int) uint64 {
	return x.starts[ns] ^ uint64(g)*gramMul
}

// textIndex is the bucket of a text feature of the given seed and key:
// the top bits of the seeded key times an odd constant (multiplicative
// hashing), one multiplication where the named features' bucket takes
// three. shift is 64 minus the bits of the bucket index.
func textIndex(seed, key uint64, shift uint) uint32 {
	return uint32((key ^ seed) * keyMul >> shift)
}

// foldedFeatures tokenizes arena[start:end), a folded view, into words
// (runs of letters and digits, runs of a script written without spaces,
// single emoji) and adds each word, each pair of adjacent words and the
// character 2- and 3-grams of the runs of scripts written without spaces.
//
// Words of scripts written with spaces get no character n-grams: the
// folded view has already undone the spellings that hide a word (case,
// look-alike letters, separators, leetspeak), and on the project's own
// data (testdata/corpus, cross-validation of classify/traindata) the
// model scored no worse without their 3- to 5-grams, which were most of
// a listing's features and of the model's cost.
func (x *Extractor) foldedFeatures(start, end int32, nsOr byte, sc *Scratch) {
	b := sc.arena[:end]
	t := sc.beginText()
	nsW, nsB := nsWord|nsOr, nsBigram|nsOr
	seedW, seedB := x.textSeed(nsW, 0), x.textSeed(nsB, 0)
	var prevKey uint64
	prevStart := int32(-1)
	for i := start; i < end; {
		var key uint64
		var j int32
		if c := b[i]; c < utf8.RuneSelf {
			if !asciiWordByte[c] {
				i++
				continue
			}
			j, key = sc.wordEnd(i, end)
		} else {
			r, size := utf8.DecodeRune(b[i:])
			switch classifyRune(r) {
			case kindSeparator:
				i += int32(size)
				continue
			case kindSymbol:
				j, key = i+int32(size), uint64(r)
			case kindWord:
				j, key = sc.wordEnd(i, end)
			case kindContinuous:
				// A run of Han or Thai is one "word" for bigrams with its
				// neighbours, and its character n-grams carry its meaning.
				j, key, t = x.runGrams(t, i, end, nsOr, sc)
			}
		}
		t = sc.addText(t, textIndex(seedW, key, x.shift), nsW, i, j)
		if prevStart >= 0 {
			// Adjacent words are contiguous apart from separators: name
			// the bigram by the span that covers both.
			t = sc.addText(t, textIndex(seedB, prevKey*pairMul+key, x.shift), nsB, prevStart, j)
		}
		prevKey, prevStart = key, i
		i = j
	}
	sc.endText(t)
}

// wordEnd returns where the word of letters and digits that starts at
// arena[start] ends, and its key.
func (sc *Scratch) wordEnd(start, end int32) (int32, uint64) {
	b := sc.arena[:end]
	var key uint64
	j := start
	for j < end {
		c := b[j]
		if c < utf8.RuneSelf {
			if !asciiWordByte[c] {
				break
			}
			key = key*polyMul + uint64(c)
			j++
			continue
		}
		r, size := utf8.DecodeRune(b[j:])
		if classifyRune(r) != kindWord {
			break
		}
		key = key*polyMul + uint64(r)
		j += int32(size)
	}
	return j, key
}

// polyPow2 is polyMul squared (mod 2^64).
var polyPow2 = func() uint64 {
	m := uint64(polyMul)
	return m * m
}()

// runGrams reads the run of a script written without spaces that starts
// at arena[start] and adds its character 2- and 3-grams (single
// characters of these scripts are the letters of Thai, or Han characters
// whose meaning the word and its pairs carry already). It returns where
// the run ends and its key.
func (x *Extractor) runGrams(t textScore, start, end int32, nsOr byte, sc *Scratch) (int32, uint64, textScore) {
	b := sc.arena[:end]
	ns := nsChar | nsOr
	seed2, seed3 := x.textSeed(ns, 2), x.textSeed(ns, 3)
	shift, pow2 := x.shift, polyPow2
	var key, c1, c2 uint64 // the run's key, the two code points before
	j := start
	for e := 0; j < end; e++ {
		r, s := utf8.DecodeRune(b[j:])
		if classifyRune(r) != kindContinuous {
			break
		}
		c, size := uint64(r), int32(s)
		key = key*polyMul + c
		if e >= 1 {
			k2 := c1*polyMul + c
			t = sc.addGram(t, textIndex(seed2, k2, shift), ns, b, start, j, 1, j+size)
			if e >= 2 {
				t = sc.addGram(t, textIndex(seed3, c2*pow2+k2, shift), ns, b, start, j, 2, j+size)
			}
		}
		c2, c1 = c1, c
		j += size
	}
	return j, key, t
}

// pinyinFeatures adds each pair of adjacent syllables of the pinyin view,
// with what stands between them (a space between syllables, a bar between
// words of the text), so homophones (the same sounds written with other
// characters) share features; single syllables collide too often to mean
// anything.
func (x *Extractor) pinyinFeatures(start, end int32, nsOr byte, sc *Scratch) {
	b := sc.arena[:end]
	t := sc.beginText()
	ns := nsPinyin | nsOr
	seed := x.textSeed(ns, 0)
	var prevKey, between uint64
	prevStart := int32(-1)
	for i := start; i < end; {
		if c := b[i]; c-'a' > 'z'-'a' {
			between = between*polyMul + uint64(c)
			i++
			continue
		}
		var key uint64
		j := i
		for ; j < end && b[j]-'a' <= 'z'-'a'; j++ {
			key = key*polyMul + uint64(b[j])
		}
		if prevStart >= 0 {
			pair := (prevKey*pairMul+between)*pairMul + key
			t = sc.addText(t, textIndex(seed, pair, x.shift), ns, prevStart, j)
		}
		prevKey, prevStart, between = key, i, 0
		i = j
	}
	sc.endText(t)
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
