package text

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Plain returns s as a person would read it: lower case, diacritics
// removed, Traditional Han as Simplified, katakana as hiragana, hyphens as
// spaces, white space collapsed, but none of the folded view's defences
// against tricks. A match whose original text is not Plain-equal to its term
// was hidden by a trick (look-alike letters, full-width letters, separators,
// leetspeak, invisible characters, repeated letters).
func Plain(n *Normalizer, s string) string {
	var b strings.Builder
	space := true
	for _, r := range norm.NFD.String(s) {
		switch {
		case isDiacritic(r):
			continue
		case r == '-' || unicode.IsSpace(r):
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		if r >= 0x3400 && r < 0x10000 && n.table.class[r] == classHan {
			r, _ = utf8.DecodeRuneInString(n.table.folded[r])
		} else if r >= 0x30A1 && r <= 0x30F6 {
			r -= 0x60
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.TrimRight(norm.NFC.String(b.String()), " ")
}
