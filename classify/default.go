package classify

import (
	_ "embed"
	"fmt"
	"sync"
)

// defaultModel is the model trained on the project's own labelled data
// (classify/traindata/train.jsonl, written by classify/internal/gendata
// from hand-written templates). Rebuild both, reproducibly, with
// `go generate ./classify`; the same sources, knowledge base and seed give
// the same bytes. The hand-written posts of classify/traindata/posts are
// not in it: docs/QUALITY.md has the measurements behind that choice.
//
//go:generate go run ./internal/gendata -seeds internal/gendata/seeds.tsv -o traindata/train.jsonl -seed 1
//go:generate go run ../cmd/wildwarden train --data traindata/train.jsonl --seed 1 -o model/default.ww
//go:embed model/default.ww
var defaultModel []byte

var decodeDefault = sync.OnceValues(func() (*Model, error) {
	if len(defaultModel) == 0 {
		return nil, nil
	}
	m, err := Decode(defaultModel)
	if err != nil {
		return nil, fmt.Errorf("classify: default model: %w", err)
	}
	return m, nil
})

// Default returns a fresh copy of the embedded default model, or nil when
// the build has none. Bind it before scoring.
func Default() (*Model, error) {
	m, err := decodeDefault()
	if err != nil || m == nil {
		return nil, err
	}
	c := newModel(m.Header, m.weights, m.bias)
	c.version = m.version
	return c, nil
}
