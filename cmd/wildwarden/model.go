package main

import (
	"fmt"

	"github.com/wildwarden/wildwarden/classify"
	"github.com/wildwarden/wildwarden/kb"
	"github.com/wildwarden/wildwarden/policy"
)

// Names --model takes besides a file.
const (
	modelKeyword = "keyword" // the knowledge base's hand-weighted keyword model
	modelLearned = "default" // the embedded learned classifier
)

// loadScorer returns the scoring model for --model: "" or "keyword" is the
// knowledge base's keyword model (nil: the engine's own), "default" the
// embedded learned classifier, anything else a model file. A learned model
// is bound to the knowledge base's normalizer, so it sees text as the
// detector does.
//
// The keyword model stays the default until the learned one does better on
// the project's own corpus at the policy's thresholds (docs/QUALITY.md has
// the figures of both).
func loadScorer(path, kbDir string) (policy.Scorer, error) {
	if path == "" || path == modelKeyword {
		return nil, nil
	}
	var m *classify.Model
	var err error
	if path == modelLearned {
		if m, err = classify.Default(); err != nil {
			return nil, fmt.Errorf("embedded model: %w", err)
		}
		if m == nil {
			return nil, fmt.Errorf("--model default: this build has no embedded model")
		}
	} else if m, err = classify.Load(path); err != nil {
		return nil, fmt.Errorf("--model: %w", err)
	}
	k, err := kb.LoadDir(kbDir)
	if err != nil {
		return nil, err
	}
	m.BindKB(k)
	return m, nil
}
