package http

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/wildwarden/wildwarden"
)

// Problem is an RFC 9457 problem document. Field names the request field
// at fault, when there is one.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	Code     string `json:"code"`
	Field    string `json:"field,omitempty"`
}

// problemTypeBase prefixes the type URI of each error code; the API
// documentation has a section per code.
const problemTypeBase = "https://github.com/wildwarden/wildwarden/blob/main/docs/API.md#error-"

// statusOf maps domain error codes to HTTP statuses: the one place where
// this happens.
var statusOf = map[string]int{
	wildwarden.EINVALID:      http.StatusBadRequest,
	wildwarden.EUNAUTHORIZED: http.StatusUnauthorized,
	wildwarden.EFORBIDDEN:    http.StatusForbidden,
	wildwarden.ENOTFOUND:     http.StatusNotFound,
	wildwarden.ECONFLICT:     http.StatusConflict,
	wildwarden.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	wildwarden.EINTERNAL:     http.StatusInternalServerError,
	eUnsupportedMedia:        http.StatusUnsupportedMediaType,
	eMethodNotAllowed:        http.StatusMethodNotAllowed,
}

// Codes of the HTTP layer only.
const (
	eUnsupportedMedia = "unsupported_media_type"
	eMethodNotAllowed = "method_not_allowed"
)

// writeError writes err as a problem document. Internal errors are logged
// and their text is not shown to the caller.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := wildwarden.ErrorCode(err)
	var maxBytes *http.MaxBytesError
	if errors.As(err, &maxBytes) {
		code = wildwarden.ETOOLARGE
		err = wildwarden.Errorf(code, "", "the request body is larger than %d bytes", maxBytes.Limit)
	}
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	p := Problem{
		Type: problemTypeBase + code, Title: http.StatusText(status), Status: status,
		Instance: r.URL.Path, Code: code, Field: wildwarden.ErrorField(err),
	}
	var de *wildwarden.Error
	if errors.As(err, &de) && status < 500 {
		p.Detail = de.Message
		if de.Field != "" {
			p.Detail = de.Field + ": " + de.Message
		}
	} else {
		p.Detail = "internal error; the server logged it"
		loggerFrom(r).Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON writes v with a status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
