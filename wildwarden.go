// Package wildwarden holds the domain of the wildwarden screening system:
// listings, verdicts, signals and the errors shared by every package.
//
// The root package has no dependencies beyond the standard library. Each
// concern lives in a subpackage (text, kb, detect, policy, …) and
// cmd/wildwarden wires them together.
package wildwarden

import (
	"errors"
	"fmt"
)

// Error codes shared by all packages. The HTTP layer maps them to statuses in
// one place.
const (
	ECONFLICT     = "conflict"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ETOOLARGE     = "too_large"
)

// Error is a domain error: a machine-readable code, the field it concerns (if
// any) and a message for a person.
type Error struct {
	Code    string
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("wildwarden: %s: %s", e.Field, e.Message)
	}
	return "wildwarden: " + e.Message
}

// Errorf returns a domain error with the given code, field and message.
func Errorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first domain error in err's chain, or
// EINTERNAL for any other error (and "" for nil).
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorField returns the field named by the first domain error in err's chain.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
