// Package console is the review console and dashboard that `wildwarden
// serve` shows at /: sign-in for reviewers and admins, the review queue,
// the item page with the evidence highlighted in the original text, the
// appeals queue, a dashboard with charts drawn as SVG on the server, and
// the knowledge-base page where admins add code words and cues.
//
// Pages are server-rendered with html/template; a little hand-written
// JavaScript adds keyboard shortcuts, the lease countdown and the image
// reveal. Templates, styles and scripts are embedded in the binary.
package console

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/kb"
	"github.com/wildwarden/wildwarden/screen"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

//go:embed data/reasons.tsv
var reasonsTSV []byte

// Decider records a reviewer's decision with its effects (statement of
// reasons, webhooks): the API server implements it.
type Decider interface {
	DecideItem(ctx context.Context, tenantID, reviewerID, itemID, action string, reasons []string, note string) (*wildwarden.ReviewDecision, error)
}

// Engine is the running screening engine as the knowledge-base page needs
// it: its knowledge base, a way to check and apply admins' additions
// without a restart, and what it made of them (screen.Reloadable).
type Engine interface {
	KB() *kb.KB
	Check(a *wildwarden.KBAddition) error
	Apply(adds []wildwarden.KBAddition) error
	Additions() (applied []string, skipped []screen.SkippedAddition)
}

// Config wires a Console.
type Config struct {
	Store   wildwarden.Store
	Decider Decider
	Engine  Engine
	Logger  *slog.Logger
	// Lease is how long a claimed item stays with its reviewer.
	Lease time.Duration
	// SessionTTL is how long a sign-in lasts (12 hours when 0).
	SessionTTL time.Duration
	// SecureCookies marks cookies Secure even on plain HTTP (set it when a
	// TLS-terminating proxy is in front); requests over TLS always get
	// Secure cookies.
	SecureCookies bool
	// ReductionTarget is the share by which violating listings should fall
	// against the baseline (0.8 when 0).
	ReductionTarget float64
	// BaselineFrom and BaselineTo bound the baseline period; when zero,
	// the first seven days with screenings in the dashboard's window are
	// the baseline.
	BaselineFrom, BaselineTo time.Time
	// Now replaces the clock (tests).
	Now func() time.Time
}

// Failed sign-ins allowed per user within lockoutWindow.
const (
	maxLoginFailures = 5
	lockoutWindow    = 15 * time.Minute
)

// Console serves the console's pages.
type Console struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	pages   map[string]*template.Template
	reasons []reasonCode
	mux     *http.ServeMux
	static  http.Handler

	pruneMu   sync.Mutex
	nextPrune time.Time // when pruneNowAndThen next deletes expired sessions
}

// reasonCode is a reason a reviewer gives with a decision.
type reasonCode struct {
	Action, Code, Label string
}

// New builds the console.
func New(cfg Config) (*Console, error) {
	if cfg.Store == nil || cfg.Decider == nil {
		return nil, errors.New("console: a store and a decider are required")
	}
	c := &Console{cfg: cfg, log: cfg.Logger, now: cfg.Now}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.cfg.Lease <= 0 {
		c.cfg.Lease = 10 * time.Minute
	}
	if c.cfg.SessionTTL <= 0 {
		c.cfg.SessionTTL = 12 * time.Hour
	}
	if c.cfg.ReductionTarget <= 0 || c.cfg.ReductionTarget >= 1 {
		c.cfg.ReductionTarget = 0.8
	}
	var err error
	if c.reasons, err = parseReasons(reasonsTSV); err != nil {
		return nil, err
	}
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("console: static files: %w", err)
	}
	c.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	c.routes()
	return c, nil
}

func parseReasons(data []byte) ([]reasonCode, error) {
	var out []reasonCode
	sc := bufio.NewScanner(bytes.NewReader(data))
	header := true
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("console: reasons.tsv:%d: want 3 columns, got %d", line, len(f))
		}
		if header {
			header = false
			continue
		}
		out = append(out, reasonCode{Action: f[0], Code: f[1], Label: f[2]})
	}
	return out, sc.Err()
}

// funcs are the template helpers.
var funcs = template.FuncMap{
	"pct": func(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) },
	"f2":  func(x float64) string { return fmt.Sprintf("%.2f", x) },
	"signed": func(x float64) string {
		return fmt.Sprintf("%+.2f", x)
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04Z")
	},
	"iso": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"source": sourceOf,
}

// parsePages parses each page with the shared layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// ServeHTTP serves the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	c.mux.ServeHTTP(w, r)
}

// page is what every template gets.
type page struct {
	Title   string
	Session *session
	Nav     string // the current section, for the menu
	Flash   string
	Error   string
	Data    any
}

func (c *Console) render(w http.ResponseWriter, status int, name string, p *page) {
	t, ok := c.pages[name]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		c.log.Error("console: render", "page", name, "err", err)
		http.Error(w, "the page could not be drawn; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// fail shows an error page for err, with the status its code maps to.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	status := http.StatusInternalServerError
	msg := "Something went wrong on the server; the log has the details."
	switch wildwarden.ErrorCode(err) {
	case wildwarden.ENOTFOUND:
		status, msg = http.StatusNotFound, "Not found in your tenant."
	case wildwarden.EFORBIDDEN:
		status, msg = http.StatusForbidden, message(err)
	case wildwarden.EINVALID, wildwarden.ECONFLICT, wildwarden.ETOOLARGE:
		status, msg = http.StatusBadRequest, message(err)
	default:
		c.log.Error("console", "path", r.URL.Path, "err", err)
	}
	c.render(w, status, "error", &page{Title: http.StatusText(status), Session: sess, Error: msg})
}

// message is the person-readable part of a domain error.
func message(err error) string {
	var e *wildwarden.Error
	if errors.As(err, &e) {
		if e.Field != "" {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return err.Error()
}
