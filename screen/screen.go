// Package screen is the screening engine: it wires the knowledge base, the
// detector, the scoring model and the policy into a wildwarden.Screener.
// It does no I/O after construction and is safe for concurrent use.
package screen

import (
	"context"
	"fmt"
	"sync"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/kb"
	"github.com/wildwarden/wildwarden/policy"
)

// Options choose the knowledge base, model and policy. The zero value uses
// the embedded defaults.
type Options struct {
	KBDir      string // a directory of knowledge-base files
	PolicyPath string // a policy YAML file
	// Scorer replaces the keyword model, e.g. with a learned classifier.
	Scorer policy.Scorer
	// DropAllowSignals makes allow verdicts list no signals (see
	// policy.DecideSignals): for bulk scans that show evidence only for
	// flagged listings.
	DropAllowSignals bool
}

// Engine screens listings.
type Engine struct {
	kb       *kb.KB
	detector *detect.Detector
	scorer   policy.Scorer
	policy   *policy.Policy
	scratch  sync.Pool
	// scorerReadsText: the scorer reads the normalized text (the learned
	// model), so the detector keeps its views for it.
	scorerReadsText bool
	allowSignals    bool // allow verdicts list their signals
}

// New builds an engine.
func New(opts Options) (*Engine, error) {
	k, err := kb.LoadDir(opts.KBDir)
	if err != nil {
		return nil, err
	}
	return NewFromKB(k, opts)
}

// NewFromKB builds an engine on a loaded knowledge base.
func NewFromKB(k *kb.KB, opts Options) (*Engine, error) {
	d, err := newDetector(k)
	if err != nil {
		return nil, err
	}
	cfg, err := policy.LoadConfig(opts.PolicyPath)
	if err != nil {
		return nil, err
	}
	e := &Engine{kb: k, detector: d, scorer: opts.Scorer, policy: policy.New(cfg, k), allowSignals: !opts.DropAllowSignals}
	if e.scorer == nil {
		e.scorer = policy.NewKeywordModel(k)
	}
	if r, ok := e.scorer.(interface{ ReadsText() bool }); ok {
		e.scorerReadsText = r.ReadsText()
	}
	e.scratch.New = func() any { return new(detect.Scratch) }
	return e, nil
}

// KB returns the engine's knowledge base.
func (e *Engine) KB() *kb.KB { return e.kb }

// Detector returns the engine's detector.
func (e *Engine) Detector() *detect.Detector { return e.detector }

// Versions implements wildwarden.Screener.
func (e *Engine) Versions() (kbVersion, modelVersion string) {
	return e.kb.Version, e.scorer.Version()
}

// Screen implements wildwarden.Screener.
func (e *Engine) Screen(ctx context.Context, l *wildwarden.Listing) (*wildwarden.Verdict, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if l == nil {
		return nil, fmt.Errorf("screen: %w", wildwarden.Errorf(wildwarden.EINVALID, "", "no listing"))
	}
	return e.ScreenListing(l), nil
}

// ScreenListing screens one listing; the fast path for callers without a
// context.
func (e *Engine) ScreenListing(l *wildwarden.Listing) *wildwarden.Verdict {
	return e.ScreenWith(l, nil)
}

// ScreenWith screens a listing with evidence found outside its text, such
// as an image matching a hash bank or a user report. The extra evidence is
// scored with the rest: its signal names are features of the model
// (kb/data/weights.tsv for the keyword model).
func (e *Engine) ScreenWith(l *wildwarden.Listing, extra []detect.Evidence) *wildwarden.Verdict {
	sc := e.scratch.Get().(*detect.Scratch)
	sc.KeepViews = e.scorerReadsText
	f := e.detector.Detect(l, sc)
	f.Evidence = append(f.Evidence, extra...)
	score, contrib := e.scorer.Score(l, f)
	v := e.policy.DecideSignals(l, f, score, contrib, e.allowSignals)
	e.scratch.Put(sc) // the findings are copied into the verdict
	v.KBVersion, v.ModelVersion = e.Versions()
	return v
}
