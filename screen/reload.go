package screen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sort"
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
	cur  atomic.Pointer[build]
	mu   sync.Mutex // serializes Apply
	// refused holds the stored additions the detector refused although
	// CheckAddition let them through, by ID, with why. A stored addition
	// never changes and later ones come after it, so the refusal stands:
	// a later Apply passes it over without searching for it again.
	refused map[string]error
}

// build is an engine and what it made of the additions it was given.
type build struct {
	engine *Engine
	given  []string // the IDs of the additions, in order
	// applied holds the IDs of those the engine was built with, in order.
	applied []string
	skipped []SkippedAddition
}

// SkippedAddition is an addition the engine was built without because its
// knowledge base refuses it: a category or taxon that this --kb lacks, a
// cue it does not know, a pattern the detector cannot compile.
type SkippedAddition struct {
	ID  string
	Err error
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
	r := &Reloadable{base: base, opts: opts, refused: map[string]error{}}
	r.cur.Store(&build{engine: e})
	return r, nil
}

// Current returns the engine in use now.
func (r *Reloadable) Current() *Engine { return r.cur.Load().engine }

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

// Additions reports what the current engine made of the additions it was
// last given: the IDs of those it was built with, and those it skipped
// with why, in the order given.
func (r *Reloadable) Additions() (applied []string, skipped []SkippedAddition) {
	b := r.cur.Load()
	return slices.Clone(b.applied), slices.Clone(b.skipped)
}

// Check reports whether the engine would take the addition after those
// it has: CheckAddition against the base knowledge base, then a build of
// the detector with it (which compiles what CheckAddition cannot judge
// alone). The console checks an addition so before storing it.
func (r *Reloadable) Check(a *wildwarden.KBAddition) error {
	if err := CheckAddition(r.base, a); err != nil {
		return err
	}
	return compiles(r.KB(), []wildwarden.KBAddition{*a})
}

// Apply rebuilds the engine from the base knowledge base plus the given
// additions (the whole list, not only new ones) and swaps it in. The
// additions apply one by one, in order: one the knowledge base refuses is
// skipped (Additions says why) and the others still apply, so one bad
// addition cannot hold back those after it. An error says the engine
// could not be built even so (its policy file, say); the current engine
// stays. A stored addition never changes, so when the additions, or those
// taken, have the IDs of the current engine's, in the same order, the
// current engine stays too: a replica that learns of the additions it
// made itself, or of one it refuses, does not build again.
func (r *Reloadable) Apply(adds []wildwarden.KBAddition) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.cur.Load()
	if ids := additionIDs(adds); slices.Equal(ids, cur.given) && !slices.Contains(ids, "") {
		return nil
	}
	refused := make([]error, len(adds))
	for i := range adds {
		if refused[i] = r.refused[adds[i].ID]; refused[i] == nil {
			refused[i] = CheckAddition(r.base, &adds[i])
		}
	}
	taken, next := sift(adds, refused)
	if slices.Equal(next.applied, cur.applied) && !slices.Contains(next.applied, "") {
		next.engine = cur.engine
		r.cur.Store(next)
		return nil
	}
	e, err := r.engineWith(taken)
	if err != nil {
		// The detector may refuse what CheckAddition let through: find
		// those, and build without them.
		r.findRefused(adds, refused)
		taken, next = sift(adds, refused)
		if e, err = r.engineWith(taken); err != nil {
			return err
		}
	}
	next.engine = e
	r.cur.Store(next)
	return nil
}

// sift splits adds into those taken and those refused (refused[i] says
// why), and returns the taken ones and a build, without its engine, that
// records both.
func sift(adds []wildwarden.KBAddition, refused []error) ([]wildwarden.KBAddition, *build) {
	b := &build{given: additionIDs(adds)}
	var taken []wildwarden.KBAddition
	for i, a := range adds {
		if refused[i] != nil {
			b.skipped = append(b.skipped, SkippedAddition{ID: a.ID, Err: refused[i]})
			continue
		}
		taken = append(taken, a)
		b.applied = append(b.applied, a.ID)
	}
	return taken, b
}

// findRefused sets refused[i] for each addition not refused yet that the
// detector refuses, and remembers the stored ones. An addition that does
// not compile spoils every longer list of additions too, so the first one
// ends the shortest list the detector refuses, which a binary search
// finds: a few compiles per refused addition, however many were added.
func (r *Reloadable) findRefused(adds []wildwarden.KBAddition, refused []error) {
	for {
		var taken []wildwarden.KBAddition
		var index []int
		for i, a := range adds {
			if refused[i] == nil {
				taken, index = append(taken, a), append(index, i)
			}
		}
		errs := map[int]error{}
		fails := func(n int) bool {
			errs[n] = compiles(r.base, taken[:n])
			return errs[n] != nil
		}
		if len(taken) == 0 || !fails(len(taken)) {
			return
		}
		n := sort.Search(len(taken), func(i int) bool { return fails(i + 1) }) + 1
		i := index[n-1]
		refused[i] = errs[n]
		if adds[i].ID != "" {
			r.refused[adds[i].ID] = errs[n]
		}
	}
}

// newDetector builds the detector of a knowledge base. CheckAddition
// judges everything detect.New is known to refuse today, so the detector's
// own refusal is a safety net for what the two may come to disagree on;
// tests replace newDetector to reach it.
var newDetector = detect.New

// compiles reports whether the detector compiles with the additions over
// k, which CheckAddition has taken already.
func compiles(k *kb.KB, adds []wildwarden.KBAddition) error {
	with, err := WithAdditions(k, adds)
	if err != nil {
		return err
	}
	if _, err := newDetector(with); err != nil {
		return wildwarden.Errorf(wildwarden.EINVALID, "text", "the detector cannot compile it: %v", err)
	}
	return nil
}

// engineWith builds an engine of the base knowledge base with adds.
func (r *Reloadable) engineWith(adds []wildwarden.KBAddition) (*Engine, error) {
	k, err := WithAdditions(r.base, adds)
	if err != nil {
		return nil, err
	}
	e, err := NewFromKB(k, r.opts)
	if err != nil {
		return nil, fmt.Errorf("screen: rebuild with additions: %w", err)
	}
	return e, nil
}

func additionIDs(adds []wildwarden.KBAddition) []string {
	ids := make([]string, len(adds))
	for i, a := range adds {
		ids[i] = a.ID
	}
	return ids
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
