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
	return dropSpacesBetweenUnspaced(strings.TrimRight(norm.NFC.String(b.String()), " "))
}

// dropSpacesBetweenUnspaced removes spaces next to characters of scripts
// written without spaces: a space between Chinese words is style, not a
// trick (红木 家具).
func dropSpacesBetweenUnspaced(s string) string {
	if !strings.Contains(s, " ") {
		return s
	}
	runes := []rune(s)
	out := runes[:0]
	for i, r := range runes {
		if r == ' ' && (i > 0 && unspacedRune(runes[i-1]) || i+1 < len(runes) && unspacedRune(runes[i+1])) {
			continue
		}
		out = append(out, r)
	}
	return string(out)
}

func unspacedRune(r rune) bool {
	return r >= 0x0E00 && r <= 0x0EFF || r >= 0x2E80 && r <= 0x9FFF || r >= 0xF900 && r <= 0xFAFF
}
