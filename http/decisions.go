package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/wildwarden/wildwarden"
)

// errClientGone marks a failed write of the response: the client went
// away, there is no one left to tell.
var errClientGone = errors.New("client went away")

// handleDecisionExport streams the tenant's decided listings as JSON Lines
// (application/x-ndjson), one wildwarden.DecidedListing a line, oldest
// decision first, from `since` (RFC 3339, default: all). It is the format
// `wildwarden train --from-decisions` reads, so a platform can retrain on
// its reviewers' decisions without database access.
//
// Rows go out as the store yields them, so the export's size is not
// bounded by memory. An error after the first line cannot change the
// status any more: the response is then aborted, so that the client sees
// a truncated transfer rather than a short export that looks complete.
func (s *Server) handleDecisionExport(w http.ResponseWriter, r *http.Request, p *principal) error {
	since, err := querySince(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	started, sent := false, 0
	err = s.store.ExportDecisions(r.Context(), p.TenantID, since, func(dl *wildwarden.DecidedListing) error {
		started = true
		if err := enc.Encode(dl); err != nil {
			return fmt.Errorf("%w: %w", errClientGone, err)
		}
		sent++
		return nil
	})
	switch {
	case err == nil:
		return nil
	case !started:
		return err // nothing written yet: a problem response
	case errors.Is(err, errClientGone) || r.Context().Err() != nil:
		loggerFrom(r).Info("decision export: client went away", "tenant", p.TenantID, "lines", sent, "err", err)
	default:
		loggerFrom(r).Error("decision export failed after some lines", "tenant", p.TenantID, "lines", sent, "err", err)
	}
	panic(http.ErrAbortHandler)
}
