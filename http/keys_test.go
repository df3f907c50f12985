package http_test

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/wildwarden/wildwarden"
	wwhttp "github.com/wildwarden/wildwarden/http"
)

type keyList struct {
	Keys []wildwarden.APIKey `json:"keys"`
}

type createdKey struct {
	Key    wildwarden.APIKey `json:"key"`
	Secret string            `json:"secret"`
}

// listKeys lists the keys an admin key's tenant has, by ID.
func (e *env) listKeys(admin string) (map[string]wildwarden.APIKey, response) {
	e.t.Helper()
	r := e.must(200, "GET", "/v1/keys", admin, nil)
	var list keyList
	r.json(e.t, &list)
	byID := map[string]wildwarden.APIKey{}
	for _, k := range list.Keys {
		byID[k.ID] = k
	}
	return byID, r
}

// keyIDOf finds the ID of a key from its secret, in its tenant's list.
func keyIDOf(t *testing.T, keys map[string]wildwarden.APIKey, secret string) string {
	t.Helper()
	for id, k := range keys {
		if k.Prefix == wwhttp.KeyPrefix(secret) {
			return id
		}
	}
	t.Fatalf("no key with the prefix of %s…", wwhttp.KeyPrefix(secret))
	return ""
}

// TestListKeys lists only the caller's tenant's keys, without their
// secrets or hashes.
func TestListKeys(t *testing.T) {
	e := newEnv(t)
	_, otherPlatform, otherAdmin, _, _ := e.newTenant("shop-b")
	keys, r := e.listKeys(e.admin)
	if len(keys) != 4 {
		t.Fatalf("listed %d keys, want the tenant's 4: %s", len(keys), r.body)
	}
	for _, k := range keys {
		if k.TenantID != e.tenant {
			t.Errorf("key %s of tenant %s listed to tenant %s", k.ID, k.TenantID, e.tenant)
		}
	}
	body := string(r.body)
	for _, secret := range []string{e.platform, e.admin, e.rev1, e.rev2, otherPlatform, otherAdmin} {
		hash := wildwarden.HashKey(secret)
		for _, leak := range []string{secret, base64.StdEncoding.EncodeToString(hash), hex.EncodeToString(hash)} {
			if strings.Contains(body, leak) {
				t.Errorf("the list holds %q (a secret or its hash): %s", leak, body)
			}
		}
	}
	if strings.Contains(body, `"hash"`) {
		t.Errorf("the list has a hash field: %s", body)
	}
	if reviewer := keys[keyIDOf(t, keys, e.rev1)]; reviewer.Role != wildwarden.RoleReviewer || reviewer.UserID == "" {
		t.Errorf("reviewer's key listed as %+v; want role reviewer with its user", reviewer)
	}
	for _, key := range []string{e.platform, e.rev1} {
		e.must(403, "GET", "/v1/keys", key, nil)
	}
	e.must(401, "GET", "/v1/keys", "", nil)
}

// TestCreateKey creates keys through the API: each works at once, shows in
// its tenant's list alone, is audited, and lists as revoked once revoked.
func TestCreateKey(t *testing.T) {
	e := newEnv(t)
	otherTenant, _, otherAdmin, _, _ := e.newTenant("shop-b")
	keys, _ := e.listKeys(e.admin)
	adminID := keyIDOf(t, keys, e.admin)

	var created createdKey
	// A tenant_id in the body is not a field of the request: the key is the
	// caller's tenant's.
	e.must(201, "POST", "/v1/keys", e.admin, map[string]string{"role": "platform", "name": "ci", "tenant_id": otherTenant}).json(t, &created)
	k := created.Key
	if !strings.HasPrefix(created.Secret, "ww_") || k.ID == "" || k.Role != wildwarden.RolePlatform || k.Name != "ci" || k.TenantID != e.tenant || k.UserID != "" || k.RevokedAt != nil {
		t.Fatalf("created %+v with secret %q", k, created.Secret)
	}
	if k.Prefix != wwhttp.KeyPrefix(created.Secret) {
		t.Errorf("prefix %q; want the secret's %q", k.Prefix, wwhttp.KeyPrefix(created.Secret))
	}
	e.screen(created.Secret, wildwarden.Listing{ID: "L-1", Title: "a wooden bowl"}) // the key works, as a platform key
	e.must(403, "GET", "/v1/keys", created.Secret, nil)

	keys, r := e.listKeys(e.admin)
	if listed, ok := keys[k.ID]; !ok || listed.Name != "ci" || listed.Role != wildwarden.RolePlatform || listed.RevokedAt != nil {
		t.Errorf("the list shows the new key as %+v (listed: %v): %s", listed, ok, r.body)
	}
	if strings.Contains(string(r.body), created.Secret) {
		t.Errorf("the list holds the new key's secret")
	}
	if others, _ := e.listKeys(otherAdmin); len(others) != 4 {
		t.Errorf("the other tenant has %d keys, want its 4", len(others))
	}

	var log struct {
		Entries []wildwarden.AuditEntry `json:"entries"`
	}
	e.must(200, "GET", "/v1/audit?limit=1000", e.admin, nil).json(t, &log)
	audited := false
	for _, a := range log.Entries {
		audited = audited || (a.Action == "key.create" && a.Subject == k.ID && a.Actor == "key:"+adminID && a.Data == wildwarden.RolePlatform)
	}
	if !audited {
		t.Errorf("no key.create entry for %s by key:%s in %+v", k.ID, adminID, log.Entries)
	}

	// An admin may create an admin key (as the CLI may); it works as one.
	var admin createdKey
	e.must(201, "POST", "/v1/keys", e.admin, map[string]string{"role": "admin"}).json(t, &admin)
	if admin.Key.Name != "" {
		t.Errorf("a key created without a name is named %q", admin.Key.Name)
	}
	e.must(200, "GET", "/v1/keys", admin.Secret, nil)

	e.must(204, "DELETE", "/v1/keys/"+k.ID, e.admin, nil)
	e.must(401, "GET", "/v1/stats", created.Secret, nil)
	keys, _ = e.listKeys(e.admin)
	if revoked := keys[k.ID]; revoked.RevokedAt == nil || revoked.RevokedAt.Before(revoked.CreatedAt) {
		t.Errorf("after revocation the list shows %+v; want it revoked", revoked)
	}
}

// TestCreateKeyRefuses sends requests POST /v1/keys refuses, each with a
// problem naming the field at fault, and none creates a key.
func TestCreateKeyRefuses(t *testing.T) {
	e := newEnv(t)
	before, _ := e.listKeys(e.admin)
	tests := []struct {
		name        string
		key         string
		body        any
		contentType string
		status      int
		field       string
	}{
		{"unknown role", e.admin, `{"role":"owner"}`, "", 400, "role"},
		{"no role", e.admin, `{"name":"x"}`, "", 400, "role"},
		{"role of the wrong type", e.admin, `{"role":1}`, "", 400, "role"},
		{"name too long", e.admin, map[string]string{"role": "platform", "name": strings.Repeat("n", 257)}, "", 413, "name"},
		{"body too large", e.admin, `{"role":"platform","name":"` + strings.Repeat("n", 70<<10) + `"}`, "", 413, ""},
		{"not JSON", e.admin, `{"role":`, "", 400, ""},
		{"not JSON content", e.admin, `{"role":"platform"}`, "text/plain", 415, "Content-Type"},
		{"platform key", e.platform, `{"role":"platform"}`, "", 403, ""},
		{"reviewer key", e.rev1, `{"role":"reviewer"}`, "", 403, ""},
		{"no key", "", `{"role":"platform"}`, "", 401, "Authorization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.contentType != "" {
				headers = []string{"Content-Type", tt.contentType}
			}
			r := e.do("POST", "/v1/keys", tt.key, tt.body, headers...)
			var p wwhttp.Problem
			r.json(t, &p)
			if r.status != tt.status || p.Status != tt.status || p.Field != tt.field || r.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("= %d %s; want a %d problem naming field %q", r.status, r.body, tt.status, tt.field)
			}
		})
	}
	if after, _ := e.listKeys(e.admin); len(after) != len(before) {
		t.Errorf("refused requests created %d keys", len(after)-len(before))
	}
}
