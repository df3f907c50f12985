package http_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	wwhttp "github.com/wildwarden/wildwarden/http"
)

// openAPIRouter finds the operation of a request in openapi.json. The
// document's server (127.0.0.1:8080) is dropped so that routes match on
// the path alone, whatever port the test server has.
var openAPIRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromData(wwhttp.OpenAPI)
	if err != nil {
		return nil, err
	}
	doc.Servers = nil
	return legacy.NewRouter(doc)
})

// serveValidated starts a test server for h whose every request and
// answer is checked against openapi.json, so that the description cannot
// drift from what the server does without a test failing. A mismatch
// fails t, naming the request, its operation, the status and the
// validator's message. Left unchecked, on purpose:
//   - requests to a path or method openapi.json does not describe: tests
//     send them to unknown routes to see the 404 or 405 (that every route
//     the server registers is described, TestOpenAPIDescribesEveryRoute
//     checks);
//   - the request of an answer that is not 2xx: tests send invalid bodies,
//     parameters and keys on purpose; the problem document they get back
//     is checked;
//   - bodies that are not JSON: multipart photo uploads, the NDJSON and
//     JSON Lines exports, Prometheus text. Their status, and for answers
//     their content type, are checked.
func serveValidated(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	router, err := openAPIRouter()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recordingWriter{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK // nothing written
		}
		if err := checkExchange(router, r, body, rec); err != nil {
			t.Errorf("openapi.json does not describe %s %s → %d: %v", r.Method, r.URL.RequestURI(), rec.status, err)
		}
	}))
}

// checkExchange validates one request and its answer against the operation
// openapi.json gives it.
func checkExchange(router routers.Router, r *http.Request, body []byte, rec *recordingWriter) error {
	route, pathParams, err := router.FindRoute(r)
	if err != nil {
		return nil // an unknown route, sent on purpose
	}
	ctx := context.Background()
	req := r.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(body))
	options := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		ExcludeRequestBody:    !isJSON(r.Header.Get("Content-Type")),
		ExcludeResponseBody:   !isJSON(rec.Header().Get("Content-Type")),
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route, Options: options}
	if rec.status >= 200 && rec.status < 300 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return operationError(route, "request", err)
		}
	}
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: rec.status, Header: rec.Header(),
		Body: io.NopCloser(bytes.NewReader(rec.body.Bytes())), Options: options,
	})
	if err != nil {
		return operationError(route, "response", err)
	}
	return undocumentedContentType(route, rec)
}

// undocumentedContentType reports an answer whose content type its status
// does not list; ValidateResponse checks that only for bodies it reads.
func undocumentedContentType(route *routers.Route, rec *recordingWriter) error {
	ct := rec.Header().Get("Content-Type")
	response := route.Operation.Responses.Status(rec.status)
	if ct == "" || response == nil || len(response.Value.Content) == 0 || response.Value.Content.Get(ct) != nil {
		return nil
	}
	return operationError(route, "response", fmt.Errorf("Content-Type %q is not among %v", ct, slices.Sorted(maps.Keys(response.Value.Content))))
}

func operationError(route *routers.Route, what string, err error) error {
	return fmt.Errorf("operation %s %s: %s: %w", route.Method, route.Path, what, err)
}

// isJSON reports whether a content type is JSON (a problem document too).
func isJSON(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// recordingWriter passes an answer through and keeps a copy of its status
// and body. It writes as the handler does (a streamed export still streams,
// an aborted one still aborts).
type recordingWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *recordingWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(p)
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// driftRecorder keeps what serveValidated reports instead of failing.
type driftRecorder struct {
	testing.TB
	mu      sync.Mutex
	reports []string
}

func (d *driftRecorder) Errorf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reports = append(d.reports, fmt.Sprintf(format, args...))
}

// TestServeValidatedReportsDrift runs serveValidated over a server that
// answers what the test tells it to, and checks what is reported and what
// is skipped on purpose.
func TestServeValidatedReportsDrift(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		status      int
		answerType  string
		answer      string
		want        string // in the report; "" for none
	}{
		{"matches", "POST", "/v1/banks", "application/json", `{"name":"x"}`, 201, "application/json",
			`{"name":"x","kind":"deny","created_at":"2026-01-01T00:00:00Z","entries":0}`, ""},
		{"answer lacks a required field", "GET", "/v1/banks", "", "", 200, "application/json",
			`{"banks":[{"name":"x","kind":"deny","entries":0}]}`, `operation GET /v1/banks: response`},
		{"accepted request the schema refuses", "POST", "/v1/banks", "application/json", `{"name":5}`, 201, "application/json",
			`{"name":"5","kind":"deny","created_at":"2026-01-01T00:00:00Z","entries":0}`, `operation POST /v1/banks: request`},
		{"undocumented status", "DELETE", "/v1/banks/x", "", "", 418, "application/problem+json",
			`{"type":"t","title":"t","status":418,"code":"c"}`, `→ 418: operation DELETE /v1/banks/{bank}: response: status is not supported`},
		{"undocumented content type", "GET", "/v1/statements", "", "", 200, "application/x-ndjson", "{}\n", `Content-Type "application/x-ndjson"`},
		{"refused request: only the answer is checked", "POST", "/v1/banks", "application/json", `{"name":5}`, 400, "application/problem+json",
			`{"type":"t","title":"t","status":400,"code":"invalid","field":"name"}`, ""},
		{"unknown route", "GET", "/v1/nothing", "", "", 404, "application/problem+json", `{}`, ""},
		{"multipart body", "POST", "/v1/banks/x/entries", "multipart/form-data; boundary=b", "--b--", 201, "application/json",
			`{"id":"E-1","hash":"` + strings.Repeat("0", 64) + `","quality":90,"added_at":"2026-01-01T00:00:00Z"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			drift := &driftRecorder{TB: t}
			srv := serveValidated(drift, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.answerType)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.answer)
			}))
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			srv.Close() // waits for the check
			got := strings.Join(drift.reports, "\n")
			switch {
			case tt.want == "" && got != "":
				t.Errorf("reported %s; want nothing", got)
			case tt.want != "" && (len(drift.reports) != 1 || !strings.Contains(got, tt.want)):
				t.Errorf("reported %q; want one report holding %q", got, tt.want)
			}
		})
	}
}
