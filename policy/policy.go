// Package policy turns the signals found in a listing into a calibrated
// score and a decision — allow, review or block — with a reason a reviewer
// or a seller can read. Thresholds and rules are configuration (YAML), not
// code; rules may run in shadow mode, where they are recorded on the
// verdict but not enforced.
package policy

import (
	"bytes"
	_ "embed"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/kb"
)

//go:embed default.yaml
var defaultConfig []byte

// Config is the policy configuration.
type Config struct {
	Thresholds Thresholds `yaml:"thresholds"`
	Rules      []Rule     `yaml:"rules"`
}

// Thresholds map a score to a decision: block at or above Block, review at
// or above Review, else allow.
type Thresholds struct {
	Review float64 `yaml:"review"`
	Block  float64 `yaml:"block"`
}

// Rule adjusts the decision when its condition holds: Cap lowers a decision
// to at most the given one, Floor raises it to at least the given one.
type Rule struct {
	Name   string    `yaml:"name"`
	When   Condition `yaml:"when"`
	Cap    string    `yaml:"cap,omitempty"`
	Floor  string    `yaml:"floor,omitempty"`
	Reason string    `yaml:"reason"`
	Shadow bool      `yaml:"shadow,omitempty"`
}

// Condition holds when every field that is set matches.
type Condition struct {
	Signal   string `yaml:"signal,omitempty"`   // a signal of this name was found
	Kind     string `yaml:"kind,omitempty"`     // the listing's kind
	Category string `yaml:"category,omitempty"` // the verdict names this category
	CITES    string `yaml:"cites,omitempty"`    // a species in the verdict has this appendix
	Product  *bool  `yaml:"product,omitempty"`  // some product evidence was found (or none)
	Offer    *bool  `yaml:"offer,omitempty"`    // offer wording, a price or off-platform contact was found (or none)
}

// DefaultConfig returns the embedded configuration.
func DefaultConfig() (*Config, error) { return ParseConfig(defaultConfig) }

// LoadConfig reads a configuration file; "" means the embedded default.
func LoadConfig(path string) (*Config, error) {
	if path == "" {
		return DefaultConfig()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("policy: %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig parses and validates a YAML configuration. Unknown keys are
// errors, so a typo cannot silently disable a rule.
func ParseConfig(data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	t := c.Thresholds
	if !(0 < t.Review && t.Review <= t.Block && t.Block <= 1) {
		return nil, fmt.Errorf("policy: thresholds: need 0 < review (%g) <= block (%g) <= 1", t.Review, t.Block)
	}
	for i, r := range c.Rules {
		if r.Name == "" {
			return nil, fmt.Errorf("policy: rules[%d]: name is required", i)
		}
		for _, d := range []string{r.Cap, r.Floor} {
			if d != "" && !wildwarden.Decision(d).Valid() {
				return nil, fmt.Errorf("policy: rule %s: %q is not allow, review or block", r.Name, d)
			}
		}
		if r.Cap == "" && r.Floor == "" {
			return nil, fmt.Errorf("policy: rule %s: needs cap or floor", r.Name)
		}
	}
	return &c, nil
}

// Scorer turns findings into a calibrated probability that the listing
// offers a prohibited wildlife product, and says what each feature added.
type Scorer interface {
	Score(l *wildwarden.Listing, f *detect.Findings) (score float64, contributions map[string]float64)
	Version() string
}

// Keyword features computed from findings, beside one feature per signal.
const (
	FeatureBias         = "bias"
	FeatureProductOffer = "combo.product_offer"
	FeatureAnimalOffer  = "combo.animal_offer"
	FeatureQuery        = "combo.query_product"
)

// productSignals are the signals that name a prohibited product.
var productSignals = []string{detect.SigProduct, detect.SigCodeWord, detect.SigAnimalPart, detect.SigHomophone, detect.SigPinyin}

// HasOffer reports whether the findings hold what makes a text an offer:
// sale wording, a price or contact moved off the platform.
func HasOffer(f *detect.Findings) bool {
	return f.Has(detect.SigSaleIntent) || f.Has(detect.SigPrice) || f.Has(detect.SigContact)
}

// HasProduct reports whether the findings name a prohibited product.
func HasProduct(f *detect.Findings) bool {
	for _, e := range f.Evidence {
		if slices.Contains(productSignals, e.Name) {
			return true
		}
	}
	return false
}

// Features returns the keyword features of a listing: 1 for each signal
// found, and the combinations that make an offer.
func Features(l *wildwarden.Listing, f *detect.Findings) map[string]float64 {
	x := map[string]float64{FeatureBias: 1}
	for _, e := range f.Evidence {
		x[e.Name] = 1
	}
	offer := HasOffer(f)
	product := HasProduct(f)
	if product && offer {
		x[FeatureProductOffer] = 1
	}
	if x[detect.SigAnimal] > 0 && x[detect.SigLive] > 0 && offer {
		x[FeatureAnimalOffer] = 1
	}
	if product && l.Kind == wildwarden.KindQuery {
		x[FeatureQuery] = 1
	}
	return x
}

// LinearModel is a logistic model over keyword features.
type LinearModel struct {
	Weights map[string]float64
	version string
}

// NewKeywordModel builds the keyword model from the knowledge base's
// weights.
func NewKeywordModel(k *kb.KB) *LinearModel {
	m := &LinearModel{Weights: map[string]float64{}, version: "keyword-" + strings.TrimPrefix(k.Version, "kb-")}
	for _, w := range k.Weights {
		m.Weights[w.Feature] = w.Weight
	}
	return m
}

// Version identifies the model.
func (m *LinearModel) Version() string { return m.version }

// Score implements Scorer.
func (m *LinearModel) Score(l *wildwarden.Listing, f *detect.Findings) (float64, map[string]float64) {
	if len(f.Evidence) == 0 {
		// Most listings: nothing found, only the prior.
		return Sigmoid(m.Weights[FeatureBias]), nil
	}
	// The sum of Features' weights, without building the feature map:
	// this runs for nearly every listing (most state a price).
	contrib := make(map[string]float64, 8)
	z := 0.0
	add := func(name string) {
		if w := m.Weights[name]; w != 0 {
			if _, done := contrib[name]; !done {
				contrib[name] = w
				z += w
			}
		}
	}
	add(FeatureBias)
	offer, animal, live := false, false, false
	for i := range f.Evidence {
		name := f.Evidence[i].Name
		add(name)
		switch name {
		case detect.SigSaleIntent, detect.SigPrice, detect.SigContact:
			offer = true
		case detect.SigAnimal:
			animal = true
		case detect.SigLive:
			live = true
		}
	}
	product := HasProduct(f)
	if product && offer {
		add(FeatureProductOffer)
	}
	if animal && live && offer {
		add(FeatureAnimalOffer)
	}
	if product && l.Kind == wildwarden.KindQuery {
		add(FeatureQuery)
	}
	return Sigmoid(z), contrib
}

// Sigmoid is the logistic function.
func Sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// Empty lists for verdicts with nothing to list: JSON shows [] rather than
// null. Appending to them allocates anew, so sharing them is safe.
var (
	noCategories = []string{}
	noSpecies    = []wildwarden.Species{}
	noSignals    = []wildwarden.Signal{}
)

// Policy decides. It is immutable and safe for concurrent use.
type Policy struct {
	config       *Config
	kb           *kb.KB
	byScientific map[string]kb.Taxon
	byCategory   map[string][]kb.Taxon
}

// New returns a policy.
func New(c *Config, k *kb.KB) *Policy {
	p := &Policy{config: c, kb: k, byScientific: map[string]kb.Taxon{}, byCategory: map[string][]kb.Taxon{}}
	for _, t := range k.Taxa {
		p.byScientific[t.Scientific] = t
	}
	for id := range k.Categories {
		p.byCategory[id] = k.TaxaOf(id)
	}
	return p
}

// Decide fills the verdict's score, decision, categories, species, signals
// and reason.
func (p *Policy) Decide(l *wildwarden.Listing, f *detect.Findings, score float64, contrib map[string]float64) *wildwarden.Verdict {
	return p.DecideSignals(l, f, score, contrib, true)
}

// DecideSignals is Decide, with a choice: when allowSignals is false, an
// allow verdict whose signals are all offer context (sale wording, a price,
// contact, a live animal, a claim of authenticity: what ordinary listings
// say) lists none, and they are not copied at all. A bulk scan saves the
// copy for nearly every listing. Allow verdicts with any other signal (a
// product judged lawful or an imitation, a colour word, a false friend)
// and those a shadow rule would have changed keep theirs.
func (p *Policy) DecideSignals(l *wildwarden.Listing, f *detect.Findings, score float64, contrib map[string]float64, allowSignals bool) *wildwarden.Verdict {
	v := &wildwarden.Verdict{ID: l.ID, Score: round(score), Categories: noCategories, Species: noSpecies, Signals: noSignals}
	product := HasProduct(f)
	for i := range f.Evidence {
		e := &f.Evidence[i]
		if e.Category != "" && productOrAnimal(e.Name) && !slices.Contains(v.Categories, e.Category) {
			v.Categories = append(v.Categories, e.Category)
		}
	}
	sort.Strings(v.Categories)
	v.Species = p.species(f, v.Categories)

	t := p.config.Thresholds
	switch {
	case score >= t.Block:
		v.Decision = wildwarden.Block
	case score >= t.Review:
		v.Decision = wildwarden.Review
	default:
		v.Decision = wildwarden.Allow
	}
	var ruleReasons []string
	for _, r := range p.config.Rules {
		if !p.holds(r.When, l, f, v, product) {
			continue
		}
		d := v.Decision
		if r.Cap != "" && d.Severity() > wildwarden.Decision(r.Cap).Severity() {
			d = wildwarden.Decision(r.Cap)
		}
		if r.Floor != "" && d.Severity() < wildwarden.Decision(r.Floor).Severity() {
			d = wildwarden.Decision(r.Floor)
		}
		if d == v.Decision {
			continue
		}
		if r.Shadow {
			v.Shadow = append(v.Shadow, fmt.Sprintf("%s: would %s (%s)", r.Name, d, r.Reason))
			continue
		}
		v.Decision = d
		ruleReasons = append(ruleReasons, r.Reason)
	}
	if len(f.Evidence) > 0 && (allowSignals || v.Decision != wildwarden.Allow || len(v.Shadow) > 0 || !offerOnly(f)) {
		v.Signals = make([]wildwarden.Signal, 0, len(f.Evidence))
		for _, e := range f.Evidence {
			s := e.Signal
			s.Weight = round(contrib[s.Name])
			v.Signals = append(v.Signals, s)
		}
	}
	v.Reason = p.reason(v, f, ruleReasons)
	return v
}

// offerOnly reports whether every signal found is offer context.
func offerOnly(f *detect.Findings) bool {
	for i := range f.Evidence {
		switch f.Evidence[i].Name {
		case detect.SigSaleIntent, detect.SigPrice, detect.SigContact, detect.SigLive, detect.SigAuthentic:
		default:
			return false
		}
	}
	return true
}

func productOrAnimal(name string) bool {
	return slices.Contains(productSignals, name) || name == detect.SigAnimal
}

func (p *Policy) holds(c Condition, l *wildwarden.Listing, f *detect.Findings, v *wildwarden.Verdict, product bool) bool {
	if c.Signal != "" && !f.Has(c.Signal) {
		return false
	}
	if c.Kind != "" && l.Kind != c.Kind {
		return false
	}
	if c.Category != "" && !slices.Contains(v.Categories, c.Category) {
		return false
	}
	if c.CITES != "" && !slices.ContainsFunc(v.Species, func(s wildwarden.Species) bool { return s.CITES == c.CITES }) {
		return false
	}
	if c.Product != nil && *c.Product != product {
		return false
	}
	if c.Offer != nil && *c.Offer != HasOffer(f) {
		return false
	}
	return true
}

// species lists the taxa named by the evidence, or else the taxa traded as
// the verdict's categories.
func (p *Policy) species(f *detect.Findings, categories []string) []wildwarden.Species {
	if len(categories) == 0 {
		return noSpecies
	}
	out := []wildwarden.Species{}
	add := func(t kb.Taxon) {
		if !slices.ContainsFunc(out, func(s wildwarden.Species) bool { return s.Name == t.Scientific }) {
			out = append(out, wildwarden.Species{Name: t.Scientific, Common: t.Common, CITES: t.CITES})
		}
	}
	var named []string
	for _, e := range f.Evidence {
		if e.Species != "" && productOrAnimal(e.Name) {
			if t, ok := p.byScientific[e.Species]; ok {
				add(t)
				named = append(named, e.Category)
			}
		}
	}
	for _, c := range categories {
		if !slices.Contains(named, c) {
			for _, t := range p.byCategory[c] {
				add(t)
			}
		}
	}
	return out
}

// reason writes the one-line explanation.
func (p *Policy) reason(v *wildwarden.Verdict, f *detect.Findings, ruleReasons []string) string {
	var main *detect.Evidence
	for i := range f.Evidence {
		if slices.Contains(productSignals, f.Evidence[i].Name) {
			main = &f.Evidence[i]
			break
		}
	}
	if main == nil {
		for i := range f.Evidence {
			if f.Evidence[i].Name == detect.SigAnimal {
				main = &f.Evidence[i]
				break
			}
		}
	}
	var b strings.Builder
	if main == nil {
		switch {
		case f.Has(detect.SigColourUse):
			b.WriteString("wildlife product word used as a colour or pattern")
		case f.Has(detect.SigFalseFriend):
			b.WriteString("brand or idiom, not a wildlife product")
		default:
			b.WriteString("no wildlife product found")
		}
	} else {
		label := main.Category
		if c, ok := p.kb.Categories[main.Category]; ok {
			label = strings.ToLower(c.Label)
		}
		quoted := fmt.Sprintf("%s (%s)", label, main.Text)
		switch main.Name {
		case detect.SigCodeWord:
			fmt.Fprintf(&b, "code word for %s", quoted)
		case detect.SigHomophone:
			fmt.Fprintf(&b, "homophone of %s for %s (%s)", main.Term, label, main.Text)
		case detect.SigPinyin:
			fmt.Fprintf(&b, "%s written in pinyin (%s)", label, main.Text)
		case detect.SigAnimal:
			fmt.Fprintf(&b, "listed animal: %s", quoted)
		default:
			b.WriteString(quoted)
		}
		if f.Has(detect.SigObfuscated) {
			b.WriteString(" written to evade filters")
		}
		var with []string
		if f.Has(detect.SigSaleIntent) || f.Has(detect.SigPrice) {
			with = append(with, "sale intent")
		}
		if f.Has(detect.SigContact) {
			with = append(with, "off-platform contact")
		}
		if f.Has(detect.SigLive) {
			with = append(with, "a live animal offered")
		}
		if len(with) > 0 {
			b.WriteString(" with " + strings.Join(with, ", "))
		}
		var against []string
		for _, s := range []struct{ sig, text string }{
			{detect.SigImitation, "says it is an imitation"},
			{detect.SigAltMaterial, "names a lawful substitute"},
			{detect.SigColourUse, "uses a product word as a colour"},
			{detect.SigNews, "reads as news or condemnation"},
		} {
			if f.Has(s.sig) {
				against = append(against, s.text)
			}
		}
		if len(against) > 0 {
			b.WriteString("; " + strings.Join(against, ", "))
		}
	}
	for _, r := range ruleReasons {
		b.WriteString("; " + r)
	}
	return b.String()
}

func round(x float64) float64 { return math.Round(x*1000) / 1000 }
