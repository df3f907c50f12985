package console

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wildwarden/wildwarden"
)

// queueLimit bounds the items a queue page reads.
const queueLimit = 200

// sourceOf names where a queue item came from, as the queue's filter
// does: screen (the engine asked), report, appeal or audit.
func sourceOf(kind string) string {
	if kind == wildwarden.ItemVerdict {
		return "screen"
	}
	return kind
}

// queueRow is a queue item with what the list shows of its listing.
type queueRow struct {
	Item       wildwarden.QueueItem
	Title      string
	Lang       string
	Categories []string
	Decision   string
	Mine       bool // leased to the viewer now
	Leased     bool // leased to someone now
}

// queueData fills the queue and appeals pages.
type queueData struct {
	Rows                   []queueRow
	Category, Lang, Source string
	Categories, Langs      []string
	Sources                []string
	Total                  int
	Appeals                bool
	HiddenOwnAppeals       int
}

// visibleTo reports whether a reviewer may see and decide an item: an
// appeal is hidden from the reviewer whose decision it contests.
func visibleTo(item *wildwarden.QueueItem, s *session) bool {
	return item.ExcludeReviewer == "" || item.ExcludeReviewer != s.UserID
}

// rows loads the tenant's open items with their listings' title, language
// and categories.
func (c *Console) rows(r *http.Request, s *session) ([]queueRow, int, error) {
	items, err := c.cfg.Store.Queue(r.Context(), s.TenantID, queueLimit)
	if err != nil {
		return nil, 0, err
	}
	now := c.now()
	var out []queueRow
	hidden := 0
	for _, it := range items {
		if !visibleTo(&it, s) {
			hidden++
			continue
		}
		row := queueRow{Item: it}
		row.Leased = it.LeaseUntil != nil && it.LeaseUntil.After(now)
		row.Mine = row.Leased && it.ClaimedBy == s.UserID
		sc, err := c.cfg.Store.LatestScreening(r.Context(), s.TenantID, it.ListingID)
		switch {
		case err == nil:
			row.Title, row.Lang = sc.Listing.Title, sc.Listing.Lang
			row.Categories, row.Decision = sc.Verdict.Categories, string(sc.Verdict.Decision)
		case wildwarden.ErrorCode(err) != wildwarden.ENOTFOUND:
			return nil, 0, err
		}
		if row.Title == "" {
			row.Title = it.ListingID
		}
		out = append(out, row)
	}
	return out, hidden, nil
}

func (c *Console) queuePage(w http.ResponseWriter, r *http.Request, s *session, appeals bool) {
	rows, hidden, err := c.rows(r, s)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	q := r.URL.Query()
	d := queueData{Category: q.Get("category"), Lang: q.Get("lang"), Source: q.Get("source"), Appeals: appeals,
		Sources: []string{"screen", wildwarden.ItemReport, wildwarden.ItemAppeal, wildwarden.ItemAudit}}
	if appeals {
		d.Source, d.HiddenOwnAppeals = wildwarden.ItemAppeal, hidden
	}
	for _, row := range rows {
		for _, cat := range row.Categories {
			if !slices.Contains(d.Categories, cat) {
				d.Categories = append(d.Categories, cat)
			}
		}
		if row.Lang != "" && !slices.Contains(d.Langs, row.Lang) {
			d.Langs = append(d.Langs, row.Lang)
		}
		if d.Category != "" && !slices.Contains(row.Categories, d.Category) ||
			d.Lang != "" && row.Lang != d.Lang ||
			d.Source != "" && sourceOf(row.Item.Kind) != d.Source {
			continue
		}
		d.Rows = append(d.Rows, row)
	}
	slices.Sort(d.Categories)
	slices.Sort(d.Langs)
	d.Total = len(rows)
	title, nav := "Review queue", "queue"
	if appeals {
		title, nav = "Appeals", "appeals"
	}
	p := &page{Title: title, Session: s, Nav: nav, Data: d}
	switch q.Get("done") {
	case wildwarden.ActionRemove:
		p.Flash = "Removed " + q.Get("listing") + "."
	case wildwarden.ActionAllow:
		p.Flash = "Allowed " + q.Get("listing") + "."
	case wildwarden.ActionEscalate:
		p.Flash = "Escalated " + q.Get("listing") + "."
	}
	if q.Get("empty") != "" {
		p.Flash = "Nothing to claim: the queue has no open item you may decide."
	}
	c.render(w, http.StatusOK, "queue", p)
}

func (c *Console) handleQueue(w http.ResponseWriter, r *http.Request, s *session) {
	c.queuePage(w, r, s, false)
}

func (c *Console) handleAppeals(w http.ResponseWriter, r *http.Request, s *session) {
	c.queuePage(w, r, s, true)
}

// handleClaim leases the next item to the reviewer and opens it.
func (c *Console) handleClaim(w http.ResponseWriter, r *http.Request, s *session) {
	item, err := c.cfg.Store.Claim(r.Context(), s.TenantID, s.UserID, c.cfg.Lease)
	if wildwarden.ErrorCode(err) == wildwarden.ENOTFOUND {
		http.Redirect(w, r, "/queue?empty=1", http.StatusSeeOther)
		return
	}
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/items/"+url.PathEscape(item.ID), http.StatusSeeOther)
}

// itemData fills the item page.
type itemData struct {
	Item        *wildwarden.QueueItem
	Listing     *wildwarden.Listing
	Verdict     *wildwarden.Verdict
	State       *wildwarden.ListingState
	Title       []segment
	Description []segment
	SellerText  []segment
	Signals     []wildwarden.Signal
	Species     []speciesCard
	Seller      []sellerListing
	Reports     []wildwarden.Report
	Images      []imageRef
	Reasons     map[string][]reasonCode
	Mine        bool
	LeasedBy    string
	LeaseUntil  *time.Time
	OwnAppeal   bool
	Prev, Next  string
	Position    int
	QueueLength int
}

// speciesCard is a taxon in evidence with what the knowledge base says.
type speciesCard struct {
	Scientific, Common, CITES, Note string
}

// sellerListing is one of the seller's other listings with its status.
type sellerListing struct {
	ID, Title, Decision, Status string
	Decisions                   []wildwarden.ReviewDecision
}

// imageRef is an image the page may show (https or data URLs), or a
// reference it only names.
type imageRef struct {
	URL  template.URL
	Show bool
	Name string
}

func (c *Console) handleItem(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	item, err := c.cfg.Store.QueueItem(ctx, s.TenantID, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err) // another tenant's item is not found here
		return
	}
	d := itemData{Item: item, Reasons: map[string][]reasonCode{}}
	for _, rc := range c.reasons {
		d.Reasons[rc.Action] = append(d.Reasons[rc.Action], rc)
	}
	now := c.now()
	if item.LeaseUntil != nil && item.LeaseUntil.After(now) {
		d.LeaseUntil, d.LeasedBy = item.LeaseUntil, item.ClaimedBy
		d.Mine = item.ClaimedBy == s.UserID
	}
	d.OwnAppeal = !visibleTo(item, s)
	st, err := c.cfg.Store.ListingState(ctx, s.TenantID, item.ListingID)
	if err != nil && wildwarden.ErrorCode(err) != wildwarden.ENOTFOUND {
		c.fail(w, r, s, err)
		return
	}
	if st != nil && st.Latest != nil {
		d.State, d.Listing, d.Verdict = st, st.Latest.Listing, st.Latest.Verdict
		d.Title = highlight(d.Listing.Title, "title", d.Verdict.Signals)
		d.Description = highlight(d.Listing.Description, "description", d.Verdict.Signals)
		d.SellerText = highlight(d.Listing.Seller.Description, "seller.description", d.Verdict.Signals)
		d.Signals = d.Verdict.Signals
		d.Species = c.speciesCards(d.Verdict)
		d.Images = imageRefs(d.Listing.Images)
		if d.Seller, err = c.sellerListings(r, s, d.Listing); err != nil {
			c.fail(w, r, s, err)
			return
		}
	}
	if d.Reports, err = c.cfg.Store.ListingReports(ctx, s.TenantID, item.ListingID, 50); err != nil {
		c.fail(w, r, s, err)
		return
	}
	// j/k move through the queue as the reviewer sees it.
	if rows, _, err := c.rows(r, s); err == nil {
		d.QueueLength = len(rows)
		for i, row := range rows {
			if row.Item.ID != item.ID {
				continue
			}
			d.Position = i + 1
			if i > 0 {
				d.Prev = rows[i-1].Item.ID
			}
			if i+1 < len(rows) {
				d.Next = rows[i+1].Item.ID
			}
		}
	}
	title := item.ListingID
	if d.Listing != nil && d.Listing.Title != "" {
		title = d.Listing.Title
	}
	p := &page{Title: title, Session: s, Nav: "queue", Data: d}
	if msg := r.URL.Query().Get("error"); msg != "" {
		p.Error = msg
	}
	c.render(w, http.StatusOK, "item", p)
}

// speciesCards describes the verdict's species with the knowledge base's
// note on each.
func (c *Console) speciesCards(v *wildwarden.Verdict) []speciesCard {
	var out []speciesCard
	for _, sp := range v.Species {
		card := speciesCard{Scientific: sp.Name, Common: sp.Common, CITES: sp.CITES}
		if c.cfg.Engine != nil {
			for _, t := range c.cfg.Engine.KB().Taxa {
				if t.Scientific == sp.Name {
					card.Note = t.Note
					break
				}
			}
		}
		out = append(out, card)
	}
	return out
}

// maxSellerListings bounds the seller's other listings shown.
const maxSellerListings = 10

func (c *Console) sellerListings(r *http.Request, s *session, l *wildwarden.Listing) ([]sellerListing, error) {
	if l.Seller.ID == "" {
		return nil, nil
	}
	scs, err := c.cfg.Store.SellerListings(r.Context(), s.TenantID, l.Seller.ID, maxSellerListings+1)
	if err != nil {
		return nil, err
	}
	var out []sellerListing
	for _, sc := range scs {
		if sc.ListingID == l.ID || len(out) == maxSellerListings {
			continue
		}
		sl := sellerListing{ID: sc.ListingID, Title: sc.Listing.Title, Decision: string(sc.Verdict.Decision)}
		st, err := c.cfg.Store.ListingState(r.Context(), s.TenantID, sc.ListingID)
		if err != nil {
			return nil, err
		}
		sl.Status, sl.Decisions = st.Status, st.Decisions
		out = append(out, sl)
	}
	return out, nil
}

// imageRefs keeps images the browser can load without reaching into the
// reviewer's machine: https and data URLs are shown (blurred); others are
// named only.
func imageRefs(images []string) []imageRef {
	var out []imageRef
	for _, src := range images {
		ref := imageRef{Name: src}
		if strings.HasPrefix(src, "https://") || strings.HasPrefix(src, "data:image/") {
			ref.URL, ref.Show = template.URL(src), true
			if strings.HasPrefix(src, "data:") {
				ref.Name = "embedded image"
			}
		}
		out = append(out, ref)
	}
	return out
}

// maxNoteBytes bounds a decision's note.
const maxNoteBytes = 4096

// handleDecision records remove, allow or escalate with a reason code.
func (c *Console) handleDecision(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	action := r.PostForm.Get("action")
	reason := r.PostForm.Get("reason_" + action)
	known := false
	for _, rc := range c.reasons {
		known = known || rc.Action == action && rc.Code == reason
	}
	back := func(msg string) {
		http.Redirect(w, r, "/items/"+url.PathEscape(id)+"?error="+url.QueryEscape(msg), http.StatusSeeOther)
	}
	if !known {
		back("Pick remove, allow or escalate with one of its reason codes.")
		return
	}
	note := strings.TrimSpace(r.PostForm.Get("note"))
	if len(note) > maxNoteBytes {
		back("The note is too long.")
		return
	}
	item, err := c.cfg.Store.QueueItem(r.Context(), s.TenantID, id)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if !visibleTo(item, s) {
		back("You decided the removal this appeal contests; another reviewer decides the appeal.")
		return
	}
	d, err := c.cfg.Decider.DecideItem(r.Context(), s.TenantID, s.UserID, id, action, []string{reason}, note)
	switch wildwarden.ErrorCode(err) {
	case "":
	case wildwarden.ECONFLICT, wildwarden.EFORBIDDEN, wildwarden.EINVALID:
		back(message(err) + " Claim the item first (Claim next), or it may be decided already.")
		return
	default:
		c.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/queue?done="+url.QueryEscape(d.Action)+"&listing="+url.QueryEscape(d.ListingID), http.StatusSeeOther)
}
