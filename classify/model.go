package classify

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/kb"
	"github.com/wildwarden/wildwarden/policy"
	"github.com/wildwarden/wildwarden/text"
)

// FormatVersion is the version of the model file layout this build reads
// and writes.
const FormatVersion = 1

// magic starts every model file, before the gzip stream.
var magic = []byte("WWCLF\n")

// Limits on a model file, so a corrupt or hostile header cannot make the
// loader allocate without bound.
const (
	MinBits       = 10
	MaxBits       = 24
	maxHeaderSize = 1 << 20
)

// Header is the model file's metadata: how features are hashed, how raw
// scores become probabilities, the thresholds chosen at training time and
// how the model was trained.
type Header struct {
	Format     int    `json:"format"`
	FeatureSet string `json:"feature_set"`
	Bits       uint   `json:"bits"`
	HashSeed   uint64 `json:"hash_seed"`
	// KeywordPrior says the keyword model's log-odds is a feature: the
	// model must be bound to a knowledge base's keyword weights.
	KeywordPrior bool        `json:"keyword_prior"`
	Calibration  Calibration `json:"calibration"`
	Thresholds   Thresholds  `json:"thresholds"`
	Training     Training    `json:"training"`
}

// Calibration maps a raw margin z to a probability σ(A·z + B) (Platt
// scaling), fitted on data the model was not trained on.
type Calibration struct {
	Method string  `json:"method"` // "platt"
	A      float64 `json:"a"`
	B      float64 `json:"b"`
}

// Thresholds are the calibrated scores chosen at training time: Block for
// the target precision, Review to keep most positives in front of a person.
type Thresholds struct {
	Block           float64 `json:"block"`
	Review          float64 `json:"review"`
	TargetPrecision float64 `json:"target_precision"`
	ReviewRecall    float64 `json:"review_recall"`
	Why             string  `json:"why"`
}

// Training records how a model was made, so that a model file explains
// itself.
type Training struct {
	Examples     int     `json:"examples"`
	Positives    int     `json:"positives"`
	Negatives    int     `json:"negatives"`
	Seed         int64   `json:"seed"`
	Epochs       int     `json:"epochs"`
	L2           float64 `json:"l2"`
	LearningRate float64 `json:"learning_rate"`
	CalibratedOn string  `json:"calibrated_on"` // "valid" or "out-of-fold"
	// Prior is the share of positives the calibration was shifted to
	// (TrainOptions.Prior); absent: the held-out data's own share.
	Prior     float64 `json:"prior,omitempty"`
	KBVersion string  `json:"kb_version"`
	Data      string  `json:"data,omitempty"` // sha256 of the training examples
}

// Model is a trained classifier. It implements policy.Scorer and is safe
// for concurrent use once loaded.
type Model struct {
	Header  Header
	weights []float32 // 2^Bits buckets
	sparse  sparseWeights
	bias    float32
	version string
	ext     *Extractor
	scratch sync.Pool
}

var _ policy.Scorer = (*Model)(nil)

// newModel wraps trained weights.
func newModel(h Header, weights []float32, bias float32) *Model {
	m := &Model{Header: h, weights: weights, sparse: newSparseWeights(weights), bias: bias}
	m.Bind(nil, nil)
	return m
}

// Bind sets what the model needs from the knowledge base it screens with:
// the normalizer it builds views with (the detector's, so that emoji are
// named as in training) and, for a model with a keyword prior, the
// keyword model (policy.NewKeywordModel). A model bound to neither still
// scores, with a plain normalizer and without the prior.
func (m *Model) Bind(norm *text.Normalizer, keyword *policy.LinearModel) {
	if norm == nil {
		norm = text.New(text.Options{})
	}
	if !m.Header.KeywordPrior {
		keyword = nil
	}
	m.ext = NewExtractor(norm, keyword, m.Header.Bits, m.Header.HashSeed)
	m.scratch.New = func() any { return new(Scratch) }
}

// BindKB binds the model to a knowledge base: its normalizer and keyword
// weights (see Bind).
func (m *Model) BindKB(k *kb.KB) {
	m.Bind(text.New(text.Options{Emoji: k.Emoji}), policy.NewKeywordModel(k))
}

// Version identifies the model: clf- and a hash of the model file.
func (m *Model) Version() string { return m.version }

// Margin returns the raw (uncalibrated) score of a listing.
func (m *Model) Margin(l *wildwarden.Listing, f *detect.Findings) float64 {
	sc := m.scratch.Get().(*Scratch)
	defer m.scratch.Put(sc)
	z, _ := m.margin(l, f, sc)
	return z
}

// margin scores a listing's features as they are extracted (see
// Extractor.score) and returns the raw score and the value of each text
// feature. The named features are left in sc.features, the heaviest text
// features in sc.top. The score is the dot product of the weights with
// Extract's features, up to rounding: the text features' weights are
// summed before they are scaled.
func (m *Model) margin(l *wildwarden.Listing, f *detect.Findings, sc *Scratch) (z float64, textVal float32) {
	z = float64(m.bias)
	named := m.ext.score(l, f, &m.sparse, sc)
	if sc.textCount > 0 {
		textVal = textValue(sc.textCount)
		z += sc.textSum * float64(textVal)
	}
	for i := range named {
		z += float64(m.weights[named[i].index] * named[i].value)
	}
	return z, textVal
}

// Probability is the calibrated probability of a raw margin.
func (m *Model) Probability(z float64) float64 {
	c := m.Header.Calibration
	return policy.Sigmoid(c.A*z + c.B)
}

// topFeatures is how many text features Score names besides the signals.
const topFeatures = 3

// ReadsText tells the engine that the model reads the normalized text, so
// the detector keeps its views for it instead of the model normalizing the
// text a second time.
func (m *Model) ReadsText() bool { return true }

// Score implements policy.Scorer: the calibrated probability, and what the
// features added to the calibrated log-odds. Contributions are keyed by
// signal name (so the verdict's signals carry the model's weight for
// them) and by the few text features that weighed most ("word:ivory",
// "chars:象牙").
func (m *Model) Score(l *wildwarden.Listing, f *detect.Findings) (float64, map[string]float64) {
	sc := m.scratch.Get().(*Scratch)
	defer m.scratch.Put(sc)
	a := m.Header.Calibration.A
	z, textVal := m.margin(l, f, sc)
	contrib := make(map[string]float64, 8)
	// The features that weighed most, by |contribution|, the earliest
	// first among equals: text features come before the named ones, and
	// sc.top holds the heaviest text features in that order already.
	var top [topFeatures]feature
	var topW [topFeatures]float64 // their contributions, 0 for none
	keep := func(ft feature, w float64) {
		for k := range top {
			if math.Abs(w) > math.Abs(topW[k]) {
				copy(top[k+1:], top[k:topFeatures-1])
				copy(topW[k+1:], topW[k:topFeatures-1])
				top[k], topW[k] = ft, w
				return
			}
		}
	}
	for _, t := range sc.top {
		if t.weight != 0 {
			keep(feature{ns: t.ns, start: t.start, end: t.end}, float64(t.weight*textVal))
		}
	}
	for i := range sc.features {
		ft := &sc.features[i]
		w := float64(m.weights[ft.index] * ft.value)
		if w == 0 {
			continue
		}
		if ft.ns&^nsSellerOf == nsSignal {
			// A signal's own feature and its pairs with categories count
			// for the signal.
			contrib[ft.name] += a * w
			continue
		}
		keep(*ft, w)
	}
	for k := range top {
		if topW[k] != 0 {
			contrib[sc.featureName(&top[k])] += a * topW[k]
		}
	}
	contrib[policy.FeatureBias] = a*float64(m.bias) + m.Header.Calibration.B
	return m.Probability(z), contrib
}

// Encode writes the model file: the magic line, then a gzip stream of the
// header length (uint32), the header (JSON), the bias (float32), the count
// of non-zero weights (uint32) and each as bucket (uint32, ascending) and
// weight (float32), all little-endian. The same model always encodes to
// the same bytes.
func (m *Model) Encode() ([]byte, error) {
	return encode(m.Header, m.weights, m.bias)
}

func encode(h Header, weights []float32, bias float32) ([]byte, error) {
	hdr, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("classify: encode header: %w", err)
	}
	var payload bytes.Buffer
	le := binary.LittleEndian
	payload.Write(le.AppendUint32(nil, uint32(len(hdr))))
	payload.Write(hdr)
	payload.Write(le.AppendUint32(nil, math.Float32bits(bias)))
	nnz := 0
	for _, w := range weights {
		if w != 0 {
			nnz++
		}
	}
	payload.Write(le.AppendUint32(nil, uint32(nnz)))
	buf := make([]byte, 0, 8)
	for i, w := range weights {
		if w != 0 {
			buf = le.AppendUint32(buf[:0], uint32(i))
			buf = le.AppendUint32(buf, math.Float32bits(w))
			payload.Write(buf)
		}
	}
	var out bytes.Buffer
	out.Write(magic)
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("classify: encode: %w", err)
	}
	if _, err := zw.Write(payload.Bytes()); err != nil {
		return nil, fmt.Errorf("classify: encode: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("classify: encode: %w", err)
	}
	return out.Bytes(), nil
}

// ErrCorrupt is wrapped by every error about a model file's contents.
var ErrCorrupt = errors.New("corrupt model file")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("classify: %w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// Decode reads a model file and validates it: magic, gzip integrity,
// format and feature-set versions, hash parameters, calibration, bucket
// order and range, finite weights, no trailing bytes. Bind it to the
// detector's normalizer before scoring.
func Decode(data []byte) (*Model, error) {
	if !bytes.HasPrefix(data, magic) {
		return nil, corrupt("not a wildwarden model file (bad magic)")
	}
	compressed := bytes.NewReader(data[len(magic):])
	zr, err := gzip.NewReader(compressed)
	if err != nil {
		return nil, corrupt("gzip: %v", err)
	}
	zr.Multistream(false)
	r := zr
	le := binary.LittleEndian
	var word [4]byte
	readU32 := func(what string) (uint32, error) {
		if _, err := io.ReadFull(r, word[:]); err != nil {
			return 0, corrupt("%s: %v (truncated file?)", what, err)
		}
		return le.Uint32(word[:]), nil
	}
	n, err := readU32("header length")
	if err != nil {
		return nil, err
	}
	if n == 0 || n > maxHeaderSize {
		return nil, corrupt("header length %d out of range", n)
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, corrupt("header: %v (truncated file?)", err)
	}
	var h Header
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, corrupt("header: %v", err)
	}
	if err := h.validate(); err != nil {
		return nil, err
	}
	bbits, err := readU32("bias")
	if err != nil {
		return nil, err
	}
	bias := math.Float32frombits(bbits)
	if !finite(bias) {
		return nil, corrupt("bias is not finite")
	}
	nnz, err := readU32("weight count")
	if err != nil {
		return nil, err
	}
	size := uint32(1) << h.Bits
	if nnz > size {
		return nil, corrupt("%d weights for %d buckets", nnz, size)
	}
	weights := make([]float32, size)
	last := int64(-1)
	var pair [8]byte
	for i := uint32(0); i < nnz; i++ {
		if _, err := io.ReadFull(r, pair[:]); err != nil {
			return nil, corrupt("weight %d of %d: %v (truncated file?)", i, nnz, err)
		}
		idx := le.Uint32(pair[:4])
		w := math.Float32frombits(le.Uint32(pair[4:]))
		if idx >= size || int64(idx) <= last {
			return nil, corrupt("weight %d: bucket %d out of order or range", i, idx)
		}
		if !finite(w) || w == 0 {
			return nil, corrupt("weight %d: %v is not a finite non-zero weight", i, w)
		}
		weights[idx], last = w, int64(idx)
	}
	// Nothing may follow the weights; reaching the end checks the gzip
	// checksum. Reading one byte at most keeps a hostile stream from
	// making the loader inflate without bound.
	if n, err := io.CopyN(io.Discard, zr, 1); n != 0 {
		return nil, corrupt("trailing data after the weights")
	} else if err != io.EOF {
		return nil, corrupt("gzip: %v", err)
	}
	if compressed.Len() != 0 {
		return nil, corrupt("%d trailing bytes after the gzip stream", compressed.Len())
	}
	m := newModel(h, weights, bias)
	sum := sha256.Sum256(data)
	m.version = "clf-" + hex.EncodeToString(sum[:])[:12]
	return m, nil
}

func (h *Header) validate() error {
	switch {
	case h.Format != FormatVersion:
		return corrupt("format version %d; this build reads version %d", h.Format, FormatVersion)
	case h.FeatureSet != FeatureSet:
		return corrupt("feature set %q; this build extracts %q (retrain the model)", h.FeatureSet, FeatureSet)
	case h.Bits < MinBits || h.Bits > MaxBits:
		return corrupt("hash bits %d out of range [%d, %d]", h.Bits, MinBits, MaxBits)
	case h.Calibration.Method != "platt" || !finite64(h.Calibration.A) || !finite64(h.Calibration.B):
		return corrupt("calibration %+v is not a finite Platt calibration", h.Calibration)
	case !(0 <= h.Thresholds.Review && h.Thresholds.Review <= h.Thresholds.Block && h.Thresholds.Block <= 1):
		return corrupt("thresholds review %g, block %g: need 0 <= review <= block <= 1", h.Thresholds.Review, h.Thresholds.Block)
	}
	return nil
}

func finite(f float32) bool   { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }
func finite64(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// NonZero returns the number of non-zero weights, the model's size.
func (m *Model) NonZero() int {
	n := 0
	for _, w := range m.weights {
		if w != 0 {
			n++
		}
	}
	return n
}

// Load reads a model file from disk.
func Load(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	m, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
