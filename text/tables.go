package text

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/unicode/norm"
)

// Character classes of a folded rune. They drive the word-level rules
// (separators inside words, leetspeak, repeated letters) and word
// boundaries in matching.
const (
	classOther  uint8 = iota // punctuation and symbols
	classDrop                // format characters, combining diacritics: removed
	classSpace               // any white space
	classLetter              // a letter of an alphabetic script, folded
	classDigit               // 0-9
	classHan                 // a CJK ideograph (folded to Simplified)
	classCJK                 // kana, hangul and other letters of scripts without spaces
	classEmoji               // a pictograph
)

// foldTable is the per-rune folding of the Basic Multilingual Plane, derived
// once from Unicode data: NFKC with diacritics stripped, lower case,
// look-alike letters from other scripts mapped to Latin, Traditional Han to
// Simplified. It is immutable after construction and shared by every
// Normalizer.
type foldTable struct {
	class  [0x10000]uint8
	folded [0x10000]string // "" for dropped runes
	pinyin []string        // toneless pinyin of Han ideographs from pinyinFirst; "" when none
	// latin is the ASCII letter a Latin letter with diacritics folds to
	// (é → e, ừ → u), for the Latin fast path; 0 for any other rune.
	latin map[rune]byte
}

// sharedTable is decoded from the table generated at build time
// (foldtable.go): deriving it from the Unicode, Traditional-to-Simplified
// and pinyin data would cost every process start a tenth of a second.
var sharedTable = sync.OnceValue(func() *foldTable {
	t, err := decodeFoldTable(foldTableData)
	if err != nil {
		// The table is embedded at build time: a bad one is a build defect.
		panic("text: " + err.Error())
	}
	return t
})

// The range of Han ideographs that have a pinyin reading in the table.
const (
	pinyinFirst = 0x3400
	pinyinLast  = 0x9FFF
)

// pinyinOf returns the toneless pinyin of r, or "".
func (t *foldTable) pinyinOf(r rune) string {
	if r < pinyinFirst || r > pinyinLast {
		return ""
	}
	return t.pinyin[r-pinyinFirst]
}

// isDiacritic reports whether r is a combining mark used as a diacritic on
// alphabetic scripts. Marks that are vowels in Thai or Devanagari are not
// diacritics and are kept.
func isDiacritic(r rune) bool {
	return (r >= 0x0300 && r <= 0x036F) || (r >= 0x1AB0 && r <= 0x1AFF) ||
		(r >= 0x1DC0 && r <= 0x1DFF) || (r >= 0x20D0 && r <= 0x20FF) ||
		(r >= 0xFE20 && r <= 0xFE2F)
}

// isInvisible reports whether r is removed from every view: format
// characters (zero-width space and joiners, soft hyphen, bidi controls),
// variation selectors, emoji modifiers and tags.
func isInvisible(r rune) bool {
	switch {
	case unicode.Is(unicode.Cf, r):
		return true
	case r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF:
		return true
	case r >= 0x1F3FB && r <= 0x1F3FF: // skin tones
		return true
	case r >= 0xE0000 && r <= 0xE007F: // tags
		return true
	case r == 0x034F || r == 0x115F || r == 0x1160 || r == 0x3164 || r == 0xFFA0: // fillers
		return true
	}
	return false
}

// confusableScript reports whether look-alike letters of r's script are
// mapped to Latin. Scripts whose letters never stand in for Latin (Han,
// Kana, Thai, Hangul) are left alone.
func confusableScript(r rune) bool {
	return unicode.In(r, unicode.Latin, unicode.Cyrillic, unicode.Greek,
		unicode.Armenian, unicode.Cherokee, unicode.Coptic) ||
		(r >= 0x2100 && r <= 0x214F) || // letterlike symbols
		(r >= 0x1D400 && r <= 0x1D7FF) // mathematical alphanumerics
}

// foldRuneSlow folds one rune from first principles. It is used to build the
// table and for runes outside the Basic Multilingual Plane.
func foldRuneSlow(r rune) (uint8, string) {
	switch {
	case isInvisible(r) || isDiacritic(r):
		return classDrop, ""
	case unicode.IsSpace(r):
		return classSpace, " "
	case r < 0x80:
		switch {
		case r >= 'A' && r <= 'Z':
			return classLetter, string(r + 'a' - 'A')
		case r >= 'a' && r <= 'z':
			return classLetter, string(r)
		case r >= '0' && r <= '9':
			return classDigit, string(r)
		case r < 0x20 || r == 0x7F:
			return classSpace, " "
		}
		return classOther, string(r)
	}
	// Compatibility decomposition, without diacritics, recomposed.
	var b strings.Builder
	for _, d := range norm.NFKD.String(string(r)) {
		if !isDiacritic(d) && !isInvisible(d) {
			b.WriteRune(d)
		}
	}
	s := norm.NFKC.String(b.String())
	if s == "" {
		return classDrop, ""
	}
	s = strings.ToLower(s)
	// Letters with a stroke have no decomposition, but a reader sees the
	// base letter with a mark on it, as with any diacritic: Vietnamese
	// đồng is dong, Polish łój is loj.
	s = strokeLetters.Replace(s)
	// Look-alike letters from other scripts to their Latin skeleton.
	var out strings.Builder
	for _, c := range s {
		if c >= 0x80 && unicode.IsLetter(c) && confusableScript(c) {
			if sk := strings.ToLower(confusables.Skeleton(string(c))); isASCIIWord(sk) {
				out.WriteString(sk)
				continue
			}
		}
		out.WriteRune(c)
	}
	s = out.String()
	first, _ := utf8.DecodeRuneInString(s)
	switch {
	case isASCIIWord(s):
		if first >= '0' && first <= '9' && len(s) == 1 {
			return classDigit, s
		}
		return classLetter, s
	case unicode.Is(unicode.Han, first):
		return classHan, s
	case first == 0x30FC || first == 0x3005: // prolonged sound mark, ideographic iteration mark
		return classCJK, s
	case first >= 0x30A1 && first <= 0x30F6 && len(s) == len(string(first)):
		return classCJK, string(first - 0x60) // katakana to hiragana
	case unicode.In(first, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Thai,
		unicode.Lao, unicode.Khmer, unicode.Myanmar, unicode.Tibetan):
		return classCJK, s
	case unicode.IsLetter(first) || unicode.Is(unicode.Mn, first) || unicode.Is(unicode.Mc, first):
		return classLetter, s
	case unicode.IsDigit(first):
		return classDigit, s
	case unicode.IsSpace(first):
		return classSpace, " "
	case isPictograph(first):
		return classEmoji, s
	}
	return classOther, s
}

// strokeLetters folds the letters with a stroke or slash, which Unicode
// does not decompose, to their base letters.
var strokeLetters = strings.NewReplacer("đ", "d", "ł", "l", "ø", "o", "ħ", "h", "ŧ", "t", "ƀ", "b", "ɨ", "i", "ƶ", "z", "ǥ", "g")

// isPictograph reports whether r is an emoji-like pictograph.
func isPictograph(r rune) bool {
	return (r >= 0x1F300 && r <= 0x1FAFF) || (r >= 0x2600 && r <= 0x27BF) ||
		(r >= 0x1F000 && r <= 0x1F2FF) || r == 0x2B50 || r == 0x2B55
}

func isASCIIWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// lookup returns the class and folded form of r.
func (t *foldTable) lookup(r rune) (cls uint8, folded string) {
	if r < 0x10000 {
		return t.class[r], t.folded[r]
	}
	return foldRuneSlow(r)
}
