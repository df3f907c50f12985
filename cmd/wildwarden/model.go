package main

import (
	"fmt"

	"github.com/wildwarden/wildwarden/policy"
)

// loadScorer returns the scoring model for --model: nil (the engine's
// keyword model) when no file is named.
func loadScorer(path, kbDir string) (policy.Scorer, error) {
	if path == "" {
		return nil, nil
	}
	return nil, fmt.Errorf("--model %s: learned model files are not supported by this build yet", path)
}
