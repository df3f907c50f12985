package wildwarden

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Store keeps everything the screening service must remember: tenants and
// their keys, every verdict with its history, the review queue and the facts
// that feed it (reports, claims, decisions, appeals), statements of reasons,
// webhook deliveries and the hash-chained audit log.
//
// Facts are appended, never updated in place: a verdict, a claim, a decision
// is a new row and the current state of a listing or a queue item is derived
// from the latest facts. Every method that takes a tenant ID only ever reads
// or writes that tenant's rows. Every state change appends an audit entry in
// the same transaction. Implementations are safe for concurrent use; the
// shared test suite in package storetest states the contract.
type Store interface {
	// Tenants, users and keys.
	CreateTenant(ctx context.Context, t *Tenant) error
	Tenants(ctx context.Context) ([]Tenant, error)
	CreateUser(ctx context.Context, u *User) error
	Users(ctx context.Context, tenantID string) ([]User, error)
	CreateKey(ctx context.Context, k *APIKey) error
	// KeyByHash returns the unrevoked key with this hash, or ENOTFOUND.
	KeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	Keys(ctx context.Context, tenantID string) ([]APIKey, error)
	RevokeKey(ctx context.Context, tenantID, keyID string) error

	// SaveScreenings persists screened listings. A screening whose listing ID
	// and content hash equal the tenant's latest stored ones is a duplicate:
	// nothing is written and the stored verdict is returned in place (its
	// Duplicate field set). Each screening succeeds or fails on its own; the
	// returned slice holds one error (or nil) per screening.
	SaveScreenings(ctx context.Context, tenantID string, s []*Screening) ([]error, error)
	// StoredVerdict returns the verdict of the listing's latest screening
	// when that screening judged this exact content, else ENOTFOUND. It is
	// the cheap check that lets a repeated request skip screening.
	StoredVerdict(ctx context.Context, tenantID, listingID, contentHash string) (*Verdict, error)
	// LatestScreening returns the tenant's latest screening of a listing.
	LatestScreening(ctx context.Context, tenantID, listingID string) (*Screening, error)
	// ListingState returns a listing's verdict history, review decisions
	// and derived status.
	ListingState(ctx context.Context, tenantID, listingID string) (*ListingState, error)

	// Review queue.
	// Enqueue adds an item, or folds it into the listing's open item of the
	// same kind (the item's ID is then set to the open item's).
	Enqueue(ctx context.Context, item *QueueItem) error
	// Queue lists open items by priority, highest first.
	Queue(ctx context.Context, tenantID string, limit int) ([]QueueItem, error)
	QueueItem(ctx context.Context, tenantID, itemID string) (*QueueItem, error)
	// Claim leases the highest-priority open item that is not leased and
	// that this reviewer may decide; ENOTFOUND when there is none.
	Claim(ctx context.Context, tenantID, reviewerID string, lease time.Duration) (*QueueItem, error)
	// Decide records a reviewer's decision on an item the reviewer holds
	// under an unexpired lease (ECONFLICT otherwise), with its effects.
	Decide(ctx context.Context, d *ReviewDecision, fx *Effects) error
	// LastRemoval returns the latest remove decision on a listing.
	LastRemoval(ctx context.Context, tenantID, listingID string) (*ReviewDecision, error)
	// AddReport stores a user report and folds it into the listing's open
	// report item (creating one when needed); it sets r.ItemID.
	AddReport(ctx context.Context, r *Report, item *QueueItem) error
	// Reputation returns how many of a reporter's past reports were decided
	// and how many of those were upheld.
	Reputation(ctx context.Context, tenantID, reporterID string) (upheld, decided int, err error)
	// AddAppeal stores an appeal and its queue item (decided by a reviewer
	// other than item.ExcludeReviewer).
	AddAppeal(ctx context.Context, a *Appeal, item *QueueItem) error
	// SampleAllowed returns up to n random listings whose latest verdict is
	// allow, for prevalence audits.
	SampleAllowed(ctx context.Context, tenantID string, n int) ([]string, error)

	// Statements of reasons.
	Statement(ctx context.Context, tenantID, id string) (*Statement, error)
	// Statements lists statements created at or after since, oldest first.
	Statements(ctx context.Context, tenantID string, since time.Time, limit int) ([]Statement, error)

	// Webhooks.
	CreateWebhook(ctx context.Context, w *Webhook) error
	Webhooks(ctx context.Context, tenantID string) ([]Webhook, error)
	// DueDeliveries returns pending deliveries of all tenants whose next
	// attempt is due at now, with their webhook (for the dispatcher).
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// RecordAttempt stores the outcome of one delivery attempt.
	RecordAttempt(ctx context.Context, a *DeliveryAttempt) error
	// Deliveries lists a tenant's deliveries in a state ("" for all).
	Deliveries(ctx context.Context, tenantID, state string, limit int) ([]Delivery, error)

	// AddSearchEvent counts a search-warning event.
	AddSearchEvent(ctx context.Context, e *SearchEvent) error
	// Stats returns a tenant's counts.
	Stats(ctx context.Context, tenantID string) (*Stats, error)

	// AuditLog lists a tenant's audit entries after seq, in order.
	AuditLog(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]AuditEntry, error)
	// VerifyAudit walks the whole chain and returns the number of entries
	// and the head hash, or an error naming the first broken entry.
	VerifyAudit(ctx context.Context) (n int64, head string, err error)

	// Image hash banks (package image/bank holds them in memory; these
	// persist them). Every change is audited; names are unique per tenant.
	ImageBanks(ctx context.Context, tenantID string) ([]ImageBank, error)
	// ImageBankEntries lists a bank's entries, oldest first; ENOTFOUND when
	// the tenant has no such bank.
	ImageBankEntries(ctx context.Context, tenantID, bank string) ([]ImageBankEntry, error)
	// CreateImageBank stores a new bank (ECONFLICT when the name is taken).
	CreateImageBank(ctx context.Context, b *ImageBank) error
	// DeleteImageBank deletes a bank and its entries (ENOTFOUND when none).
	DeleteImageBank(ctx context.Context, tenantID, bank string) error
	// AddImageBankEntry stores an entry in an existing bank (ENOTFOUND for
	// the bank, ECONFLICT when the entry ID is taken in it).
	AddImageBankEntry(ctx context.Context, tenantID string, e *ImageBankEntry) error
	// RemoveImageBankEntry deletes an entry (ENOTFOUND when none).
	RemoveImageBankEntry(ctx context.Context, tenantID, bank, id string) error
	// ImageBankEntry returns one entry (ENOTFOUND when the tenant has no
	// such bank or the bank no such entry).
	ImageBankEntry(ctx context.Context, tenantID, bank, id string) (*ImageBankEntry, error)

	// Following changes made by other processes. Every change is audited
	// in its own transaction and both stores append to the audit chain in
	// commit order, so a reader never sees an entry without the ones before
	// it: a replica that has applied the entries up to a sequence number
	// holds every change committed up to it.
	// SyncLog lists the audit entries of all tenants after afterSeq whose
	// action is one of SyncActions (what a running service keeps in
	// memory: knowledge-base additions, image banks), oldest first, at
	// most limit. An index holds only those entries, so a poll that finds
	// nothing new costs one index probe however long the log is.
	SyncLog(ctx context.Context, afterSeq int64, limit int) ([]AuditEntry, error)
	// SyncHead returns the sequence number of the newest such entry, 0
	// when there is none: read it before loading what it covers, and
	// follow SyncLog from it.
	SyncHead(ctx context.Context) (int64, error)

	// Ready reports whether the store can serve (for /readyz).
	Ready(ctx context.Context) error
	Close() error

	// Review console (package console).
	// SetPassword stores a user's password hash (an encoded argon2id hash,
	// never the password) and ends the user's console sessions, so a reset
	// signs out whoever knew the old password; ENOTFOUND when the tenant
	// has no such user.
	SetPassword(ctx context.Context, tenantID, userID, hash string) error
	// SellerListings returns the latest screening of each listing of a
	// seller, newest first.
	SellerListings(ctx context.Context, tenantID, sellerID string, limit int) ([]Screening, error)
	// ListingReports returns the user reports of a listing, newest first.
	ListingReports(ctx context.Context, tenantID, listingID string, limit int) ([]Report, error)
	// AddKBAddition stores a code word or cue an admin added to the
	// knowledge base; the screening engine applies all additions over its
	// embedded knowledge base.
	AddKBAddition(ctx context.Context, a *KBAddition) error
	// KBAdditions lists all knowledge-base additions, oldest first.
	KBAdditions(ctx context.Context) ([]KBAddition, error)
	// Activity returns a tenant's daily counts since a time, for the
	// console's dashboard.
	Activity(ctx context.Context, tenantID string, since time.Time) (*Activity, error)

	// Console sessions and failed sign-ins are kept here, not in the
	// console's memory, so that every replica sees a sign-in or sign-out at
	// once and a restart signs no one out. They are working state, not
	// facts: rows are deleted, and they are not audited (the console logs
	// sign-ins). Times come from the caller, whose clock decides expiry.
	// CreateSession stores a session (ENOTFOUND when the tenant has no such
	// user, ECONFLICT when a session has the token hash, EINVALID when a
	// field is missing).
	CreateSession(ctx context.Context, s *ConsoleSession) error
	// Session returns the session with this token hash unless it has
	// expired at now; ENOTFOUND otherwise.
	Session(ctx context.Context, tokenHash []byte, now time.Time) (*ConsoleSession, error)
	// DeleteSession ends a session (signing out); ending one that does not
	// exist is no error.
	DeleteSession(ctx context.Context, tokenHash []byte) error
	// AddSignInFailure records a failed sign-in of a tenant and user name
	// (the console folds their case, and names a tenant by its name however
	// it was typed). Once it returns, every SignInFailures call that starts
	// counts it, on any replica: the console counts an attempt before it
	// checks the password, and relies on this to hold the lockout against
	// attempts sent at once. It returns the failure's sequence number,
	// which grows with each failure stored.
	AddSignInFailure(ctx context.Context, tenant, user string, at time.Time) (int64, error)
	// SignInFailures returns the times of a tenant and user name's latest
	// failed sign-ins after since, newest first, at most limit of them.
	SignInFailures(ctx context.Context, tenant, user string, since time.Time, limit int) ([]time.Time, error)
	// ClearSignInFailures forgets a tenant and user name's failures up to
	// and including the one numbered through (after a successful sign-in,
	// its own attempt's): failures stored after it stay counted.
	ClearSignInFailures(ctx context.Context, tenant, user string, through int64) error
	// PruneSignIns deletes the sessions expired at now and the failed
	// sign-ins at or before failuresBefore. Neither counts any more, so
	// calling it now and then only keeps the tables small.
	PruneSignIns(ctx context.Context, now, failuresBefore time.Time) error

	// Learning from reviewers.
	// ExportDecisions calls fn once for each of the tenant's listings whose
	// latest reviewer decision was made at or after since (the zero time:
	// all), oldest decision first, with the listing as screened before
	// that decision. Listings never screened before their decision (a
	// report by URL alone) have no content to learn from and are left
	// out. Rows are streamed from one snapshot of the database, so memory
	// stays constant however many there are; an error from fn stops the
	// export and is returned as it is.
	ExportDecisions(ctx context.Context, tenantID string, since time.Time, fn func(*DecidedListing) error) error
}

// Roles of an API key or user.
const (
	RolePlatform = "platform" // screen, report, appeal, search-check
	RoleReviewer = "reviewer" // the review queue
	RoleAdmin    = "admin"    // everything in its tenant
)

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return r == RolePlatform || r == RoleReviewer || r == RoleAdmin }

// Tenant is a platform using the service. No tenant sees another's data.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// User is a person acting in a tenant, such as a reviewer. PasswordHash is
// empty until the console adds password logins.
type User struct {
	ID           string    `json:"id"`
	TenantID     string    `json:"tenant_id"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
}

// APIKey grants a role in one tenant. Only the SHA-256 hash of the secret
// is stored; Prefix (the first characters of the secret) helps a person
// tell keys apart.
type APIKey struct {
	ID        string     `json:"id"`
	TenantID  string     `json:"tenant_id"`
	UserID    string     `json:"user_id,omitempty"`
	Role      string     `json:"role"`
	Name      string     `json:"name,omitempty"`
	Prefix    string     `json:"prefix"`
	Hash      []byte     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// HashKey returns the stored form of an API key secret. Keys are 32 random
// bytes, so a plain SHA-256 is enough (no slow hash is needed against
// guessing).
func HashKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// ContentHash returns a stable hash of the parts of a listing that screening
// reads; equal hashes mean re-screening would judge the same content.
func ContentHash(l *Listing) string {
	c := *l
	c.CreatedAt = time.Time{}
	data, _ := c.AppendJSON(nil) // json.Marshal's bytes; nil, as before, when it would fail
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// Screening is one stored verdict on one version of a listing, with what
// the verdict sets in motion (a review item, a statement of reasons,
// webhook events), written in one transaction.
type Screening struct {
	Seq         int64     `json:"seq"`
	TenantID    string    `json:"-"`
	ListingID   string    `json:"listing_id"`
	ContentHash string    `json:"content_hash"`
	SellerID    string    `json:"seller_id,omitempty"` // room for seller-network detection
	Listing     *Listing  `json:"listing,omitempty"`
	Verdict     *Verdict  `json:"verdict"`
	Source      string    `json:"source,omitempty"` // "api", "report", …
	CreatedAt   time.Time `json:"created_at"`

	// Effects written with the screening unless it is a duplicate.
	Enqueue   *QueueItem `json:"-"`
	Statement *Statement `json:"-"`
	Events    []Event    `json:"-"`

	// Duplicate is set by the store when the same content was stored
	// before; the fields above then hold the stored screening.
	Duplicate bool `json:"duplicate,omitempty"`
}

// Sources of a screening.
const (
	SourceAPI    = "api"    // the platform sent the listing
	SourceReport = "report" // re-screened because users reported it
)

// Listing statuses derived from verdicts and decisions.
const (
	StatusAllowed  = "allowed"
	StatusInReview = "in_review"
	StatusBlocked  = "blocked"
	StatusRemoved  = "removed"
	StatusRestored = "restored"
)

// ListingState is a listing's history and its current status.
type ListingState struct {
	ListingID string           `json:"id"`
	Status    string           `json:"status"`
	Latest    *Screening       `json:"latest"`
	History   []Screening      `json:"history"`
	Decisions []ReviewDecision `json:"decisions"`
}

// DeriveStatus computes the status from the latest screening and the
// decisions (oldest first): a human decision after the latest verdict
// overrides it.
func (s *ListingState) DeriveStatus() string {
	if s.Latest == nil {
		return ""
	}
	status := StatusAllowed
	switch s.Latest.Verdict.Decision {
	case Block:
		status = StatusBlocked
	case Review:
		status = StatusInReview
	}
	for _, d := range s.Decisions {
		// A re-screening prompted by a report judges the same content, so
		// it does not undo a person's earlier decision; new content does.
		if d.CreatedAt.Before(s.Latest.CreatedAt) && s.Latest.Source != SourceReport {
			continue
		}
		switch {
		case d.Action == ActionRemove:
			status = StatusRemoved
		case d.Action == ActionAllow && d.ItemKind == ItemAppeal:
			status = StatusRestored
		case d.Action == ActionAllow:
			status = StatusAllowed
		}
	}
	return status
}

// Kinds of review queue item.
const (
	ItemVerdict = "verdict" // the engine asked for review
	ItemReport  = "report"  // users reported the listing
	ItemAppeal  = "appeal"  // a seller contests a removal
	ItemAudit   = "audit"   // random sample of allowed listings
)

// QueueItem is one thing for a reviewer to decide.
type QueueItem struct {
	ID        string  `json:"id"`
	TenantID  string  `json:"-"`
	ListingID string  `json:"listing_id"`
	Kind      string  `json:"kind"`
	Priority  float64 `json:"priority"`
	Score     float64 `json:"score"`
	CITES     string  `json:"cites,omitempty"`
	Reports   int     `json:"reports"`
	Reach     int64   `json:"reach,omitempty"`
	// ReportWeight is the sum of the reporters' reputation weights.
	ReportWeight float64 `json:"report_weight,omitempty"`
	// ExcludeReviewer may not decide this item (the author of the
	// decision an appeal contests).
	ExcludeReviewer string     `json:"exclude_reviewer,omitempty"`
	Escalated       bool       `json:"escalated,omitempty"`
	ClaimedBy       string     `json:"claimed_by,omitempty"`
	LeaseUntil      *time.Time `json:"lease_until,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
}

// QueuePriority orders the review queue: the engine's score, the CITES
// appendix of the species in evidence (I most urgent), the weighted user
// reports and the listing's reach (views or followers, log-scaled).
func QueuePriority(score float64, cites string, reportWeight float64, reach int64) float64 {
	p := score * 10
	p += [...]float64{0, 1, 3, 5}[CITESRank(cites)]
	p += 2 * reportWeight
	if reach > 0 {
		p += math.Log10(float64(reach) + 1)
	}
	return math.Round(p*1000) / 1000
}

// ReportWeight is how much one report counts toward priority: 0.5 for a
// reporter with no history, up to 1.5 for one whose reports were always
// upheld (Laplace-smoothed share of upheld reports).
func ReportWeight(upheld, decided int) float64 {
	return 0.5 + float64(upheld+1)/float64(decided+2)
}

// TopCITES returns the most protective CITES appendix among the verdict's
// species ("" when none is listed).
func TopCITES(v *Verdict) string {
	best := ""
	for _, s := range v.Species {
		if CITESRank(s.CITES) > CITESRank(best) {
			best = s.CITES
		}
	}
	if i := strings.IndexByte(best, '/'); i > 0 {
		best = best[:i] // "I/II" (split-listed) counts as its stricter appendix
	}
	return best
}

// CITESRank orders appendices: I (3) is the most protective, then II, III,
// and 0 for none. A split listing such as "I/II" ranks as its strictest.
func CITESRank(appendix string) int {
	best := 0
	for _, a := range strings.Split(appendix, "/") {
		switch strings.TrimSpace(a) {
		case "I":
			best = max(best, 3)
		case "II":
			best = max(best, 2)
		case "III":
			best = max(best, 1)
		}
	}
	return best
}

// Reach reads the optional `reach` field a platform may send with a listing
// (views or followers); 0 when absent or not a number.
func Reach(l *Listing) int64 {
	n, err := strconv.ParseFloat(l.ExtraString("reach"), 64)
	if err != nil || n < 0 {
		return 0
	}
	return int64(n)
}

// Review actions.
const (
	ActionRemove   = "remove"
	ActionAllow    = "allow"
	ActionEscalate = "escalate"
)

// ReviewDecision is a reviewer's decision on a queue item, a new fact each
// time.
type ReviewDecision struct {
	ID         string    `json:"id"`
	TenantID   string    `json:"-"`
	ItemID     string    `json:"item_id"`
	ItemKind   string    `json:"item_kind"`
	ListingID  string    `json:"listing_id"`
	ReviewerID string    `json:"reviewer_id"`
	Action     string    `json:"action"`
	Reasons    []string  `json:"reasons"`
	Note       string    `json:"note,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// DecidedListing is a listing a reviewer decided, as the store exports it
// to train and evaluate models on: the listing as it was screened before
// the decision (what the reviewer judged), that screening's verdict, and
// the latest decision on the listing. It is also one line of the JSON
// Lines export (`admin export-decisions`, GET /v1/decisions/export) that
// `train --from-decisions` reads. The decision's free-text note is left
// out: it may name people and teaches a model nothing.
type DecidedListing struct {
	Listing *Listing `json:"listing"`
	// Action is the reviewer's: ActionRemove, ActionAllow or
	// ActionEscalate (not decided yet).
	Action     string    `json:"action"`
	Reasons    []string  `json:"reasons"`
	ReviewerID string    `json:"reviewer_id"`
	DecidedAt  time.Time `json:"decided_at"`
	DecisionID string    `json:"decision_id"`
	// ItemKind is the kind of queue item decided (verdict, report, appeal,
	// audit): it tells engine-flagged listings from user-reported ones and
	// random samples.
	ItemKind string          `json:"item_kind"`
	Verdict  ScreenedVerdict `json:"verdict"`
}

// SetStored fills the decision's reasons and the screened listing from
// the JSON the stores keep them as.
func (dl *DecidedListing) SetStored(reasons, listing []byte) error {
	if err := json.Unmarshal(reasons, &dl.Reasons); err != nil {
		return fmt.Errorf("reasons of decision %s: %w", dl.DecisionID, err)
	}
	dl.Listing = new(Listing)
	if err := json.Unmarshal(listing, dl.Listing); err != nil {
		return fmt.Errorf("listing of screening %d: %w", dl.Verdict.Seq, err)
	}
	return nil
}

// ScreenedVerdict is the engine's verdict on the screening a reviewer
// decided, for comparing the engine with the person.
type ScreenedVerdict struct {
	Decision   Decision  `json:"decision"`
	Score      float64   `json:"score"`
	Seq        int64     `json:"seq"`
	ScreenedAt time.Time `json:"screened_at"`
}

// Effects are what a decision sets in motion, written in its transaction.
type Effects struct {
	Statement *Statement
	Events    []Event
}

// Report is a user's report of a listing.
type Report struct {
	ID         string    `json:"id"`
	TenantID   string    `json:"-"`
	ListingID  string    `json:"listing_id"`
	URL        string    `json:"url,omitempty"`
	Reason     string    `json:"reason"`
	ReporterID string    `json:"reporter_id,omitempty"`
	Note       string    `json:"note,omitempty"`
	Weight     float64   `json:"weight"`
	ItemID     string    `json:"item_id"`
	CreatedAt  time.Time `json:"created_at"`
}

// Appeal is a seller contesting a removal.
type Appeal struct {
	ID          string    `json:"id"`
	TenantID    string    `json:"-"`
	ListingID   string    `json:"listing_id"`
	DecisionID  string    `json:"decision_id"`
	AppellantID string    `json:"appellant_id,omitempty"`
	Note        string    `json:"note,omitempty"`
	ItemID      string    `json:"item_id"`
	CreatedAt   time.Time `json:"created_at"`
}

// Statement is a statement of reasons with the fields of the EU Digital
// Services Act transparency database (Article 17 and 24(5) DSA), so that a
// platform can submit it as is.
type Statement struct {
	ID                         string    `json:"id"`
	TenantID                   string    `json:"-"`
	ListingID                  string    `json:"listing_id"`
	PUID                       string    `json:"puid"`
	DecisionVisibility         []string  `json:"decision_visibility"`
	DecisionGround             string    `json:"decision_ground"`
	DecisionGroundReferenceURL string    `json:"decision_ground_reference_url,omitempty"`
	IllegalContentLegalGround  string    `json:"illegal_content_legal_ground,omitempty"`
	IllegalContentExplanation  string    `json:"illegal_content_explanation,omitempty"`
	Category                   string    `json:"category"`
	CategorySpecification      []string  `json:"category_specification,omitempty"`
	TerritorialScope           []string  `json:"territorial_scope"`
	ContentType                []string  `json:"content_type"`
	ContentDate                string    `json:"content_date"`
	ContentLanguage            string    `json:"content_language,omitempty"`
	ApplicationDate            string    `json:"application_date"`
	DecisionFacts              string    `json:"decision_facts"`
	SourceType                 string    `json:"source_type"`
	AutomatedDetection         string    `json:"automated_detection"`
	AutomatedDecision          string    `json:"automated_decision"`
	CreatedAt                  time.Time `json:"created_at"`
}

// Webhook events.
const (
	EventBlock   = "block"
	EventRemove  = "remove"
	EventRestore = "restore"
)

// Event is an action a platform is notified of.
type Event struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	ListingID string    `json:"listing_id"`
	Decision  string    `json:"decision,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	At        time.Time `json:"at"`
}

// Webhook is an endpoint a tenant registered. Secret signs the bodies.
type Webhook struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"-"`
	URL       string    `json:"url"`
	Secret    string    `json:"-"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"created_at"`
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryDead      = "dead"
)

// Delivery is one event on its way to one webhook.
type Delivery struct {
	ID         string    `json:"id"`
	TenantID   string    `json:"-"`
	WebhookID  string    `json:"webhook_id"`
	URL        string    `json:"url"`
	Secret     string    `json:"-"`
	EventType  string    `json:"event"`
	Body       []byte    `json:"-"`
	State      string    `json:"state"`
	Attempts   int       `json:"attempts"`
	NextAt     time.Time `json:"next_at"`
	LastStatus int       `json:"last_status,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// DeliveryAttempt is the outcome of one try; State is the delivery's new
// state and NextAt the next try when it stays pending.
type DeliveryAttempt struct {
	DeliveryID string
	TenantID   string
	Status     int
	Error      string
	State      string
	NextAt     time.Time
}

// Search-warning event types.
const (
	SearchImpression = "impression"
	SearchClick      = "click"
	SearchDismiss    = "dismiss"
)

// SearchEvent is a user's response to a search warning.
type SearchEvent struct {
	TenantID string    `json:"-"`
	Type     string    `json:"type"`
	Lang     string    `json:"lang,omitempty"`
	Category string    `json:"category,omitempty"`
	At       time.Time `json:"at"`
}

// Stats are a tenant's counts.
type Stats struct {
	Verdicts     map[string]int64 `json:"verdicts"`
	OpenItems    int64            `json:"open_items"`
	Decisions    map[string]int64 `json:"decisions"`
	Reports      int64            `json:"reports"`
	Appeals      int64            `json:"appeals"`
	Statements   int64            `json:"statements"`
	SearchEvents map[string]int64 `json:"search_events"`
	DeadLetters  int64            `json:"dead_letters"`
}

// AuditEntry is one row of the hash-chained audit log. Hash is the SHA-256
// of PrevHash and the entry's content, so editing or deleting any row
// breaks the chain from there on.
type AuditEntry struct {
	Seq      int64     `json:"seq"`
	TenantID string    `json:"tenant_id"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Subject  string    `json:"subject"`
	Data     string    `json:"data"`
	At       time.Time `json:"at"`
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
}

// ComputeHash returns the entry's chain hash from its content and PrevHash.
func (e *AuditEntry) ComputeHash() string {
	h := sha256.New()
	h.Write([]byte(e.PrevHash))
	for _, part := range []string{
		strconv.FormatInt(e.Seq, 10), e.TenantID, e.Actor, e.Action, e.Subject, e.Data,
		e.At.UTC().Format(time.RFC3339Nano),
	} {
		h.Write([]byte{0})
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Audit actions of the changes a running service keeps in memory, which
// replicas follow through SyncLog.
const (
	AuditKBAdd      = "kb.add"      // subject: the addition's ID
	AuditBankCreate = "bank.create" // subject: the bank's name
	AuditBankDelete = "bank.delete" // subject: the bank's name
	AuditBankAdd    = "bank.add"    // subject: BANK/ENTRY-ID
	AuditBankRemove = "bank.remove" // subject: BANK/ENTRY-ID
)

// SyncActions are the actions SyncLog lists.
var SyncActions = []string{AuditKBAdd, AuditBankCreate, AuditBankDelete, AuditBankAdd, AuditBankRemove}

type actorKey struct{}

// WithActor returns a context that names who acts (a key or user ID), for
// the audit log.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// Actor returns the actor named by WithActor, or "system".
func Actor(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "system"
}

// NewID returns a random identifier with a readable prefix, such as
// "item_3f9c…".
func NewID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + "_" + hex.EncodeToString(b[:])
}

// Kinds of knowledge-base addition.
const (
	KBAddTerm = "term" // a code word (a row of kb/data/terms.tsv)
	KBAddCue  = "cue"  // a context cue (a row of kb/data/cues.tsv)
)

// KBAddition is a code word or cue an admin added in the console. It takes
// effect without a restart and is kept (and audited) in the store, so every
// start applies it over the embedded knowledge base, and other replicas
// pick it up from the audit log (SyncLog). Additions apply to the engine
// of every tenant; TenantID and CreatedBy say who added it.
type KBAddition struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Kind     string `json:"kind"` // KBAddTerm or KBAddCue
	// Text is the term, or the cue's pattern.
	Text string `json:"text"`
	Lang string `json:"lang"`
	// For a term: its category and taxon key ("" for none).
	Category string `json:"category,omitempty"`
	Taxon    string `json:"taxon,omitempty"`
	// For a cue: its name (sale_intent, imitation, …) and whether Text is
	// a regular expression.
	Cue       string    `json:"cue,omitempty"`
	Regex     bool      `json:"regex,omitempty"`
	Note      string    `json:"note"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// ConsoleSession is a person signed in to the review console. Only the
// SHA-256 of the cookie's token is stored, so a copy of the database
// hands out no working cookie.
type ConsoleSession struct {
	TokenHash []byte
	TenantID  string
	// TenantName and UserName are read with the session, for the pages.
	TenantName string
	UserID     string
	UserName   string
	// Role is the user's role at sign-in (reviewer or admin).
	Role string
	// CSRF is the token every form of the session carries.
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Valid checks the fields a store needs to keep a new session.
func (s *ConsoleSession) Valid() error {
	switch {
	case len(s.TokenHash) != sha256.Size:
		return Errorf(EINVALID, "token_hash", "must be a SHA-256 hash (%d bytes)", sha256.Size)
	case s.TenantID == "":
		return Errorf(EINVALID, "tenant_id", "is required")
	case s.UserID == "":
		return Errorf(EINVALID, "user_id", "is required")
	case s.Role != RoleReviewer && s.Role != RoleAdmin:
		return Errorf(EINVALID, "role", "must be reviewer or admin")
	case s.CSRF == "":
		return Errorf(EINVALID, "csrf", "is required")
	case s.ExpiresAt.IsZero():
		return Errorf(EINVALID, "expires_at", "is required")
	}
	return nil
}

// Activity is a tenant's activity per UTC day ("2006-01-02"), for the
// console's dashboard.
type Activity struct {
	// ByCategory counts screenings, automated blocks and reviewer removals
	// per day and category ("" when the verdict named none); a listing with
	// two categories counts in both.
	ByCategory []CategoryDay `json:"by_category"`
	// Days counts the rest per day.
	Days []ActivityDay `json:"days"`
	// DecisionTimes holds, for each reviewer decision, the time from the
	// item entering the queue to the decision.
	DecisionTimes []time.Duration `json:"decision_times"`
	// Reviewers counts decisions per reviewer ID.
	Reviewers map[string]int64 `json:"reviewers"`
	// AuditDecided counts decided random-sample audit items (allow or
	// remove) and AuditViolating those a reviewer removed.
	AuditDecided   int64 `json:"audit_decided"`
	AuditViolating int64 `json:"audit_violating"`
}

// CategoryDay is one day of one category.
type CategoryDay struct {
	Day      string `json:"day"`
	Category string `json:"category"`
	Screened int64  `json:"screened"`
	Blocked  int64  `json:"blocked"`
	Removed  int64  `json:"removed"`
}

// ActivityDay is one day's counts.
type ActivityDay struct {
	Day string `json:"day"`
	// Automated counts verdicts that decided alone (allow or block);
	// Human counts reviewer decisions.
	Automated int64 `json:"automated"`
	Human     int64 `json:"human"`
	// Violating counts distinct listings blocked or removed that day.
	Violating     int64 `json:"violating"`
	Reports       int64 `json:"reports"`
	ReportsUpheld int64 `json:"reports_upheld"`
	SearchShown   int64 `json:"search_shown"`
	SearchClicked int64 `json:"search_clicked"`
}

// ImageBank is a tenant's named bank of photo hashes: "deny" banks hold
// photos of known illegal offers, "allow" banks photos that must never
// match (stock photos).
type ImageBank struct {
	TenantID    string    `json:"-"`
	Name        string    `json:"name"`
	Kind        string    `json:"kind"`
	Description string    `json:"description,omitempty"`
	CreatedBy   string    `json:"created_by,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// ImageBankEntry is one photo hash in a bank. Hash is the 64 hex digits
// of a PDQ hash; Source says where the photo was seen (a listing ID, a
// URL, a case).
type ImageBankEntry struct {
	Bank     string    `json:"bank"`
	ID       string    `json:"id"`
	Hash     string    `json:"hash"`
	Quality  int       `json:"quality"`
	Species  string    `json:"species,omitempty"`
	Category string    `json:"category,omitempty"`
	Source   string    `json:"source,omitempty"`
	AddedBy  string    `json:"added_by,omitempty"`
	AddedAt  time.Time `json:"added_at"`
	Note     string    `json:"note,omitempty"`
}
