package main

import (
	"fmt"

	"github.com/wildwarden/wildwarden/classify"
	"github.com/wildwarden/wildwarden/kb"
	"github.com/wildwarden/wildwarden/policy"
)

// modelKeyword names the knowledge base's hand-weighted keyword model in
// --model.
const modelKeyword = "keyword"

// loadScorer returns the scoring model for --model: "keyword" is the
// knowledge base's keyword model (nil: the engine's own), "" the embedded
// default model, anything else a model file. A learned model is bound to
// the knowledge base's normalizer, so it sees text as the detector does.
func loadScorer(path, kbDir string) (policy.Scorer, error) {
	if path == modelKeyword {
		return nil, nil
	}
	var m *classify.Model
	var err error
	if path == "" {
		if m, err = classify.Default(); err != nil {
			return nil, fmt.Errorf("embedded model: %w", err)
		}
		if m == nil {
			return nil, nil // this build has no default model: keyword scoring
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
