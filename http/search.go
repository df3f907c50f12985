package http

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/wildwarden/wildwarden"
)

//go:embed data/cards/*.json
var cardFiles embed.FS

// card is a localized education card shown beside a search that looks for
// wildlife products. Body has a {species} placeholder; BodyGeneric is used
// when the verdict names no species.
type card struct {
	Lang        string `json:"lang"`
	Title       string `json:"title"`
	Body        string `json:"body"`
	BodyGeneric string `json:"body_generic"`
	Law         string `json:"law"`
	// Products names product categories in the card's language.
	Products map[string]string `json:"products"`
}

// cardSet holds one card per language tag.
type cardSet struct {
	byLang map[string]card
}

// fallbackLang is used when no card matches the asked language.
const fallbackLang = "en"

func loadCards() (*cardSet, error) {
	set := &cardSet{byLang: map[string]card{}}
	names, err := fs.Glob(cardFiles, "data/cards/*.json")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		data, err := cardFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var c card
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("http: %s: %w", name, err)
		}
		if c.Lang == "" || c.Title == "" || c.Body == "" || c.Law == "" {
			return nil, fmt.Errorf("http: %s: lang, title, body and law are required", name)
		}
		set.byLang[c.Lang] = c
	}
	if _, ok := set.byLang[fallbackLang]; !ok {
		return nil, fmt.Errorf("http: no %s education card", fallbackLang)
	}
	return set, nil
}

// pick returns the card for a BCP 47 tag: Chinese by script or region
// (zh-Hant, zh-TW, zh-HK, zh-MO are Traditional), else the base language,
// else English.
func (cs *cardSet) pick(tag string) card {
	tag = strings.ReplaceAll(strings.TrimSpace(tag), "_", "-")
	if c, ok := cs.byLang[tag]; ok {
		return c
	}
	lower := strings.ToLower(tag)
	base, _, _ := strings.Cut(lower, "-")
	if base == "zh" {
		for _, trad := range []string{"hant", "tw", "hk", "mo"} {
			if strings.Contains(lower, "-"+trad) {
				return cs.byLang["zh-Hant"]
			}
		}
		return cs.byLang["zh-Hans"]
	}
	for lang, c := range cs.byLang {
		if strings.EqualFold(lang, base) {
			return c
		}
	}
	return cs.byLang[fallbackLang]
}

// searchCheckRequest is the body of POST /v1/search-check.
type searchCheckRequest struct {
	Query string `json:"query"`
	Lang  string `json:"lang"`
}

// cardResponse is the card sent to the platform.
type cardResponse struct {
	Title   string `json:"title"`
	Body    string `json:"body"`
	Species string `json:"species,omitempty"`
	Law     string `json:"law"`
	Lang    string `json:"lang"`
}

// searchCheckResponse answers a search check.
type searchCheckResponse struct {
	Warn       bool                `json:"warn"`
	Card       *cardResponse       `json:"card,omitempty"`
	Decision   wildwarden.Decision `json:"decision"`
	Score      float64             `json:"score"`
	Categories []string            `json:"categories"`
}

// maxQueryBytes bounds a search query.
const maxQueryBytes = 2048

func decodeSearchCheck(body []byte) (*searchCheckRequest, error) {
	var req searchCheckRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, err
	}
	if err := requireText("query", req.Query, maxQueryBytes); err != nil {
		return nil, err
	}
	if len(req.Lang) > 35 {
		return nil, wildwarden.Errorf(wildwarden.EINVALID, "lang", "is not a language tag")
	}
	return &req, nil
}

// handleSearchCheck screens a search query as a listing of kind `query` and
// warns when the decision is not allow. Queries are not stored.
func (s *Server) handleSearchCheck(w http.ResponseWriter, r *http.Request, p *principal) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	req, err := decodeSearchCheck(body)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(req.Query))
	l := &wildwarden.Listing{ID: "query-" + hex.EncodeToString(sum[:8]), Kind: wildwarden.KindQuery, Lang: req.Lang, Title: req.Query}
	v, err := s.screener.Screen(r.Context(), l)
	if err != nil {
		return fmt.Errorf("search-check: %w", err)
	}
	resp := searchCheckResponse{Warn: v.Decision != wildwarden.Allow, Decision: v.Decision, Score: v.Score, Categories: v.Categories}
	if resp.Categories == nil {
		resp.Categories = []string{}
	}
	if resp.Warn {
		c := s.cards.pick(req.Lang)
		cr := &cardResponse{Title: c.Title, Law: c.Law, Lang: c.Lang, Body: c.BodyGeneric}
		if name := productName(c, v); name != "" {
			cr.Species = name
			cr.Body = strings.ReplaceAll(c.Body, "{species}", name)
		}
		resp.Card = cr
	}
	s.metrics.searchChecks.WithLabelValues(fmt.Sprint(resp.Warn)).Inc()
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// productName names what the search looks for in the card's language: the
// category's localized product name, else the species' common name on an
// English card, else its scientific name (which reads the same everywhere).
func productName(c card, v *wildwarden.Verdict) string {
	for _, cat := range v.Categories {
		if name := c.Products[cat]; name != "" {
			return name
		}
	}
	if len(v.Species) == 0 {
		return ""
	}
	if c.Lang == fallbackLang && v.Species[0].Common != "" {
		return v.Species[0].Common
	}
	return v.Species[0].Name
}

// searchEventRequest is the body of POST /v1/search-check/events.
type searchEventRequest struct {
	Type     string `json:"type"`
	Lang     string `json:"lang"`
	Category string `json:"category"`
}

func decodeSearchEvent(body []byte) (*searchEventRequest, error) {
	var req searchEventRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, err
	}
	switch req.Type {
	case wildwarden.SearchImpression, wildwarden.SearchClick, wildwarden.SearchDismiss:
	default:
		return nil, wildwarden.Errorf(wildwarden.EINVALID, "type", "must be impression, click or dismiss")
	}
	if len(req.Lang) > 35 || len(req.Category) > 64 {
		return nil, wildwarden.Errorf(wildwarden.EINVALID, "lang", "lang or category is too long")
	}
	return &req, nil
}

func (s *Server) handleSearchEvent(w http.ResponseWriter, r *http.Request, p *principal) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	req, err := decodeSearchEvent(body)
	if err != nil {
		return err
	}
	if err := s.store.AddSearchEvent(r.Context(), &wildwarden.SearchEvent{TenantID: p.TenantID, Type: req.Type, Lang: req.Lang, Category: req.Category}); err != nil {
		return err
	}
	s.metrics.searchEvents.WithLabelValues(req.Type).Inc()
	w.WriteHeader(http.StatusNoContent)
	return nil
}
