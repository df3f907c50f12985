package detect

import (
	"regexp"
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// regexCue is the expression of a cue's regex rows, with a prefilter: the
// bytes a match can begin with. Most cue expressions begin with a digit, a
// currency sign or a few letters, so the expression runs anchored only at
// such bytes instead of over the whole text.
type regexCue struct {
	cue      int
	re       *regexp.Regexp
	anchored *regexp.Regexp
	first    *[256]bool // nil: any byte may begin a match
}

// regexWindow bounds the text an anchored cue expression looks at.
const regexWindow = 256

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
	var first [256]bool
	if nullable := firstBytes(parsed.Simplify(), &first); !nullable {
		rc.first = &first
		rc.anchored = regexp.MustCompile(`^(?:` + expr + `)`)
	}
	return rc, nil
}

// findAll calls fn with the span of each match in text.
func (rc *regexCue) findAll(text []byte, fn func(start, end int)) {
	if rc.first == nil {
		for _, loc := range rc.re.FindAllIndex(text, -1) {
			if loc[0] < loc[1] {
				fn(loc[0], loc[1])
			}
		}
		return
	}
	for i := 0; i < len(text); i++ {
		if !rc.first[text[i]] {
			continue
		}
		window := text[i:min(len(text), i+regexWindow)]
		if loc := rc.anchored.FindIndex(window); loc != nil && loc[1] > 0 {
			fn(i, i+loc[1])
			i += loc[1] - 1
		}
	}
}

// firstBytes adds to set the bytes a match of re can begin with, and
// reports whether re can match the empty string (then the set is not a
// complete prefilter).
func firstBytes(re *syntax.Regexp, set *[256]bool) (nullable bool) {
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

func addRune(set *[256]bool, r rune, fold bool) {
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
func addRange(set *[256]bool, lo, hi rune) {
	for lo <= hi {
		var buf [utf8.UTFMax]byte
		utf8.EncodeRune(buf[:], lo)
		set[buf[0]] = true
		// Jump to the next rune with a different first byte.
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
