package screen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/kb"
)

// Reloadable is a screening engine whose knowledge base can grow while it
// serves: the admins' additions (code words and cues kept in the store)
// are applied over the base knowledge base and a new engine replaces the
// current one atomically. Screens in flight finish on the engine they
// started with. It is safe for concurrent use.
type Reloadable struct {
	base *kb.KB
	opts Options
	cur  atomic.Pointer[Engine]
	mu   sync.Mutex // serializes Apply
	// applied holds the IDs of the additions the current engine was built
	// with, in order.
	applied []string
}

// NewReloadable builds an engine from opts and wraps it.
func NewReloadable(opts Options) (*Reloadable, error) {
	base, err := kb.LoadDir(opts.KBDir)
	if err != nil {
		return nil, err
	}
	e, err := NewFromKB(base, opts)
	if err != nil {
		return nil, err
	}
	r := &Reloadable{base: base, opts: opts}
	r.cur.Store(e)
	return r, nil
}

// Current returns the engine in use now.
func (r *Reloadable) Current() *Engine { return r.cur.Load() }

// Base returns the knowledge base without additions.
func (r *Reloadable) Base() *kb.KB { return r.base }

// Screen implements wildwarden.Screener on the current engine.
func (r *Reloadable) Screen(ctx context.Context, l *wildwarden.Listing) (*wildwarden.Verdict, error) {
	return r.Current().Screen(ctx, l)
}

// ScreenListing screens on the current engine.
func (r *Reloadable) ScreenListing(l *wildwarden.Listing) *wildwarden.Verdict {
	return r.Current().ScreenListing(l)
}

// ScreenWith screens with extra evidence on the current engine.
func (r *Reloadable) ScreenWith(l *wildwarden.Listing, extra []detect.Evidence) *wildwarden.Verdict {
	return r.Current().ScreenWith(l, extra)
}

// Versions implements wildwarden.Screener.
func (r *Reloadable) Versions() (kbVersion, modelVersion string) { return r.Current().Versions() }

// KB returns the current knowledge base, additions included.
func (r *Reloadable) KB() *kb.KB { return r.Current().KB() }

// Apply rebuilds the engine from the base knowledge base plus all the
// given additions (the whole list, not only new ones) and swaps it in. On
// an error the current engine stays. A stored addition never changes, so
// when the additions have the IDs of the current engine's, in the same
// order, the current engine stays too: a replica that learns of the
// additions it made itself does not build again.
func (r *Reloadable) Apply(adds []wildwarden.KBAddition) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, len(adds))
	for i, a := range adds {
		ids[i] = a.ID
	}
	if slices.Equal(ids, r.applied) && !slices.Contains(ids, "") {
		return nil
	}
	k, err := WithAdditions(r.base, adds)
	if err != nil {
		return err
	}
	e, err := NewFromKB(k, r.opts)
	if err != nil {
		return fmt.Errorf("screen: rebuild with additions: %w", err)
	}
	r.cur.Store(e)
	r.applied = ids
	return nil
}

// cueNames are the cues an addition may name (see kb/README.md).
var cueNames = []string{kb.CueSaleIntent, kb.CuePrice, kb.CueContact, kb.CueImitation, kb.CueColourContext,
	kb.CueColourPhrase, kb.CueFalseFriend, kb.CueLawful, kb.CueAltMaterial, kb.CueNews, kb.CueLive,
	kb.CueNegation, kb.CueNegationAfter, kb.CueForm, kb.CueAuthentic, kb.CueEvasionClaim}

// CueNames lists the cue names an addition may use.
func CueNames() []string { return slices.Clone(cueNames) }

// CheckAddition validates an addition against a knowledge base, as the
// loader validates a row of terms.tsv or cues.tsv.
func CheckAddition(k *kb.KB, a *wildwarden.KBAddition) error {
	if a.Text == "" {
		return wildwarden.Errorf(wildwarden.EINVALID, "text", "is required")
	}
	if a.Note == "" {
		return wildwarden.Errorf(wildwarden.EINVALID, "note", "is required (its source, or why it is there)")
	}
	if a.Lang == "" {
		return wildwarden.Errorf(wildwarden.EINVALID, "lang", "is required (a BCP 47 tag, or und)")
	}
	switch a.Kind {
	case wildwarden.KBAddTerm:
		if _, ok := k.Categories[a.Category]; !ok {
			return wildwarden.Errorf(wildwarden.EINVALID, "category", "%q is not a category of the knowledge base", a.Category)
		}
		if a.Taxon != "" {
			if _, ok := k.Taxa[a.Taxon]; !ok {
				return wildwarden.Errorf(wildwarden.EINVALID, "taxon", "%q is not a taxon of the knowledge base", a.Taxon)
			}
		}
	case wildwarden.KBAddCue:
		if !slices.Contains(cueNames, a.Cue) {
			return wildwarden.Errorf(wildwarden.EINVALID, "cue", "%q is not a known cue", a.Cue)
		}
		if a.Regex {
			if _, err := regexp.Compile(a.Text); err != nil {
				return wildwarden.Errorf(wildwarden.EINVALID, "text", "not a valid regular expression: %v", err)
			}
		}
	default:
		return wildwarden.Errorf(wildwarden.EINVALID, "kind", "must be term or cue")
	}
	return nil
}

// WithAdditions returns a copy of base with the additions appended (code
// words to Terms, cues to Cues) and a version that names them. base is
// not changed.
func WithAdditions(base *kb.KB, adds []wildwarden.KBAddition) (*kb.KB, error) {
	k := *base
	k.Terms = slices.Clone(base.Terms)
	k.Cues = slices.Clone(base.Cues)
	if len(adds) == 0 {
		return &k, nil
	}
	digest := sha256.New()
	for i := range adds {
		a := &adds[i]
		if err := CheckAddition(base, a); err != nil {
			return nil, fmt.Errorf("screen: knowledge-base addition %s: %w", a.ID, err)
		}
		source := "addition:" + a.ID
		switch a.Kind {
		case wildwarden.KBAddTerm:
			k.Terms = append(k.Terms, kb.Term{Text: a.Text, Lang: a.Lang, Kind: kb.KindCode, Category: a.Category, Taxon: a.Taxon, Note: a.Note, Source: source})
		case wildwarden.KBAddCue:
			k.Cues = append(k.Cues, kb.Cue{Cue: a.Cue, Regex: a.Regex, Pattern: a.Text, Lang: a.Lang, Note: a.Note, Source: source})
		}
		fmt.Fprintf(digest, "%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%t\x00", a.Kind, a.Text, a.Lang, a.Category, a.Taxon, a.Cue, a.Note, a.Regex)
	}
	k.Version = fmt.Sprintf("%s+%d-%s", base.Version, len(adds), hex.EncodeToString(digest.Sum(nil))[:8])
	return &k, nil
}
