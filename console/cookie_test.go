package console

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestCookieFlags: cookies are HttpOnly and SameSite=Lax always, and Secure
// over TLS or when the console is told it sits behind a TLS proxy.
func TestCookieFlags(t *testing.T) {
	tests := []struct {
		url           string
		secureCookies bool
		wantSecure    bool
	}{
		{"http://console.test/login", false, false},
		{"https://console.test/login", false, true},
		{"http://console.test/login", true, true},
	}
	for _, tt := range tests {
		c := &Console{cfg: Config{SecureCookies: tt.secureCookies}}
		rec := httptest.NewRecorder()
		c.setCookie(rec, httptest.NewRequest(http.MethodGet, tt.url, nil), sessionCookie, "v", time.Hour)
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("%s: %d cookies", tt.url, len(cookies))
		}
		ck := cookies[0]
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != tt.wantSecure {
			t.Errorf("%s (SecureCookies %v): HttpOnly %v, SameSite %v, Secure %v; want HttpOnly, Lax, Secure %v",
				tt.url, tt.secureCookies, ck.HttpOnly, ck.SameSite, ck.Secure, tt.wantSecure)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	hash, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := HashPassword("correct horse battery staple")
	if hash == again {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	tests := []struct {
		encoded, password string
		ok                bool
		bad               bool
	}{
		{hash, "correct horse battery staple", true, false},
		{hash, "correct horse battery stapler", false, false},
		{"$2a$10$bcrypt-hash", "x", false, true},
		{"$argon2id$v=19$m=0,t=2,p=1$c2FsdA$aGFzaA", "x", false, true},
	}
	for _, tt := range tests {
		ok, err := VerifyPassword(tt.encoded, tt.password)
		if ok != tt.ok || (err != nil) != tt.bad {
			t.Errorf("VerifyPassword(%.20s…, %q) = %v, %v; want %v, error %v", tt.encoded, tt.password, ok, err, tt.ok, tt.bad)
		}
	}
	if _, err := HashPassword("short"); err == nil {
		t.Error("a 5-character password was accepted")
	}
}
