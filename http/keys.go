package http

import (
	"net/http"

	"github.com/wildwarden/wildwarden"
)

// maxKeyNameBytes bounds a key's label: enough to say whose it is and why.
const maxKeyNameBytes = 256

// keyRequest is the body of POST /v1/keys. The key always belongs to the
// caller's tenant, and is no user's (as with wildwarden admin key create).
type keyRequest struct {
	Role string `json:"role"`
	Name string `json:"name"`
}

func decodeKeyRequest(body []byte) (*keyRequest, error) {
	var req keyRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, err
	}
	if !wildwarden.ValidRole(req.Role) {
		return nil, wildwarden.Errorf(wildwarden.EINVALID, "role", "must be platform, reviewer or admin")
	}
	if err := textWithin(maxKeyNameBytes, "name", req.Name); err != nil {
		return nil, err
	}
	return &req, nil
}

// handleCreateKey issues a key in the caller's tenant and returns its
// secret once. An admin may issue admin keys, as the CLI may: an admin can
// already do everything in its tenant, so this grants nothing more, and the
// audit log (key.create, with the caller as actor) shows who did.
func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request, p *principal) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	req, err := decodeKeyRequest(body)
	if err != nil {
		return err
	}
	secret, key, err := IssueKey(r.Context(), s.store, p.TenantID, req.Role, "", req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"key": key, "secret": secret})
	return nil
}

// handleKeys lists the caller's tenant's keys, revoked ones included (so
// the caller's own is always there); the stored hash of a secret is never
// encoded.
func (s *Server) handleKeys(w http.ResponseWriter, r *http.Request, p *principal) error {
	keys, err := s.store.Keys(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
	return nil
}
