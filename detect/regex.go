package detect

import (
	"bytes"
	"math/bits"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// regexCue is the expression of one regex row of the cues, with two
// prefilters computed from its syntax so that most texts never run it:
//
//   - need: bytes of which every match contains at least one; a text with
//     none of them is skipped (an e-mail address needs '@').
//   - first: the bytes a match can begin with; when they are few (digits, a
//     currency sign), the expression runs anchored only where such a byte
//     starts a word or a number, instead of over the whole text.
type regexCue struct {
	cue      int
	re       *regexp.Regexp
	anchored *regexp.Regexp // nil: run unanchored
	need     bitset         // all ones: no byte is needed
	first    *byteSet
	// firstRunes are the ranges of runes a match can begin with, checked at
	// a non-ASCII candidate byte before running the expression.
	firstRunes []rune
	// prefixes, when known, are literal beginnings one of which every match
	// has (wechat, weixin, vx …): checked before running the expression.
	prefixes [][]byte
	boundary bool // the expression may start with \b: no match begins inside a word
}

// bitset is a set of bytes as bits, for a fast test against a text's bytes.
type bitset [4]uint64

func (b *bitset) add(c byte)           { b[c>>6] |= 1 << (c & 63) }
func (b *bitset) meets(o *bitset) bool { return b[0]&o[0]|b[1]&o[1]|b[2]&o[2]|b[3]&o[3] != 0 }
func (b *bitset) within(o *bitset) bool {
	return b[0]&^o[0]|b[1]&^o[1]|b[2]&^o[2]|b[3]&^o[3] == 0
}
func bitsetOf(s *byteSet) (b bitset) {
	for c, in := range s {
		if in {
			b.add(byte(c))
		}
	}
	return b
}

type byteSet [256]bool

func (s *byteSet) size() int {
	n := 0
	for _, b := range s {
		if b {
			n++
		}
	}
	return n
}

// cost estimates how often a text holds one of the set's bytes: letters and
// spaces are everywhere, digits and non-ASCII bytes common, punctuation rare.
func (s *byteSet) cost() int {
	c := 0
	for b, in := range s {
		if !in {
			continue
		}
		switch {
		case b == ' ' || b >= 'a' && b <= 'z':
			c += 20
		case b >= '0' && b <= '9' || b >= 0x80:
			c += 5
		default:
			c++
		}
	}
	return c
}

// regexWindow bounds the text an anchored cue expression looks at: a price,
// a phone number, a handle or an address fits, and Go's backtracking
// matcher costs in proportion to the input it is given.
const regexWindow = 64

// selective is the most bytes a first-byte set may hold for the anchored
// run to pay off.
const selective = 48

func newRegexCue(cue int, expr string) (regexCue, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return regexCue{}, err
	}
	rc := regexCue{cue: cue, re: re}
	parsed, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return regexCue{}, err
	}
	// The anchored copy is written from the parse, not from expr: text
	// around expr could change its meaning (an unterminated \Q quotes
	// everything after it, the closing parenthesis too).
	anchored := `^(?:` + parsed.String() + `)`
	parsed = parsed.Simplify()
	rc.need = bitset{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}
	if need := needBytes(parsed); need != nil {
		rc.need = bitsetOf(need)
	}
	var first byteSet
	if !firstBytes(parsed, &first) && first.size() <= selective && !hasAnchor(parsed) {
		rc.first = &first
		rc.firstRunes, _ = firstRunes(parsed, nil)
		rc.prefixes = literalPrefixes(parsed)
		rc.boundary = startsWithBoundary(parsed)
		rc.anchored, err = regexp.Compile(anchored)
		if err != nil {
			return regexCue{}, err
		}
	}
	return rc, nil
}

// hasAnchor reports whether re holds an assertion on the start of the text
// or line, which an anchored run on a window would change.
func hasAnchor(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpBeginText, syntax.OpNoWordBoundary:
		return true
	}
	for _, sub := range re.Sub {
		if hasAnchor(sub) {
			return true
		}
	}
	return false
}

// startsWithBoundary reports whether a match of re may begin with \b: then
// it cannot begin inside a word, which the anchored run must check itself.
func startsWithBoundary(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpWordBoundary:
		return true
	case syntax.OpCapture, syntax.OpPlus, syntax.OpStar, syntax.OpQuest, syntax.OpRepeat:
		return startsWithBoundary(re.Sub[0])
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if startsWithBoundary(sub) {
				return true
			}
			var s byteSet
			if !firstBytes(sub, &s) {
				return false
			}
		}
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if startsWithBoundary(sub) {
				return true
			}
		}
	}
	return false
}

// regexSet runs the cue expressions over a text: the anchored ones in one
// pass, at the bytes they can begin with; the others whole, when the text
// holds a byte they need.
type regexSet struct {
	cues    []regexCue
	byFirst [256][]int32 // byte → anchored expressions that can begin with it
	trigger [256]bool    // some anchored expression can begin with the byte
	// pairs holds the first two bytes an anchored expression can begin
	// with: most word starts in a text are ruled out by one bit test.
	pairs      [1 << 16 / 64]uint64
	unanchored []int32
	// wideFirst holds every non-ASCII rune an anchored expression can begin
	// with, so that a CJK character is decoded once and ruled out at once;
	// nil when some expression begins with too wide a range to list.
	wideFirst *runeSet
}

// runeSet is a set of runes: a bit each for the Basic Multilingual Plane,
// a map beyond it.
type runeSet struct {
	bmp    [0x10000 / 64]uint64
	beyond map[rune]bool
}

func (s *runeSet) add(r rune) {
	if r < 0x10000 {
		s.bmp[r>>6] |= 1 << (r & 63)
		return
	}
	if s.beyond == nil {
		s.beyond = map[rune]bool{}
	}
	s.beyond[r] = true
}

func (s *runeSet) has(r rune) bool {
	if r < 0x10000 {
		return s.bmp[r>>6]&(1<<(r&63)) != 0
	}
	return s.beyond[r]
}

func newRegexSet(cues []regexCue) *regexSet {
	rs := &regexSet{cues: cues}
	for i := range cues {
		if cues[i].anchored == nil {
			rs.unanchored = append(rs.unanchored, int32(i))
			continue
		}
		for b, in := range cues[i].first {
			if in {
				rs.byFirst[b] = append(rs.byFirst[b], int32(i))
				rs.trigger[b] = true
			}
		}
	}
	for i := range cues {
		rc := &cues[i]
		if rc.anchored == nil {
			continue
		}
		for b, in := range rc.first {
			if !in {
				continue
			}
			// Without a literal beginning of two bytes from this byte, any
			// second byte.
			open, covered := rc.prefixes == nil, false
			for _, p := range rc.prefixes {
				if p[0]|0x20 == byte(b)|0x20 {
					covered = true
					open = open || len(p) < 2
				}
			}
			open = open || !covered
			if open {
				for second := range 256 {
					rs.setPair(byte(b), byte(second))
				}
			}
		}
		for _, p := range rc.prefixes {
			if len(p) >= 2 {
				for _, a := range caseVariants(p[0]) {
					for _, b := range caseVariants(p[1]) {
						rs.setPair(a, b)
					}
				}
			}
		}
	}
	rs.wideFirst = new(runeSet)
	for _, i := range anchoredIndices(cues) {
		r := cues[i].firstRunes
		for k := 0; k+1 < len(r) && rs.wideFirst != nil; k += 2 {
			lo, hi := max(r[k], utf8.RuneSelf), r[k+1]
			switch {
			case hi < utf8.RuneSelf:
			case hi-lo > 256:
				rs.wideFirst = nil // too wide to list: check each expression
			default:
				for c := lo; c <= hi; c++ {
					rs.wideFirst.add(c)
				}
			}
		}
	}
	return rs
}

func anchoredIndices(cues []regexCue) []int {
	var out []int
	for i := range cues {
		if cues[i].anchored != nil {
			out = append(out, i)
		}
	}
	return out
}

// findAll calls fn with the cue and span of each match in text.
func (rs *regexSet) findAll(text []byte, fn func(rc *regexCue, start, end int)) {
	// The need prefilter: whether the text holds a byte the expression
	// needs, each byte looked for once, when first asked about. (Written
	// out at each use below: as a method it would not be inlined.)
	bk := byteKnowledge{text: text}
	if len(rs.unanchored) > 0 {
		for _, i := range rs.unanchored {
			rc := &rs.cues[i]
			if !(rc.need.meets(&bk.has) || !rc.need.within(&bk.known) && bk.lookUp(&rc.need)) {
				continue
			}
			for _, loc := range rc.re.FindAllIndex(text, -1) {
				if loc[0] < loc[1] {
					fn(rc, loc[0], loc[1])
				}
			}
		}
	}
	var busyUntil [64]int // per expression (first 64), where its last match ended
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !rs.trigger[c] || i+1 < len(text) && !rs.pair(c, text[i+1]) {
			continue
		}
		if c >= utf8.RuneSelf && rs.wideFirst != nil {
			if r, _ := utf8.DecodeRune(text[i:]); !rs.wideFirst.has(r) {
				continue
			}
		}
		list := rs.byFirst[c]
		var p byte
		if i > 0 {
			p = text[i-1]
		}
		// Inside a number or a word, a match would have begun earlier.
		inRun := i > 0 && (isDigit(c) && isDigit(p) || isLetter(c) && isLetter(p))
		if inRun {
			continue
		}
		window := text[i:min(len(text), i+regexWindow)]
		for _, k := range list {
			rc := &rs.cues[k]
			if k < 64 && i < busyUntil[k] || !(rc.need.meets(&bk.has) || !rc.need.within(&bk.known) && bk.lookUp(&rc.need)) {
				continue
			}
			if rc.boundary && i > 0 && isWord(p) && isWord(c) {
				continue
			}
			if c >= utf8.RuneSelf && !inRanges(rc.firstRunes, window) || rc.prefixes != nil && !hasPrefix(window, rc.prefixes) {
				continue
			}
			if loc := rc.anchored.FindIndex(window); loc != nil && loc[1] > 0 {
				fn(rc, i, i+loc[1])
				if k < 64 {
					busyUntil[k] = i + loc[1]
				}
			}
		}
	}
}

// byteKnowledge is what is known of which bytes a text holds. The need
// sets of the cue expressions are a few bytes each: looking for those with
// bytes.IndexByte, once each, is quicker than listing every byte of every
// text.
type byteKnowledge struct {
	text       []byte
	known, has bitset
}

// lookUp looks for the bytes of need not looked for yet.
func (k *byteKnowledge) lookUp(need *bitset) bool {
	for w := range need {
		for rest := need[w] &^ k.known[w]; rest != 0; rest &= rest - 1 {
			bit := uint(bits.TrailingZeros64(rest))
			k.known[w] |= 1 << bit
			if bytes.IndexByte(k.text, byte(w*64)+byte(bit)) >= 0 {
				k.has[w] |= 1 << bit
				return true
			}
		}
	}
	return false
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isWord(c byte) bool   { return isDigit(c) || isLetter(c) || c == '_' }

// firstBytes adds to set the bytes a match of re can begin with, and
// reports whether re can match the empty string (then the set is not a
// complete prefilter).
func firstBytes(re *syntax.Regexp, set *byteSet) (nullable bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return true
		}
		addRune(set, re.Rune[0], re.Flags&syntax.FoldCase != 0)
		return false
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			addRange(set, re.Rune[i], re.Rune[i+1])
		}
		return false
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		for b := range set {
			set[b] = true
		}
		return false
	case syntax.OpCapture, syntax.OpPlus:
		return firstBytes(re.Sub[0], set)
	case syntax.OpStar, syntax.OpQuest:
		firstBytes(re.Sub[0], set)
		return true
	case syntax.OpRepeat:
		n := firstBytes(re.Sub[0], set)
		return n || re.Min == 0
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !firstBytes(sub, set) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		nullable := false
		for _, sub := range re.Sub {
			if firstBytes(sub, set) {
				nullable = true
			}
		}
		return nullable
	}
	return true // an operator this analysis does not know: no prefilter
}

// needBytes returns a set of bytes of which every match of re holds one,
// the cheapest it can find, or nil.
func needBytes(re *syntax.Regexp) *byteSet {
	switch re.Op {
	case syntax.OpLiteral:
		// Any one byte of the literal will do: take the rarest.
		var best *byteSet
		for _, r := range re.Rune {
			var s byteSet
			addRune(&s, r, re.Flags&syntax.FoldCase != 0)
			if best == nil || s.cost() < best.cost() {
				best = &s
			}
		}
		return best
	case syntax.OpCharClass:
		var s byteSet
		firstBytes(re, &s)
		return &s
	case syntax.OpCapture, syntax.OpPlus:
		return needBytes(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min == 0 {
			return nil
		}
		return needBytes(re.Sub[0])
	case syntax.OpConcat:
		var best *byteSet
		for _, sub := range re.Sub {
			if s := needBytes(sub); s != nil && (best == nil || s.cost() < best.cost()) {
				best = s
			}
		}
		return best
	case syntax.OpAlternate:
		var all byteSet
		for _, sub := range re.Sub {
			s := needBytes(sub)
			if s == nil {
				return nil
			}
			for b, in := range s {
				all[b] = all[b] || in
			}
		}
		return &all
	}
	return nil
}

func addRune(set *byteSet, r rune, fold bool) {
	var buf [utf8.UTFMax]byte
	utf8.EncodeRune(buf[:], r)
	set[buf[0]] = true
	if fold {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			utf8.EncodeRune(buf[:], f)
			set[buf[0]] = true
		}
	}
}

// addRange adds the first bytes of every rune in [lo, hi].
func addRange(set *byteSet, lo, hi rune) {
	for lo <= hi {
		var buf [utf8.UTFMax]byte
		utf8.EncodeRune(buf[:], lo)
		set[buf[0]] = true
		next := nextLeadRune(lo)
		if next <= lo {
			break
		}
		lo = next
	}
}

// nextLeadRune returns the smallest rune after r whose UTF-8 first byte
// differs from r's.
func nextLeadRune(r rune) rune {
	switch {
	case r < 0x80:
		return r + 1
	case r < 0x800:
		return (r>>6 + 1) << 6
	case r < 0x10000:
		return (r>>12 + 1) << 12
	default:
		return (r>>18 + 1) << 18
	}
}

// firstRunes appends the rune ranges (pairs lo, hi) a match of re can begin
// with, and reports whether re can match the empty string.
func firstRunes(re *syntax.Regexp, ranges []rune) ([]rune, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return ranges, true
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return ranges, true
		}
		r := re.Rune[0]
		ranges = append(ranges, r, r)
		if re.Flags&syntax.FoldCase != 0 {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				ranges = append(ranges, f, f)
			}
		}
		return ranges, false
	case syntax.OpCharClass:
		return append(ranges, re.Rune...), false
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return append(ranges, 0, unicode.MaxRune), false
	case syntax.OpCapture, syntax.OpPlus:
		return firstRunes(re.Sub[0], ranges)
	case syntax.OpStar, syntax.OpQuest:
		ranges, _ = firstRunes(re.Sub[0], ranges)
		return ranges, true
	case syntax.OpRepeat:
		var n bool
		ranges, n = firstRunes(re.Sub[0], ranges)
		return ranges, n || re.Min == 0
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			var n bool
			if ranges, n = firstRunes(sub, ranges); !n {
				return ranges, false
			}
		}
		return ranges, true
	case syntax.OpAlternate:
		nullable := false
		for _, sub := range re.Sub {
			var n bool
			ranges, n = firstRunes(sub, ranges)
			nullable = nullable || n
		}
		return ranges, nullable
	}
	return append(ranges, 0, unicode.MaxRune), true
}

// inRanges reports whether the rune at the start of b is in ranges.
func inRanges(ranges []rune, b []byte) bool {
	r, _ := utf8.DecodeRune(b)
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] <= r && r <= ranges[i+1] {
			return true
		}
	}
	return false
}

// literalPrefixes returns literal strings one of which begins every match
// of re, or nil when it cannot tell. Case-folded literals are given in
// lower case: the folded view is lower case.
func literalPrefixes(re *syntax.Regexp) [][]byte {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return nil
		}
		lit := string(re.Rune)
		if re.Flags&syntax.FoldCase != 0 {
			lit = strings.ToLower(lit)
		}
		return [][]byte{[]byte(lit)}
	case syntax.OpCapture, syntax.OpPlus:
		return literalPrefixes(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min == 0 {
			return nil
		}
		return literalPrefixes(re.Sub[0])
	case syntax.OpConcat:
		// Skip leading assertions (\b); the first element that consumes
		// text decides.
		for _, sub := range re.Sub {
			switch sub.Op {
			case syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpBeginLine, syntax.OpBeginText:
				continue
			}
			return literalPrefixes(sub)
		}
		return nil
	case syntax.OpAlternate:
		var all [][]byte
		for _, sub := range re.Sub {
			p := literalPrefixes(sub)
			if p == nil {
				return nil
			}
			all = append(all, p...)
		}
		return all
	case syntax.OpCharClass:
		// A few single characters ([$€£]) are prefixes too.
		var all [][]byte
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i+1]-re.Rune[i] > 8 {
				return nil
			}
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				all = append(all, []byte(string(r)))
			}
		}
		if len(all) > 16 {
			return nil
		}
		return all
	}
	return nil
}

// hasPrefix reports whether b begins with one of the prefixes, ASCII case
// ignored (prefixes of case-folded literals are lower case).
func hasPrefix(b []byte, prefixes [][]byte) bool {
	for _, p := range prefixes {
		// The first byte, case aside, rules out most prefixes cheaply.
		if len(b) >= len(p) && b[0]|0x20 == p[0]|0x20 && bytes.EqualFold(b[:len(p)], p) {
			return true
		}
	}
	return false
}

func (rs *regexSet) setPair(a, b byte) {
	k := uint(a)<<8 | uint(b)
	rs.pairs[k/64] |= 1 << (k % 64)
}

func (rs *regexSet) pair(a, b byte) bool {
	k := uint(a)<<8 | uint(b)
	return rs.pairs[k/64]&(1<<(k%64)) != 0
}

// caseVariants returns b and, for an ASCII letter, its other case.
func caseVariants(b byte) []byte {
	switch {
	case b >= 'a' && b <= 'z':
		return []byte{b, b - 32}
	case b >= 'A' && b <= 'Z':
		return []byte{b, b + 32}
	}
	return []byte{b}
}
