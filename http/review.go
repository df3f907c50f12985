package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/wildwarden/wildwarden"
)

// Limits on free text in review requests.
const (
	maxNoteBytes   = 4096
	maxReasonBytes = 256
	maxReasons     = 16
	maxSample      = 1000
)

func (s *Server) handleQueue(w http.ResponseWriter, r *http.Request, p *principal) error {
	limit, err := queryInt(r, "limit", defaultPageLimit, maxPageLimit)
	if err != nil {
		return err
	}
	items, err := s.store.Queue(r.Context(), p.TenantID, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

// claimResponse is a claimed item with the listing's state, so a reviewer
// sees what to judge.
type claimResponse struct {
	Item    *wildwarden.QueueItem    `json:"item"`
	Listing *wildwarden.ListingState `json:"listing,omitempty"`
}

func (s *Server) handleClaim(w http.ResponseWriter, r *http.Request, p *principal) error {
	item, err := s.store.Claim(r.Context(), p.TenantID, p.reviewerID(), s.lease)
	if err != nil {
		return err
	}
	resp := claimResponse{Item: item}
	if st, err := s.store.ListingState(r.Context(), p.TenantID, item.ListingID); err == nil {
		resp.Listing = st
	} else if wildwarden.ErrorCode(err) != wildwarden.ENOTFOUND {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// decisionRequest is the body of POST /v1/queue/{id}/decision.
type decisionRequest struct {
	Action  string   `json:"action"`
	Reasons []string `json:"reasons"`
	Note    string   `json:"note"`
}

func decodeDecision(body []byte) (*decisionRequest, error) {
	var req decisionRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, err
	}
	switch req.Action {
	case wildwarden.ActionRemove, wildwarden.ActionAllow, wildwarden.ActionEscalate:
	default:
		return nil, wildwarden.Errorf(wildwarden.EINVALID, "action", "must be remove, allow or escalate")
	}
	if len(req.Reasons) == 0 {
		return nil, wildwarden.Errorf(wildwarden.EINVALID, "reasons", "give at least one reason code")
	}
	if len(req.Reasons) > maxReasons {
		return nil, wildwarden.Errorf(wildwarden.EINVALID, "reasons", "at most %d reason codes", maxReasons)
	}
	for i, reason := range req.Reasons {
		if err := requireText(fmt.Sprintf("reasons[%d]", i), reason, maxReasonBytes); err != nil {
			return nil, err
		}
	}
	if err := textWithin(maxNoteBytes, "note", req.Note); err != nil {
		return nil, err
	}
	return &req, nil
}

func (s *Server) handleDecide(w http.ResponseWriter, r *http.Request, p *principal) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	req, err := decodeDecision(body)
	if err != nil {
		return err
	}
	ctx := r.Context()
	item, err := s.store.QueueItem(ctx, p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := &wildwarden.ReviewDecision{
		TenantID: p.TenantID, ItemID: item.ID, ReviewerID: p.reviewerID(),
		Action: req.Action, Reasons: req.Reasons, Note: req.Note,
	}
	fx, err := s.effectsOf(r, p.TenantID, item, d)
	if err != nil {
		return err
	}
	if err := s.store.Decide(ctx, d, fx); err != nil {
		return err
	}
	s.metrics.decisions.WithLabelValues(d.Action, item.Kind).Inc()
	resp := map[string]any{"decision": d}
	if fx.Statement != nil {
		resp["statement_id"] = fx.Statement.ID
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// effectsOf decides what a decision sets in motion. A removal yields a
// statement of reasons and a remove event; allowing an appeal restores the
// listing; rejecting an appeal notifies that the removal stands.
func (s *Server) effectsOf(r *http.Request, tenantID string, item *wildwarden.QueueItem, d *wildwarden.ReviewDecision) (*wildwarden.Effects, error) {
	fx := &wildwarden.Effects{}
	reason := d.Note
	if reason == "" && len(d.Reasons) > 0 {
		reason = d.Reasons[0]
	}
	switch {
	case d.Action == wildwarden.ActionRemove && item.Kind == wildwarden.ItemAppeal:
		fx.Events = []wildwarden.Event{{Type: wildwarden.EventRemove, ListingID: item.ListingID, Decision: d.Action, Reason: "appeal rejected: " + reason}}
	case d.Action == wildwarden.ActionRemove:
		latest, err := s.store.LatestScreening(r.Context(), tenantID, item.ListingID)
		if err != nil && wildwarden.ErrorCode(err) != wildwarden.ENOTFOUND {
			return nil, err
		}
		fx.Statement = s.sor.reviewed(latest, item, d)
		fx.Events = []wildwarden.Event{{Type: wildwarden.EventRemove, ListingID: item.ListingID, Decision: d.Action, Reason: reason}}
	case d.Action == wildwarden.ActionAllow && item.Kind == wildwarden.ItemAppeal:
		fx.Events = []wildwarden.Event{{Type: wildwarden.EventRestore, ListingID: item.ListingID, Decision: d.Action, Reason: "appeal upheld: " + reason}}
	}
	return fx, nil
}

// auditSampleRequest is the body of POST /v1/queue/audit-sample.
type auditSampleRequest struct {
	N int `json:"n"`
}

// handleAuditSample enqueues random allowed listings for review, to
// measure the prevalence of missed listings.
func (s *Server) handleAuditSample(w http.ResponseWriter, r *http.Request, p *principal) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	var req auditSampleRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	if req.N < 1 || req.N > maxSample {
		return wildwarden.Errorf(wildwarden.EINVALID, "n", "must be from 1 to %d", maxSample)
	}
	ids, err := s.store.SampleAllowed(r.Context(), p.TenantID, req.N)
	if err != nil {
		return err
	}
	items := make([]*wildwarden.QueueItem, 0, len(ids))
	for _, id := range ids {
		item := &wildwarden.QueueItem{TenantID: p.TenantID, ListingID: id, Kind: wildwarden.ItemAudit}
		if err := s.store.Enqueue(r.Context(), item); err != nil {
			return err
		}
		items = append(items, item)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

// reportRequest is the body of POST /v1/reports.
type reportRequest struct {
	ListingID  string `json:"listing_id"`
	URL        string `json:"url"`
	Reason     string `json:"reason"`
	ReporterID string `json:"reporter_id"`
	Note       string `json:"note"`
}

func decodeReport(body []byte) (*reportRequest, error) {
	var req reportRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, err
	}
	if req.ListingID == "" && req.URL == "" {
		return nil, wildwarden.Errorf(wildwarden.EINVALID, "listing_id", "give listing_id or url")
	}
	if req.ListingID == "" {
		// A report by URL alone is keyed by the URL.
		req.ListingID = req.URL
	}
	if len(req.ListingID) > wildwarden.MaxIDBytes {
		return nil, wildwarden.Errorf(wildwarden.EINVALID, "listing_id", "is longer than %d bytes", wildwarden.MaxIDBytes)
	}
	if err := requireText("reason", req.Reason, maxReasonBytes); err != nil {
		return nil, err
	}
	if err := textWithin(maxNoteBytes, "note", req.Note); err != nil {
		return nil, err
	}
	return &req, nil
}

// handleReport stores a report, weighted by the reporter's reputation, and
// re-screens the listing with the reports as a signal.
func (s *Server) handleReport(w http.ResponseWriter, r *http.Request, p *principal) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	req, err := decodeReport(body)
	if err != nil {
		return err
	}
	ctx := r.Context()
	weight := wildwarden.ReportWeight(0, 0)
	if req.ReporterID != "" {
		upheld, decided, err := s.store.Reputation(ctx, p.TenantID, req.ReporterID)
		if err != nil {
			return err
		}
		weight = wildwarden.ReportWeight(upheld, decided)
	}
	item := &wildwarden.QueueItem{Reports: 1, ReportWeight: weight}
	latest, err := s.store.LatestScreening(ctx, p.TenantID, req.ListingID)
	if err != nil && wildwarden.ErrorCode(err) != wildwarden.ENOTFOUND {
		return err
	}
	if latest != nil {
		item.Score, item.CITES, item.Reach = latest.Verdict.Score, wildwarden.TopCITES(latest.Verdict), wildwarden.Reach(latest.Listing)
	}
	rep := &wildwarden.Report{TenantID: p.TenantID, ListingID: req.ListingID, URL: req.URL, Reason: req.Reason, ReporterID: req.ReporterID, Note: req.Note, Weight: weight}
	if err := s.store.AddReport(ctx, rep, item); err != nil {
		return err
	}
	s.metrics.reports.Inc()
	resp := map[string]any{"report": rep, "item": item}
	if latest != nil {
		v, err := s.rescreenWithReports(r, p.TenantID, latest, item.Reports, req.Reason)
		if err != nil {
			return err
		}
		resp["verdict"] = v
	}
	writeJSON(w, http.StatusAccepted, resp)
	return nil
}

// rescreenWithReports screens the stored listing again with the report
// count and reason attached (fields `user_reports` and `report_reason`, so
// detectors may use them) and records the reports as a signal.
func (s *Server) rescreenWithReports(r *http.Request, tenantID string, latest *wildwarden.Screening, reports int, reason string) (*wildwarden.Verdict, error) {
	l := *latest.Listing
	l.Extra = map[string]json.RawMessage{}
	for k, v := range latest.Listing.Extra {
		l.Extra[k] = v
	}
	l.Extra["user_reports"] = json.RawMessage(strconv.Itoa(reports))
	quoted, _ := json.Marshal(reason)
	l.Extra["report_reason"] = quoted
	v, err := s.screener.Screen(r.Context(), &l)
	if err != nil {
		return nil, fmt.Errorf("re-screen %s: %w", l.ID, err)
	}
	v.ID = l.ID
	v.Signals = append(v.Signals, wildwarden.Signal{Name: "report.user", Weight: float64(reports), Note: reason})
	sc := s.screeningOf(&l, v, wildwarden.ContentHash(&l), wildwarden.SourceReport)
	if v.Decision == wildwarden.Review {
		sc.Enqueue = nil // the report item already asks for review
	}
	errs, err := s.store.SaveScreenings(r.Context(), tenantID, []*wildwarden.Screening{sc})
	if err != nil {
		return nil, err
	}
	if errs[0] != nil {
		return nil, errs[0]
	}
	return sc.Verdict, nil
}

// appealRequest is the body of POST /v1/appeals.
type appealRequest struct {
	ListingID   string `json:"listing_id"`
	AppellantID string `json:"appellant_id"`
	Note        string `json:"note"`
}

func decodeAppeal(body []byte) (*appealRequest, error) {
	var req appealRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, err
	}
	if err := requireText("listing_id", req.ListingID, wildwarden.MaxIDBytes); err != nil {
		return nil, err
	}
	if err := textWithin(maxNoteBytes, "note", req.Note); err != nil {
		return nil, err
	}
	return &req, nil
}

// handleAppeal queues a seller's appeal of a removal (or of an automated
// block), to be decided by a reviewer other than the one who removed.
func (s *Server) handleAppeal(w http.ResponseWriter, r *http.Request, p *principal) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	req, err := decodeAppeal(body)
	if err != nil {
		return err
	}
	ctx := r.Context()
	appeal := &wildwarden.Appeal{TenantID: p.TenantID, ListingID: req.ListingID, AppellantID: req.AppellantID, Note: req.Note}
	item := &wildwarden.QueueItem{}
	removal, err := s.store.LastRemoval(ctx, p.TenantID, req.ListingID)
	switch {
	case err == nil:
		appeal.DecisionID, item.ExcludeReviewer = removal.ID, removal.ReviewerID
	case wildwarden.ErrorCode(err) != wildwarden.ENOTFOUND:
		return err
	default:
		latest, lerr := s.store.LatestScreening(ctx, p.TenantID, req.ListingID)
		if lerr != nil || latest.Verdict.Decision != wildwarden.Block {
			return err // nothing to appeal
		}
		appeal.DecisionID = "screening:" + strconv.FormatInt(latest.Seq, 10)
	}
	if latest, err := s.store.LatestScreening(ctx, p.TenantID, req.ListingID); err == nil {
		item.Score, item.CITES = latest.Verdict.Score, wildwarden.TopCITES(latest.Verdict)
	}
	if err := s.store.AddAppeal(ctx, appeal, item); err != nil {
		return err
	}
	s.metrics.appeals.Inc()
	writeJSON(w, http.StatusAccepted, map[string]any{"appeal": appeal, "item": item})
	return nil
}
