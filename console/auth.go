package console

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wildwarden/wildwarden"
)

// Cookie names.
const (
	sessionCookie   = "ww_session"
	loginCSRFCookie = "ww_login_csrf" // double-submit token of the sign-in form
)

// maxFormBytes bounds a form body.
const maxFormBytes = 64 << 10

// dummyHash is verified when a user name is unknown, so that the answer
// takes as long as for a known name. It is made when the console's routes
// are: hashing at package initialization cost every command of the binary
// (scan, explain…) an argon2 hash and its 19 MB at start.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("not a password of anyone")
	return h
})

func (c *Console) routes() {
	dummyHash() // made before the first sign-in, which it must not slow
	m := http.NewServeMux()
	c.mux = m
	m.Handle("GET /static/", c.static)
	m.HandleFunc("GET /login", c.handleLoginPage)
	m.HandleFunc("POST /login", c.handleLogin)
	m.HandleFunc("POST /logout", c.signedIn(c.handleLogout))
	m.HandleFunc("GET /{$}", c.signedIn(func(w http.ResponseWriter, r *http.Request, s *session) {
		http.Redirect(w, r, "/queue", http.StatusSeeOther)
	}))
	m.HandleFunc("GET /queue", c.signedIn(c.handleQueue))
	m.HandleFunc("POST /queue/claim", c.signedIn(c.handleClaim))
	m.HandleFunc("GET /items/{id}", c.signedIn(c.handleItem))
	m.HandleFunc("POST /items/{id}/decision", c.signedIn(c.handleDecision))
	m.HandleFunc("GET /appeals", c.signedIn(c.handleAppeals))
	m.HandleFunc("GET /dashboard", c.signedIn(c.handleDashboard))
	m.HandleFunc("GET /kb", c.signedIn(c.handleKB))
	m.HandleFunc("POST /kb", c.signedIn(c.handleKBAdd))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.render(w, http.StatusNotFound, "error", &page{Title: "Not found", Error: "There is no page at " + r.URL.Path + "."})
	})
}

// secure reports whether cookies of this request get the Secure flag.
func (c *Console) secure(r *http.Request) bool {
	return c.cfg.SecureCookies || r.TLS != nil
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: int(maxAge / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.secure(r),
	})
}

// signedIn runs h with the request's session; without one it sends the
// browser to sign in. Every POST must carry the session's CSRF token in
// the form field "csrf".
func (c *Console) signedIn(h func(w http.ResponseWriter, r *http.Request, s *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var sess *session
		if ck, err := r.Cookie(sessionCookie); err == nil {
			if sess, err = c.sessionOf(r.Context(), ck.Value); err != nil {
				c.fail(w, r, nil, err)
				return
			}
		}
		if sess == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.render(w, http.StatusUnauthorized, "error", &page{Title: "Signed out", Error: "Your session ended. Sign in again."})
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				c.render(w, http.StatusBadRequest, "error", &page{Title: "Bad request", Session: sess, Error: "The form could not be read."})
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(sess.CSRF)) != 1 {
				c.render(w, http.StatusForbidden, "error", &page{Title: "Refused", Session: sess, Error: "The form's security token is missing or wrong. Reload the page and try again."})
				return
			}
		}
		ctx := wildwarden.WithActor(r.Context(), "user:"+sess.UserID)
		h(w, r.WithContext(ctx), sess)
	}
}

// loginData fills the sign-in form.
type loginData struct {
	CSRF, Tenant, User, Next string
}

func (c *Console) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	token := randomToken()
	c.setCookie(w, r, loginCSRFCookie, token, time.Hour)
	tenant := r.URL.Query().Get("tenant")
	if tenant == "" {
		tenant = "default"
	}
	c.render(w, http.StatusOK, "login", &page{Title: "Sign in", Data: loginData{CSRF: token, Tenant: tenant, Next: safeNext(r.URL.Query().Get("next"))}})
}

// safeNext keeps a redirect target inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/queue"
	}
	return next
}

func (c *Console) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.render(w, http.StatusBadRequest, "error", &page{Title: "Bad request", Error: "The form could not be read."})
		return
	}
	ck, err := r.Cookie(loginCSRFCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		c.render(w, http.StatusForbidden, "error", &page{Title: "Refused", Error: "The form's security token is missing or wrong. Reload the sign-in page and try again."})
		return
	}
	tenantRef := strings.TrimSpace(r.PostForm.Get("tenant"))
	userName := strings.TrimSpace(r.PostForm.Get("user"))
	password := r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	again := func(status int, msg string) {
		token := randomToken()
		c.setCookie(w, r, loginCSRFCookie, token, time.Hour)
		c.render(w, status, "login", &page{Title: "Sign in", Error: msg, Data: loginData{CSRF: token, Tenant: tenantRef, User: userName, Next: next}})
	}
	ctx := r.Context()
	c.pruneNowAndThen(ctx)
	tenant, err := c.tenantOf(ctx, tenantRef)
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	key := signInKeyOf(tenant, tenantRef, userName)
	attempt, until, err := c.admit(ctx, key)
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if !until.IsZero() {
		again(http.StatusTooManyRequests, "Too many failed sign-ins. Try again after "+until.UTC().Format("15:04 MST")+", or ask an admin.")
		return
	}
	sess, err := c.authenticate(ctx, tenant, userName, password)
	if err != nil { // admit has counted the failure
		c.log.Warn("console: sign-in failed", "tenant", tenantRef, "user", userName, "remote", r.RemoteAddr, "err", err)
		again(http.StatusUnauthorized, "Wrong tenant, user name or password.")
		return
	}
	if err := c.signInSucceeded(ctx, key, attempt); err != nil {
		c.log.Error("console: clear failed sign-ins", "tenant", tenantRef, "user", userName, "err", err)
	}
	token, err := c.startSession(ctx, sess)
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	c.setCookie(w, r, sessionCookie, token, c.cfg.SessionTTL)
	c.setCookie(w, r, loginCSRFCookie, "", -time.Second)
	c.log.Info("console: signed in", "tenant", sess.TenantName, "user", sess.UserName, "role", sess.Role)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// errSignIn is any reason a sign-in fails; the person is not told which.
var errSignIn = wildwarden.Errorf(wildwarden.EUNAUTHORIZED, "", "wrong tenant, user or password")

// tenantOf returns the tenant a sign-in names by its name or ID, or nil.
func (c *Console) tenantOf(ctx context.Context, tenantRef string) (*wildwarden.Tenant, error) {
	tenants, err := c.cfg.Store.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	var tenant *wildwarden.Tenant
	for i := range tenants {
		if tenants[i].Name == tenantRef || tenants[i].ID == tenantRef {
			tenant = &tenants[i]
		}
	}
	return tenant, nil
}

// authenticate checks the password of a user of tenant (nil when the
// sign-in named no tenant); only reviewers and admins may sign in.
func (c *Console) authenticate(ctx context.Context, tenant *wildwarden.Tenant, userName, password string) (*session, error) {
	var user *wildwarden.User
	if tenant != nil {
		users, err := c.cfg.Store.Users(ctx, tenant.ID)
		if err != nil {
			return nil, err
		}
		for i := range users {
			if users[i].Name == userName {
				user = &users[i]
			}
		}
	}
	if user == nil || user.PasswordHash == "" {
		_, _ = VerifyPassword(dummyHash(), password) // same time as a real check
		return nil, errSignIn
	}
	ok, err := VerifyPassword(user.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	if !ok || (user.Role != wildwarden.RoleReviewer && user.Role != wildwarden.RoleAdmin) {
		return nil, errSignIn
	}
	return &session{TenantID: tenant.ID, TenantName: tenant.Name, UserID: user.ID, UserName: user.Name, Role: user.Role}, nil
}

func (c *Console) handleLogout(w http.ResponseWriter, r *http.Request, s *session) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if err := c.endSession(r.Context(), ck.Value); err != nil {
			c.fail(w, r, s, err)
			return
		}
	}
	c.setCookie(w, r, sessionCookie, "", -time.Second)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
