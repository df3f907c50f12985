package console

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/kb"
	"github.com/wildwarden/wildwarden/screen"
)

// maxKBResults bounds each list of search results.
const maxKBResults = 50

// kbData fills the knowledge-base page.
type kbData struct {
	Query      string
	Taxa       []kb.Taxon
	Terms      []kb.Term
	Cues       []kb.Cue
	Additions  []kbAddition
	Skipped    int // additions this replica's engine skipped
	Categories []kb.Category
	CueNames   []string
	Version    string
	Admin      bool
	Form       wildwarden.KBAddition
}

// kbAddition is a stored addition and what this replica's engine made of
// it: an admin sees here that a replica whose knowledge base refuses an
// addition skips it, and why.
type kbAddition struct {
	wildwarden.KBAddition
	Status string // "applied", "skipped" or "pending" (stored since the last sync)
	Reason string // why the knowledge base refused it
}

// additionsHere pairs the stored additions with what the engine made of
// them.
func additionsHere(adds []wildwarden.KBAddition, e Engine) (rows []kbAddition, skippedHere int) {
	applied, skipped := e.Additions()
	reasons := make(map[string]string, len(skipped))
	for _, s := range skipped {
		reasons[s.ID] = message(s.Err)
	}
	for _, a := range adds {
		row := kbAddition{KBAddition: a, Status: "pending"}
		if reason, ok := reasons[a.ID]; ok {
			row.Status, row.Reason = "skipped", reason
			skippedHere++
		} else if slices.Contains(applied, a.ID) {
			row.Status = "applied"
		}
		rows = append(rows, row)
	}
	return rows, skippedHere
}

func contains(haystack, needle string) bool {
	return strings.Contains(strings.ToLower(haystack), needle)
}

func (c *Console) kbPage(w http.ResponseWriter, r *http.Request, s *session, status int, form wildwarden.KBAddition, errMsg string) {
	if c.cfg.Engine == nil {
		c.render(w, http.StatusNotFound, "error", &page{Title: "Knowledge base", Session: s, Nav: "kb", Error: "This console runs without a screening engine."})
		return
	}
	k := c.cfg.Engine.KB()
	d := kbData{Query: strings.TrimSpace(r.URL.Query().Get("q")), Admin: s.Role == wildwarden.RoleAdmin, CueNames: screen.CueNames(), Version: k.Version, Form: form}
	for _, cat := range k.Categories {
		d.Categories = append(d.Categories, cat)
	}
	sort.Slice(d.Categories, func(i, j int) bool { return d.Categories[i].ID < d.Categories[j].ID })
	if q := strings.ToLower(d.Query); q != "" {
		for _, t := range k.Taxa {
			if len(d.Taxa) < maxKBResults && (contains(t.Scientific, q) || contains(t.Common, q) || contains(t.Key, q) || contains(strings.Join(t.Categories, ","), q)) {
				d.Taxa = append(d.Taxa, t)
			}
		}
		sort.Slice(d.Taxa, func(i, j int) bool { return d.Taxa[i].Scientific < d.Taxa[j].Scientific })
		for _, t := range k.Terms {
			if len(d.Terms) < maxKBResults && (contains(t.Text, q) || contains(t.Note, q) || t.Category == q || t.Taxon == q) {
				d.Terms = append(d.Terms, t)
			}
		}
		for _, cue := range k.Cues {
			if len(d.Cues) < maxKBResults && (contains(cue.Pattern, q) || contains(cue.Note, q) || cue.Cue == q) {
				d.Cues = append(d.Cues, cue)
			}
		}
	}
	adds, err := c.cfg.Store.KBAdditions(r.Context())
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.Additions, d.Skipped = additionsHere(adds, c.cfg.Engine)
	p := &page{Title: "Knowledge base", Session: s, Nav: "kb", Data: d, Error: errMsg}
	if r.URL.Query().Get("added") != "" {
		// The engine rebuilt at once is this replica's; the others, and
		// the stream workers, poll the store for additions.
		p.Flash = "Added. New screenings on this replica use it now; other replicas and the stream workers pick it up within their --sync-interval (10 s by default)."
	}
	c.render(w, status, "kb", p)
}

func (c *Console) handleKB(w http.ResponseWriter, r *http.Request, s *session) {
	c.kbPage(w, r, s, http.StatusOK, wildwarden.KBAddition{Kind: wildwarden.KBAddTerm, Lang: "und"}, "")
}

// handleKBAdd stores an admin's code word or cue, audited, and rebuilds
// the engine with it.
func (c *Console) handleKBAdd(w http.ResponseWriter, r *http.Request, s *session) {
	if s.Role != wildwarden.RoleAdmin {
		c.render(w, http.StatusForbidden, "error", &page{Title: "Refused", Session: s, Error: "Only admins add to the knowledge base."})
		return
	}
	f := r.PostForm
	a := wildwarden.KBAddition{
		TenantID: s.TenantID, Kind: f.Get("kind"), Text: strings.TrimSpace(f.Get("text")), Lang: strings.TrimSpace(f.Get("lang")),
		Category: f.Get("category"), Taxon: strings.TrimSpace(f.Get("taxon")), Cue: f.Get("cue"), Regex: f.Get("regex") == "on",
		Note: strings.TrimSpace(f.Get("note")), CreatedBy: s.UserID,
	}
	if a.Kind == wildwarden.KBAddTerm {
		a.Cue, a.Regex = "", false
	} else {
		a.Category, a.Taxon = "", ""
	}
	if c.cfg.Engine == nil {
		c.kbPage(w, r, s, http.StatusBadRequest, a, "This console runs without a screening engine.")
		return
	}
	// What this replica's engine refuses is refused before it is stored:
	// stored, it would be skipped here.
	if err := c.cfg.Engine.Check(&a); err != nil {
		c.kbPage(w, r, s, http.StatusBadRequest, a, message(err))
		return
	}
	if err := c.cfg.Store.AddKBAddition(r.Context(), &a); err != nil {
		c.fail(w, r, s, err)
		return
	}
	adds, err := c.cfg.Store.KBAdditions(r.Context())
	if err == nil {
		err = c.cfg.Engine.Apply(adds)
	}
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.log.Info("console: knowledge base addition", "id", a.ID, "kind", a.Kind, "text", a.Text, "by", s.UserName)
	http.Redirect(w, r, "/kb?added=1&q="+url.QueryEscape(a.Text), http.StatusSeeOther)
}
