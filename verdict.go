package wildwarden

// Decision is what the policy makes of a score.
type Decision string

// Decisions, from least to most severe.
const (
	Allow  Decision = "allow"
	Review Decision = "review"
	Block  Decision = "block"
)

// Severity orders decisions: allow < review < block.
func (d Decision) Severity() int {
	switch d {
	case Block:
		return 2
	case Review:
		return 1
	}
	return 0
}

// Valid reports whether d is one of the three decisions.
func (d Decision) Valid() bool { return d == Allow || d == Review || d == Block }

// Verdict is the outcome of screening one listing.
type Verdict struct {
	ID           string    `json:"id"`
	Decision     Decision  `json:"decision"`
	Score        float64   `json:"score"`
	Categories   []string  `json:"categories"`
	Species      []Species `json:"species"`
	Reason       string    `json:"reason"`
	Signals      []Signal  `json:"signals"`
	Shadow       []string  `json:"shadow,omitempty"`
	KBVersion    string    `json:"kb_version"`
	ModelVersion string    `json:"model_version"`
}

// Species names a taxon in evidence.
type Species struct {
	Name   string `json:"name"`
	Common string `json:"common,omitempty"`
	CITES  string `json:"cites,omitempty"`
}

// Signal is one named finding of a detector, with the evidence a reviewer
// can check. Span is [start, end) in Unicode code points of the original
// text of Field; Text is those original characters.
type Signal struct {
	Name     string  `json:"name"`
	Weight   float64 `json:"weight"`
	Field    string  `json:"field,omitempty"`
	View     string  `json:"view,omitempty"`
	Span     *[2]int `json:"span,omitempty"`
	Text     string  `json:"text,omitempty"`
	Term     string  `json:"term,omitempty"`
	Category string  `json:"category,omitempty"`
	Species  string  `json:"species,omitempty"`
	CITES    string  `json:"cites,omitempty"`
	Note     string  `json:"note,omitempty"`
}
