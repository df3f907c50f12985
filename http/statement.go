package http

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/wildwarden/wildwarden"
)

//go:embed data/statement.json
var statementRulesJSON []byte

// statementRules are the constant parts of a statement of reasons, kept in
// a data file so that legal texts change without touching Go.
type statementRules struct {
	DecisionVisibility    []string            `json:"decision_visibility"`
	DecisionGround        string              `json:"decision_ground"`
	LegalGround           string              `json:"illegal_content_legal_ground"`
	Category              string              `json:"category"`
	CategorySpecification []string            `json:"category_specification"`
	TerritorialScope      []string            `json:"territorial_scope"`
	ContentType           map[string][]string `json:"content_type"`
	ContentTypeImage      string              `json:"content_type_image"`
	SourceAutomated       string              `json:"source_type_automated"`
	SourceReport          string              `json:"source_type_report"`
	ExplanationDefault    string              `json:"explanation_default"`
	FactsAutomated        string              `json:"facts_automated"`
	FactsReviewed         string              `json:"facts_reviewed"`
}

func loadStatementRules() (*statementRules, error) {
	var r statementRules
	if err := json.Unmarshal(statementRulesJSON, &r); err != nil {
		return nil, fmt.Errorf("http: data/statement.json: %w", err)
	}
	if r.Category == "" || r.DecisionGround == "" || len(r.DecisionVisibility) == 0 {
		return nil, fmt.Errorf("http: data/statement.json: category, decision_ground and decision_visibility are required")
	}
	return &r, nil
}

// DSA values of automated_detection and automated_decision.
const (
	dsaYes                  = "Yes"
	dsaNo                   = "No"
	dsaAutomatedFully       = "AUTOMATED_DECISION_FULLY"
	dsaAutomatedNot         = "AUTOMATED_DECISION_NOT_AUTOMATED"
	dsaDateLayout           = "2006-01-02"
	statementListLimitLines = 100000
)

// base fills the fields every statement shares.
func (rules *statementRules) base(l *wildwarden.Listing, v *wildwarden.Verdict, now time.Time) *wildwarden.Statement {
	st := &wildwarden.Statement{
		DecisionVisibility:        append([]string(nil), rules.DecisionVisibility...),
		DecisionGround:            rules.DecisionGround,
		IllegalContentLegalGround: rules.LegalGround,
		Category:                  rules.Category,
		CategorySpecification:     append([]string(nil), rules.CategorySpecification...),
		TerritorialScope:          append([]string(nil), rules.TerritorialScope...),
		ApplicationDate:           now.UTC().Format(dsaDateLayout),
		ContentDate:               now.UTC().Format(dsaDateLayout),
		IllegalContentExplanation: rules.ExplanationDefault,
	}
	kind := ""
	if l != nil {
		st.ListingID = l.ID
		kind = l.Kind
		if !l.CreatedAt.IsZero() {
			st.ContentDate = l.CreatedAt.UTC().Format(dsaDateLayout)
		}
		if len(l.Lang) >= 2 {
			st.ContentLanguage = strings.ToUpper(l.Lang[:2])
		}
	}
	types, ok := rules.ContentType[kind]
	if !ok {
		types = rules.ContentType[""]
	}
	st.ContentType = append([]string(nil), types...)
	if l != nil && len(l.Images) > 0 && rules.ContentTypeImage != "" {
		st.ContentType = append(st.ContentType, rules.ContentTypeImage)
	}
	if v != nil {
		st.IllegalContentExplanation = explanation(v, rules.ExplanationDefault)
	}
	return st
}

// explanation says which species and what evidence, from the verdict.
func explanation(v *wildwarden.Verdict, fallback string) string {
	var parts []string
	if v.Reason != "" {
		parts = append(parts, v.Reason)
	}
	var species []string
	for _, s := range v.Species {
		name := s.Name
		if s.Common != "" {
			name = s.Common + " (" + s.Name + ")"
		}
		if s.CITES != "" {
			name += ", CITES Appendix " + s.CITES
		}
		species = append(species, name)
	}
	if len(species) > 0 {
		parts = append(parts, "species: "+strings.Join(species, "; "))
	}
	if len(parts) == 0 {
		return fallback
	}
	return strings.Join(parts, ". ")
}

// automated is the statement of an automated block.
func (rules *statementRules) automated(l *wildwarden.Listing, v *wildwarden.Verdict) *wildwarden.Statement {
	st := rules.base(l, v, time.Now())
	st.SourceType = rules.SourceAutomated
	st.AutomatedDetection = dsaYes
	st.AutomatedDecision = dsaAutomatedFully
	st.DecisionFacts = fmt.Sprintf(rules.FactsAutomated, v.Reason)
	return st
}

// reviewed is the statement of a reviewer's removal. latest may be nil (a
// listing reported by URL that was never screened).
func (rules *statementRules) reviewed(latest *wildwarden.Screening, item *wildwarden.QueueItem, d *wildwarden.ReviewDecision) *wildwarden.Statement {
	var l *wildwarden.Listing
	var v *wildwarden.Verdict
	if latest != nil {
		l, v = latest.Listing, latest.Verdict
	}
	st := rules.base(l, v, time.Now())
	st.ListingID = item.ListingID
	st.SourceType = rules.SourceAutomated
	st.AutomatedDetection = dsaYes
	if item.Kind == wildwarden.ItemReport {
		st.SourceType = rules.SourceReport
		st.AutomatedDetection = dsaNo
	}
	st.AutomatedDecision = dsaAutomatedNot
	st.DecisionFacts = strings.TrimSpace(fmt.Sprintf(rules.FactsReviewed, strings.Join(d.Reasons, ", "), d.Note))
	return st
}

func (s *Server) handleStatement(w http.ResponseWriter, r *http.Request, p *principal) error {
	st, err := s.store.Statement(r.Context(), p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// querySince reads the `since` parameter of an export: an RFC 3339 time,
// or the zero time when absent.
func querySince(r *http.Request) (time.Time, error) {
	v := r.URL.Query().Get("since")
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, wildwarden.Errorf(wildwarden.EINVALID, "since", "must be an RFC 3339 time such as 2026-11-28T00:00:00Z")
	}
	return t, nil
}

// handleStatements exports statements as JSON lines, oldest first, from
// `since` (RFC 3339, default: all).
func (s *Server) handleStatements(w http.ResponseWriter, r *http.Request, p *principal) error {
	since, err := querySince(r)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", statementListLimitLines, statementListLimitLines)
	if err != nil {
		return err
	}
	list, err := s.store.Statements(r.Context(), p.TenantID, since, limit)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/jsonl")
	enc := json.NewEncoder(w)
	for i := range list {
		if err := enc.Encode(&list[i]); err != nil {
			return nil // the client went away; the status is already sent
		}
	}
	return nil
}
