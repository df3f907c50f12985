// Package text builds the normalized views of a text that the detectors
// match against, each with a map from its bytes back to the original, so
// that evidence points at the characters a reviewer sees.
//
// The folded view removes the tricks sellers use to hide a word: it applies
// NFKC (full-width letters, ligatures, mathematical letters), lower case,
// removes zero-width and other format characters and diacritics, maps
// look-alike letters of other scripts to Latin (Cyrillic і, о, у → i, o, y),
// folds Traditional Han to Simplified, joins letters spread out by
// separators (i.v.o.r.y, i v o r y, 象 牙, 象*牙), collapses repeated letters (ivoooory, and so ivvory, shell → shel
// on both sides of a match) and writes the names of known emoji in their
// place. The pinyin view writes Han ideographs as toneless pinyin syllables,
// so that homophones (象芽, 相牙 → xiang ya) and pinyin typed in Latin letters
// meet the same term.
//
// Views are built into a Buffer that the caller reuses; a Normalizer is
// immutable and safe for concurrent use.
package text

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// View names, as reported in evidence.
const (
	ViewFolded = "folded"
	ViewPinyin = "pinyin"
	ViewEmoji  = "emoji"
)

// View is one normalized form of a text.
type View struct {
	Name string
	// Text is the normalized text. It is owned by the Buffer that produced
	// it and valid until the Buffer's next use.
	Text []byte
	// start and end give, for each byte of Text, the byte span of the
	// original text it came from.
	start, end []int32
}

// Source returns the byte span [start, end) of the original text that
// produced the view's bytes [i, j). It requires 0 <= i < j <= len(Text).
func (v *View) Source(i, j int) (start, end int) {
	return int(v.start[i]), int(v.end[j-1])
}

// SourceRunes returns the span of Source in code points of original, the
// unit of evidence spans.
func (v *View) SourceRunes(original string, i, j int) (start, end int) {
	bs, be := v.Source(i, j)
	start = utf8.RuneCountInString(original[:bs])
	return start, start + utf8.RuneCountInString(original[bs:be])
}

// Options configure a Normalizer.
type Options struct {
	// Emoji maps an emoji (one code point, variation selectors removed) to
	// the words the folded view writes in its place.
	Emoji map[string]string
}

// Normalizer builds views. Create one with New and share it.
type Normalizer struct {
	table *foldTable
	emoji map[rune]string
}

// New returns a Normalizer. The Unicode tables behind it are built once per
// process (about 100 ms) and shared.
func New(opts Options) *Normalizer {
	n := &Normalizer{table: sharedTable(), emoji: make(map[rune]string, len(opts.Emoji))}
	for e, name := range opts.Emoji {
		r, size := utf8.DecodeRuneInString(e)
		if size == 0 || r == utf8.RuneError {
			continue
		}
		n.emoji[r] = " " + Fold(n, name) + " "
	}
	return n
}

// unit is one rune of the original after folding.
type unit struct {
	s          string // folded form, "" when dropped
	start, end int32  // byte span in the original
	cls        uint8
	skip       bool // removed by a word-level rule
}

// Buffer holds the working memory of normalization. Reuse one per goroutine.
type Buffer struct {
	units                []unit
	folded, pinyin       []byte
	fstart, fend         []int32
	pstart, pend         []int32
	leet, leetL          []byte
	latin                []byte // the Latin fast path's transliteration
	latinStart, latinEnd []int32
	lstart, lend         []int32
	lLstart, lLend       []int32
	views                [4]View
	hasHan, hasEmojiName bool
	maybeLeet            bool // a word mixes letters with digits or @!$|
}

// Views returns the views of s: the folded view always, the pinyin view
// when s contains Han ideographs, the leet view when a word mixes letters
// with digits or symbols. The views live in buf.
func (n *Normalizer) Views(s string, buf *Buffer) []View {
	n.fold(s, buf)
	buf.views[0] = View{Name: ViewFolded, Text: buf.folded, start: buf.fstart, end: buf.fend}
	views := buf.views[:1]
	if buf.hasHan {
		n.pinyinView(buf)
		views = append(views, View{Name: ViewPinyin, Text: buf.pinyin, start: buf.pstart, end: buf.pend})
	}
	switch leetView(buf) {
	case 2:
		views = append(views, View{Name: ViewLeet, Text: buf.leet, start: buf.lstart, end: buf.lend},
			View{Name: ViewLeet, Text: buf.leetL, start: buf.lLstart, end: buf.lLend})
	case 1:
		views = append(views, View{Name: ViewLeet, Text: buf.leet, start: buf.lstart, end: buf.lend})
	}
	return views
}

// HasEmojiNames reports whether the last folded view in buf wrote the name
// of an emoji.
func (buf *Buffer) HasEmojiNames() bool { return buf.hasEmojiName }

// Fold returns the folded view of s without offsets: the form in which
// knowledge-base terms are compiled.
func Fold(n *Normalizer, s string) string {
	var buf Buffer
	n.fold(s, &buf)
	return string(buf.folded)
}

// Pinyin returns the pinyin view of s without offsets, or "" when s has no
// Han ideographs.
func Pinyin(n *Normalizer, s string) string {
	var buf Buffer
	for _, v := range n.Views(s, &buf) {
		if v.Name == ViewPinyin {
			return string(v.Text)
		}
	}
	return ""
}

// asciiFold is the folded form of each ASCII byte, as strings that need no
// allocation.
var asciiFold = func() (t [128]string) {
	for i := range t {
		c := byte(i)
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c < 0x20 || c == 0x7F {
			c = ' '
		}
		t[i] = string([]byte{c})
	}
	return t
}()

var asciiClass = func() (t [128]uint8) {
	for i := range t {
		c := byte(i)
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			t[i] = classLetter
		case c >= '0' && c <= '9':
			t[i] = classDigit
		case c <= ' ' || c == 0x7F:
			t[i] = classSpace
		default:
			t[i] = classOther
		}
	}
	return t
}()

func (n *Normalizer) fold(s string, buf *Buffer) {
	buf.hasHan, buf.hasEmojiName, buf.maybeLeet = false, false, false
	if isASCII(s) {
		foldASCII(s, buf)
		return
	}
	if n.foldLatin(s, buf) {
		return
	}
	n.foldUnits(s, buf)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldUnits is the general path: fold each rune into a unit, apply the
// word-level rules over the units, then write the view.
func (n *Normalizer) foldUnits(s string, buf *Buffer) {
	if cap(buf.units) < len(s) {
		buf.units = make([]unit, 0, len(s)) // at most one unit per byte
	}
	units := buf.units[:0]
	// Which word-level rules can apply, learnt on the way: most texts need
	// none of them.
	var needSpread, needUnspaced bool
	var prev, prev2 uint8 = classSpace, classSpace // classes of the last two kept units
	for i := 0; i < len(s); {
		c := s[i]
		var u unit
		if c < utf8.RuneSelf {
			u = unit{s: asciiFold[c], start: int32(i), end: int32(i + 1), cls: asciiClass[c]}
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			u = unit{start: int32(i), end: int32(i + size)}
			i += size
			if r == utf8.RuneError && size == 1 {
				u.s, u.cls = " ", classSpace // invalid UTF-8 separates words
			} else if mark := voicedMark(r); mark != 0 && len(units) > 0 && units[len(units)-1].cls == classCJK {
				// A kana and its separate voiced mark (ｿﾞ): one character.
				last := &units[len(units)-1]
				if composed := norm.NFC.String(last.s + string(mark)); utf8.RuneCountInString(composed) == 1 {
					last.s, last.end = composed, u.end
					continue
				}
				u.cls, u.s = n.table.lookup(r)
			} else {
				u.cls, u.s = n.table.lookup(r)
				switch u.cls {
				case classHan:
					buf.hasHan = true
				case classEmoji, classOther:
					if name, ok := n.emoji[r]; ok {
						u.s, u.cls = name, classEmoji
						buf.hasEmojiName = true
					}
				}
			}
		}
		units = append(units, u)
		if u.cls == classDrop {
			continue
		}
		if u.cls == classOther && len(u.s) == 1 && leetLetter[u.s[0]] != 0 && prev == classLetter ||
			u.cls == classLetter && prev == classOther && len(units) > 1 && len(units[len(units)-2].s) == 1 && leetLetter[units[len(units)-2].s[0]] != 0 {
			buf.maybeLeet = true
		}
		switch {
		case u.cls == classDigit && prev == classLetter, u.cls == classLetter && prev == classDigit:
			buf.maybeLeet = true
		case (u.cls == classSpace || u.cls == classOther) && prev == classLetter && !isWordClass(prev2):
			needSpread = true
		case (u.cls == classSpace || u.cls == classOther) && isUnspaced(prev):
			needUnspaced = true
		}
		prev2, prev = prev, u.cls
	}
	buf.units = units
	if needSpread {
		joinSpreadLetters(units)
	}
	if needUnspaced {
		joinSpreadUnspaced(units)
	}
	emit(units, buf)
}

// voicedMark returns the combining kana voiced or semi-voiced sound mark
// that r is or stands for, or 0.
func voicedMark(r rune) rune {
	switch r {
	case 0x3099, 0xFF9E, 0x309B:
		return 0x3099
	case 0x309A, 0xFF9F, 0x309C:
		return 0x309A
	}
	return 0
}

// next returns the index of the first unit at or after i that is not
// dropped, or len(units).
func next(units []unit, i int) int {
	for i < len(units) && units[i].cls == classDrop {
		i++
	}
	return i
}

func isWordClass(c uint8) bool { return c == classLetter || c == classDigit }

// minSpread is the fewest letters that make a spread-out word with the
// separator sep: three with white space (a b testing stays), two with
// symbols (d*e, t.ê).
func minSpread(sep string) int {
	if strings.TrimSpace(sep) == "" {
		return 3
	}
	return 2
}

// isSeparator reports whether u may stand between letters spread out to
// hide a word: white space or ASCII punctuation, except the symbols that
// stand for letters (h!u is leetspeak, not spread out).
func isSeparator(u *unit) bool {
	if u.cls == classSpace || (u.cls == classOther && len(u.s) == 1 && u.s[0] < utf8.RuneSelf && leetLetter[u.s[0]] == 0) {
		return true
	}
	switch u.s {
	case "·", "・", "•", "‧", "∙", "⋅", "°", "～", "〜":
		return true
	}
	return false
}

// separatorRun returns the end of the run of separators starting at i (at
// most three, dropped units inside), and its folded text.
func separatorRun(units []unit, i int) (end int, sep string) {
	n := 0
	for end = i; end < len(units); end++ {
		u := &units[end]
		if u.cls == classDrop {
			continue
		}
		if !isSeparator(u) || n == 3 {
			break
		}
		sep += u.s
		n++
	}
	return end, sep
}

// singleLetter reports whether the unit at i is a letter standing alone:
// no letter or digit right before or after it.
func singleLetter(units []unit, i int) bool {
	if units[i].cls != classLetter || len(units[i].s) != 1 {
		return false
	}
	for p := i - 1; p >= 0; p-- {
		if units[p].cls != classDrop {
			if isWordClass(units[p].cls) {
				return false
			}
			break
		}
	}
	nx := next(units, i+1)
	return nx == len(units) || !isWordClass(units[nx].cls)
}

// joinSpreadLetters removes the separators of letters spread out with one
// and the same separator: i.v.o.r.y, i v o r y, r-h-i-n-o h-o-r-n (two words).
// It needs three letters spread with spaces, two with other separators
// (d*e).
func joinSpreadLetters(units []unit) {
	for i := 0; i < len(units); i++ {
		if !singleLetter(units, i) {
			continue
		}
		letters := []int{i}
		var seps [][2]int
		sep0 := ""
		j := i
		for {
			end, sep := separatorRun(units, j+1)
			if sep == "" || end >= len(units) || !singleLetter(units, end) {
				break
			}
			if sep0 == "" {
				sep0 = sep
			} else if sep != sep0 {
				break
			}
			seps = append(seps, [2]int{j + 1, end})
			letters = append(letters, end)
			j = end
		}
		if len(letters) < minSpread(sep0) {
			continue // a later letter may start a run of its own
		}
		for _, sp := range seps {
			for k := sp[0]; k < sp[1]; k++ {
				units[k].skip = true
			}
		}
		i = j
	}
}

// isUnspaced reports whether a class belongs to a script written without
// spaces between words: Han, kana, Thai and the like.
func isUnspaced(cls uint8) bool { return cls == classHan || cls == classCJK }

// joinSpreadUnspaced removes separators inside words of scripts written
// without spaces: symbols between any two characters (象*牙, 虎·の·牙,
// ง.า.ช้.า.ง), white space only between characters standing alone (象 牙 手 镯),
// since Chinese titles separate words with spaces (海马 玩具 洗澡 must not
// read 马玩, 具洗). Punctuation that ends a clause (，。、；：！？) stays.
func joinSpreadUnspaced(units []unit) {
	for i := 0; i < len(units); i++ {
		if !isUnspaced(units[i].cls) {
			continue
		}
		end, sep := separatorRun(units, i+1)
		if sep == "" || end >= len(units) || !isUnspaced(units[end].cls) || strings.ContainsAny(sep, ",;:!?") {
			continue
		}
		if strings.TrimSpace(sep) == "" && !(aloneBefore(units, i) && aloneAfter(units, end)) {
			continue
		}
		for k := i + 1; k < end; k++ {
			units[k].skip = true
		}
		i = end - 1
	}
}

// isMark reports whether a unit is a combining mark, part of the character
// before it (Thai vowels and tones).
func isMark(u *unit) bool {
	r, _ := utf8.DecodeRuneInString(u.s)
	return unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)
}

// aloneBefore reports whether the character ending at unit i has no
// character of its script right before it (ignoring its own marks).
func aloneBefore(units []unit, i int) bool {
	for i >= 0 && (units[i].cls == classDrop || isMark(&units[i])) {
		i--
	}
	for p := i - 1; p >= 0; p-- {
		if units[p].cls == classDrop {
			continue
		}
		return !isUnspaced(units[p].cls) || units[p].skip
	}
	return true
}

// aloneAfter reports whether the character starting at unit i has no
// character of its script right after it (ignoring its own marks).
func aloneAfter(units []unit, i int) bool {
	for n := i + 1; n < len(units); n++ {
		if units[n].cls == classDrop || isMark(&units[n]) {
			continue
		}
		return !isUnspaced(units[n].cls)
	}
	return true
}

// emit writes the folded text with its offsets: white space collapsed,
// repeated Latin letters collapsed.
func emit(units []unit, buf *Buffer) {
	want := 4 * len(units)
	if cap(buf.folded) < want {
		buf.folded, buf.fstart, buf.fend = make([]byte, want), make([]int32, want), make([]int32, want)
	}
	out, st, en := buf.folded[:cap(buf.folded)], buf.fstart[:cap(buf.folded)], buf.fend[:cap(buf.folded)]
	n := 0
	lastLetter := false // the last byte written came from a one-byte letter unit
	for k := range units {
		u := &units[k]
		if u.cls == classDrop || u.skip {
			continue
		}
		switch {
		case u.cls == classSpace:
			if n > 0 && out[n-1] != ' ' {
				out[n], st[n], en[n] = ' ', u.start, u.end
				n++
			}
			lastLetter = false
			continue
		case u.cls == classLetter && len(u.s) == 1 && lastLetter && out[n-1] == u.s[0]:
			en[n-1] = u.end // a repeated letter: widen the last byte's source
			continue
		}
		if n+len(u.s) > len(out) {
			size := 2*len(out) + len(u.s)
			out, st, en = append(out[:n], make([]byte, size-n)...), append(st[:n], make([]int32, size-n)...), append(en[:n], make([]int32, size-n)...)
		}
		for b := 0; b < len(u.s); b++ {
			if u.s[b] == ' ' && (n == 0 || out[n-1] == ' ') {
				continue // an emoji name next to white space
			}
			out[n], st[n], en[n] = u.s[b], u.start, u.end
			n++
		}
		lastLetter = u.cls == classLetter && len(u.s) == 1
	}
	buf.folded, buf.fstart, buf.fend = out[:n], st[:n], en[:n]
}

// pinyinView writes the folded view with each Han ideograph replaced by its
// toneless pinyin and a space on each side.
func (n *Normalizer) pinyinView(buf *Buffer) {
	f := buf.folded
	// A Han character (3 bytes) becomes at most 6 letters and 2 spaces.
	size := 3*len(f) + 2
	if cap(buf.pinyin) < size {
		buf.pinyin, buf.pstart, buf.pend = make([]byte, size), make([]int32, size), make([]int32, size)
	}
	out, st, en := buf.pinyin[:size], buf.pstart[:size], buf.pend[:size]
	w := 0
	for i := 0; i < len(f); {
		r, n1 := rune(f[i]), 1
		if f[i] >= utf8.RuneSelf {
			r, n1 = utf8.DecodeRune(f[i:])
		}
		py := n.table.pinyinOf(r)
		if py == "" {
			if f[i] == ' ' {
				// A word boundary of the text: unlike the spaces between
				// syllables, no pinyin match may cross it.
				if w > 0 && out[w-1] == ' ' {
					out[w-1] = '|'
				} else {
					out[w], st[w], en[w] = '|', buf.fstart[i], buf.fend[i]
					w++
				}
				i++
				continue
			}
			for b := i; b < i+n1; b++ {
				out[w], st[w], en[w] = f[b], buf.fstart[b], buf.fend[b]
				w++
			}
			i += n1
			continue
		}
		s0, e0 := buf.fstart[i], buf.fend[i+n1-1]
		if w > 0 && out[w-1] != ' ' && out[w-1] != '|' {
			out[w], st[w], en[w] = ' ', s0, s0
			w++
		}
		for b := 0; b < len(py); b++ {
			out[w], st[w], en[w] = py[b], s0, e0
			w++
		}
		out[w], st[w], en[w] = ' ', s0, e0 // starts where its syllable starts, so starts never go back
		w++
		i += n1
	}
	buf.pinyin, buf.pstart, buf.pend = out[:w], st[:w], en[:w]
}
