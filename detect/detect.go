// Package detect finds the evidence in a listing: knowledge-base terms on
// each normalized view (one automaton per view), and the context cues
// around them. It turns raw matches into named signals with evidence a
// reviewer can check: field, view, original span and characters, matched
// term, category and species.
//
// The detector knows no term: everything it matches comes from the
// knowledge base. It does no I/O and is safe for concurrent use.
package detect

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/wildwarden/wildwarden/kb"
	"github.com/wildwarden/wildwarden/match"
	"github.com/wildwarden/wildwarden/text"
	"golang.org/x/sync/errgroup"
)

// Signal names emitted by the detector.
const (
	SigProduct     = "lexicon.product"
	SigCodeWord    = "lexicon.code_word"
	SigAnimal      = "lexicon.animal"
	SigAnimalPart  = "lexicon.animal_part"
	SigHomophone   = "lexicon.homophone"
	SigPinyin      = "lexicon.pinyin"
	SigObfuscated  = "evasion.obfuscated"
	SigSaleIntent  = "context.sale_intent"
	SigPrice       = "context.price"
	SigContact     = "context.contact"
	SigLive        = "context.live"
	SigImitation   = "context.imitation"
	SigColourUse   = "context.colour_use"
	SigFalseFriend = "context.false_friend"
	SigLawful      = "context.lawful"
	SigAltMaterial = "context.alt_material"
	SigNews        = "context.news"
	SigAuthentic   = "context.authentic"
	SigEvasion     = "context.evasion_claim"
	SigNoPapers    = "context.no_papers"
)

// cueSignal names the signal of each cue that becomes one.
var cueSignal = map[string]string{
	kb.CueSaleIntent:   SigSaleIntent,
	kb.CuePrice:        SigPrice,
	kb.CueContact:      SigContact,
	kb.CueLive:         SigLive,
	kb.CueImitation:    SigImitation,
	kb.CueColourPhrase: SigColourUse,
	kb.CueFalseFriend:  SigFalseFriend,
	kb.CueLawful:       SigLawful,
	kb.CueAltMaterial:  SigAltMaterial,
	kb.CueNews:         SigNews,
	kb.CueAuthentic:    SigAuthentic,
	kb.CueEvasionClaim: SigEvasion,
}

// Window is how far apart, in bytes of the folded view, an animal and a
// part word (tiger … bone) or a colour word and its context (ivory … lace)
// may stand to be read together.
const Window = 24

// pattern is one compiled form of a term or a term cue.
type pattern struct {
	term       int // index into KB.Terms, or -1
	cue        int // index into KB.Cues, or -1
	boundStart bool
	boundEnd   bool
	pinyin     bool // the pinyin form of a Chinese term
	syllables  int  // of a pinyin form: three or more seldom collide by chance
}

// Detector finds signals in listings. Build one with New and share it.
type Detector struct {
	kb         *kb.KB
	norm       *text.Normalizer
	folded     *match.Automaton
	foldedPats []pattern        // patterns of ASCII bytes
	wide       *match.Automaton // folded-view patterns with other bytes
	widePats   []pattern
	pinyin     *match.Automaton
	pinyinPats []pattern
	typed      *match.Automaton // pinyin typed in Latin letters
	typedPats  []pattern
	regexes    *regexSet
	termPlain  []string // Plain form of each term
	offerCue   []int8   // cue index → index in offerCues, or -1
	cueSignal  []string // cue index → the signal it becomes, or ""
}

// offerCues are the cues whose repetitions add nothing.
var offerCues = [...]string{kb.CueSaleIntent, kb.CuePrice, kb.CueContact, kb.CueLive}

// New compiles the knowledge base into a detector.
func New(k *kb.KB) (*Detector, error) {
	d := &Detector{kb: k, norm: text.New(text.Options{Emoji: k.Emoji})}
	var folded, pinyin, typed [][]byte
	seen := map[string]bool{}
	addFolded := func(form string, p pattern) {
		// The automata read '-' as ' ' (see wordJoiners): one form stands
		// for both.
		form = strings.TrimSpace(strings.ReplaceAll(form, "-", " "))
		key := fmt.Sprintf("%s\x00%d\x00%d\x00%v", form, p.term, p.cue, p.pinyin)
		if form == "" || seen[key] {
			return
		}
		seen[key] = true
		first, _ := utf8.DecodeRuneInString(form)
		last, _ := utf8.DecodeLastRuneInString(form)
		p.boundStart = p.boundStart || isWordRune(first)
		p.boundEnd = p.boundEnd || isWordRune(last)
		if p.pinyin {
			// Typed pinyin has an automaton of its own, run only on
			// listings that may be Chinese: it keeps the main table small.
			typed = append(typed, []byte(form))
			d.typedPats = append(d.typedPats, p)
			return
		}
		folded = append(folded, []byte(form))
		d.foldedPats = append(d.foldedPats, p)
	}
	addForms := func(s string, p pattern, prefix bool) {
		f := text.Fold(d.norm, s)
		addFolded(f, p)
		if strings.Contains(f, " ") {
			// rhino horn (and rhino-horn, the same to the automaton),
			// rhinohorn
			addFolded(text.Fold(d.norm, strings.ReplaceAll(f, " ", "")), p)
		}
		if prefix {
			d.foldedPats[len(d.foldedPats)-1].boundEnd = false
		}
	}
	// addPinyin adds the pinyin forms of a Chinese term or cue: in the
	// pinyin view (homophones such as 象芽) and typed in Latin letters
	// (xiangya, xiang ya).
	addPinyin := func(s string, p pattern) {
		if !allHan(s) || utf8.RuneCountInString(s) < 2 {
			return
		}
		py := strings.TrimSpace(text.Pinyin(d.norm, s))
		if len(py) < 5 {
			return // one-syllable pairs collide with too many words
		}
		p.pinyin, p.boundStart, p.boundEnd = true, true, true
		p.syllables = len(strings.Fields(py))
		pinyin = append(pinyin, []byte(py))
		d.pinyinPats = append(d.pinyinPats, p)
		p.boundStart, p.boundEnd = false, false
		for _, typed := range pinyinSpellings(py) {
			addFolded(typed, p)
		}
	}
	for i, t := range k.Terms {
		d.termPlain = append(d.termPlain, text.Plain(d.norm, t.Text))
		before := len(d.foldedPats)
		addForms(t.Text, pattern{term: i, cue: -1}, false)
		if t.Prefix {
			for j := before; j < len(d.foldedPats); j++ {
				d.foldedPats[j].boundEnd = false
			}
		}
		if t.Kind != kb.KindPart {
			addPinyin(t.Text, pattern{term: i, cue: -1})
		}
	}
	var regexes []regexCue
	for i, c := range k.Cues {
		kind := int8(-1)
		for j, name := range offerCues {
			if c.Cue == name {
				kind = int8(j)
			}
		}
		d.offerCue = append(d.offerCue, kind)
		d.cueSignal = append(d.cueSignal, cueSignal[c.Cue])
		if c.Regex {
			rc, err := newRegexCue(i, c.Pattern)
			if err != nil {
				return nil, fmt.Errorf("detect: %s: %w", c.Source, err)
			}
			regexes = append(regexes, rc)
			continue
		}
		addForms(c.Pattern, pattern{term: -1, cue: i}, false)
		if (c.Cue == kb.CueFalseFriend || c.Cue == kb.CueColourPhrase) && allHan(c.Pattern) {
			// Chinese titles put spaces between words: 鹤顶红 金鱼 is still
			// the goldfish.
			runes := []rune(c.Pattern)
			for cut := 1; cut < len(runes) && len(runes) <= 8; cut++ {
				addFolded(text.Fold(d.norm, string(runes[:cut])+" "+string(runes[cut:])), pattern{term: -1, cue: i})
			}
		}
		if (c.Cue == kb.CueFalseFriend || c.Cue == kb.CueColourPhrase) && allHan(c.Pattern) && utf8.RuneCountInString(c.Pattern) >= 2 {
			// A brand or idiom typed in pinyin (xiangya yiyuan) masks the
			// typed pinyin of the terms inside it. In the pinyin view it
			// would mask every homophone of them, so it is not added there:
			// there the Han false friend itself masks.
			if py := strings.TrimSpace(text.Pinyin(d.norm, c.Pattern)); len(py) >= 5 {
				for _, typed := range pinyinSpellings(py) {
					addFolded(typed, pattern{term: -1, cue: i, pinyin: true})
				}
			}
		}
	}
	d.regexes = newRegexSet(regexes)
	// Patterns of ASCII bytes only and the others get an automaton each:
	// the tables stay small enough for the cache, and text with no byte
	// above ASCII (most Latin-script text, once folded) needs only the
	// first.
	var narrow, wide [][]byte
	var narrowPats, widePats []pattern
	for i, form := range folded {
		if isASCIIBytes(form) {
			narrow, narrowPats = append(narrow, form), append(narrowPats, d.foldedPats[i])
		} else {
			wide, widePats = append(wide, form), append(widePats, d.foldedPats[i])
		}
	}
	d.foldedPats, d.widePats = narrowPats, widePats
	// The automata are built at once, each on its own goroutine: they are
	// most of a command's start-up. Every pattern of the folded view that
	// begins with a letter or digit must begin a word (boundStart): the
	// ASCII automata can skip the rest of a word that no pattern continues.
	var g errgroup.Group
	build := func(dst **match.Automaton, name string, patterns [][]byte, o match.Options) {
		g.Go(func() error {
			a, err := match.BuildWith(patterns, o)
			if err != nil {
				return fmt.Errorf("detect: %s automaton: %w", name, err)
			}
			*dst = a
			return nil
		})
	}
	build(&d.folded, "folded", narrow, wholeWords)
	build(&d.wide, "folded (wide)", wide, wordJoiners)
	build(&d.pinyin, "pinyin", pinyin, match.Options{})
	build(&d.typed, "typed pinyin", typed, match.Options{WordBytes: asciiWordBytes})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return d, nil
}

// wordJoiners are the bytes the folded-view automata do not tell apart:
// a space and a hyphen between two words (rhino horn, rhino-horn). One
// pattern for both keeps the tables a third smaller.
var wordJoiners = match.Options{Equivalent: [][]byte{[]byte(" -")}}

// asciiWordBytes are the bytes of words in the ASCII automata, as
// isWordRune reads them.
var asciiWordBytes = []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

// wholeWords are the options of the ASCII folded-view automaton.
var wholeWords = match.Options{Equivalent: wordJoiners.Equivalent, WordBytes: asciiWordBytes}

// Normalizer returns the normalizer the detector builds its views with.
func (d *Detector) Normalizer() *text.Normalizer { return d.norm }

// Patterns returns the number of compiled patterns per view, for reports:
// the folded view's (typed pinyin included) and the pinyin view's.
func (d *Detector) Patterns() (folded, pinyin int) {
	return len(d.foldedPats) + len(d.widePats) + len(d.typedPats), len(d.pinyinPats)
}

// isWordRune reports whether r belongs to a script that separates words with
// spaces, so a match must begin and end at a word boundary.
func isWordRune(r rune) bool {
	switch {
	case r < 0x80:
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	case r >= 0xC0 && r <= 0x24F: // Latin-1 letters, Latin Extended
		return r != 0xD7 && r != 0xF7
	case r >= 0x370 && r <= 0x52F: // Greek, Cyrillic
		return true
	case r >= 0x1E00 && r <= 0x1EFF: // Latin Extended Additional (Vietnamese)
		return true
	}
	return false
}

// pinyinSpellings returns the ways pinyin syllables are typed: joined,
// apart, and (up to five syllables) every grouping in between, since people
// type pinyin word by word (xiangya yiyuan).
func pinyinSpellings(py string) []string {
	syl := strings.Fields(py)
	if len(syl) > 5 {
		return []string{strings.Join(syl, ""), strings.Join(syl, " ")}
	}
	var out []string
	for mask := 0; mask < 1<<(len(syl)-1); mask++ {
		var b strings.Builder
		for i, s := range syl {
			if i > 0 && mask&(1<<(i-1)) != 0 {
				b.WriteByte(' ')
			}
			b.WriteString(s)
		}
		out = append(out, b.String())
	}
	return out
}

func isASCIIBytes(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func allHan(s string) bool {
	for _, r := range s {
		if r < 0x3400 || r > 0x9FFF {
			return false
		}
	}
	return s != ""
}

// wordByteBefore reports whether the view has a word character right before
// byte i.
func wordByteBefore(b []byte, i int) bool {
	if i <= 0 {
		return false
	}
	r, _ := utf8.DecodeLastRune(b[:i])
	return isWordRune(r)
}

func wordByteAt(b []byte, i int) bool {
	if i >= len(b) {
		return false
	}
	r, _ := utf8.DecodeRune(b[i:])
	return isWordRune(r)
}
