package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/image/bank"
	"github.com/wildwarden/wildwarden/image/fetch"
	"github.com/wildwarden/wildwarden/image/inspect"
	"github.com/wildwarden/wildwarden/image/pdq"
)

// Image banks and image matching:
//
//	GET    /v1/banks                           reviewer, admin
//	POST   /v1/banks                           admin
//	DELETE /v1/banks/{bank}                    admin
//	GET    /v1/banks/{bank}/entries            reviewer, admin
//	POST   /v1/banks/{bank}/entries            admin: one photo (multipart or JSON)
//	DELETE /v1/banks/{bank}/entries/{entry}    admin
//	POST   /v1/images/match                    any role: one photo against the tenant's banks
//	POST   /v1/listings/{id}/images:bank       reviewer, admin: a removed listing's photos into a bank
//
// Banks belong to the caller's tenant. Changes are written to the store
// (which audits them) and applied to the in-memory banks screening uses.

// maxImageBody bounds a request that carries one photo: the fetcher's
// size limit, a third more for base64 in JSON, and room for the fields.
const maxImageBody = fetch.DefaultMaxBytes*4/3 + 64<<10

// imageService holds what the image routes need.
type imageService struct {
	banks   *inspect.Banks
	fetcher *fetch.Fetcher
	radius  int
}

// setupImages wires the image routes and, when an Inspector is configured
// and the screener can take outside evidence, screening with images.
func (s *Server) setupImages(cfg Config) {
	svc := &imageService{banks: cfg.Banks, radius: bank.DefaultRadius}
	if svc.banks == nil {
		svc.banks = inspect.NewBanks(cfg.Store)
	}
	if cfg.Images != nil {
		svc.fetcher = cfg.Images.Fetcher()
		svc.radius = cfg.Images.Radius()
		if engine, ok := cfg.Screener.(inspect.Engine); ok {
			s.screener = requestTenantScreener{&inspect.TenantScreener{
				Screener: &inspect.Screener{Engine: engine, Inspector: cfg.Images}, Banks: svc.banks, Logger: s.log,
			}}
		} else {
			s.log.Warn("images: the screener takes no outside evidence (it has no ScreenWith); listings' images are not read")
		}
	}
	if svc.fetcher == nil {
		svc.fetcher = fetch.New(fetch.Config{}) // never local files
	}
	s.images = svc
}

func (s *Server) bankRoutes(handle func(pattern string, roles []string, h func(w http.ResponseWriter, r *http.Request, p *principal) error)) {
	handle("GET /v1/banks", reviewerRoles, s.handleBanks)
	handle("POST /v1/banks", adminRoles, s.handleCreateBank)
	handle("DELETE /v1/banks/{bank}", adminRoles, s.handleDeleteBank)
	handle("GET /v1/banks/{bank}/entries", reviewerRoles, s.handleBankEntries)
	handle("POST /v1/banks/{bank}/entries", adminRoles, s.handleAddBankEntry)
	handle("DELETE /v1/banks/{bank}/entries/{entry}", adminRoles, s.handleRemoveBankEntry)
	handle("POST /v1/images/match", anyRole, s.handleMatchImage)
	handle("POST /v1/listings/{id}/images:bank", reviewerRoles, s.handleBankListingImages)
}

// tenantKey carries the caller's tenant in a request's context, for
// screening that depends on it (the tenant's image banks).
type tenantKey struct{}

func withTenant(ctx context.Context, tenantID string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenantID)
}

// requestTenantScreener is the server's Screener when images are read: it
// screens each listing for the tenant of the request (withTenant), so its
// photos are matched against that tenant's banks.
type requestTenantScreener struct{ *inspect.TenantScreener }

func (ts requestTenantScreener) Screen(ctx context.Context, l *wildwarden.Listing) (*wildwarden.Verdict, error) {
	tenantID, _ := ctx.Value(tenantKey{}).(string)
	return ts.ScreenFor(ctx, tenantID, l)
}

// bankResponse is a bank with its entry count.
type bankResponse struct {
	bank.Info
	Entries int `json:"entries"`
}

func (s *Server) tenantBanks(ctx context.Context, tenantID string) (*bank.Persistent, error) {
	return s.images.banks.Tenant(ctx, tenantID)
}

func (s *Server) handleBanks(w http.ResponseWriter, r *http.Request, p *principal) error {
	banks, err := s.tenantBanks(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	out := []bankResponse{}
	for _, b := range banks.Set.Banks() {
		out = append(out, bankResponse{Info: b.Info(), Entries: b.Len()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"banks": out})
	return nil
}

// createBankRequest is the body of POST /v1/banks.
type createBankRequest struct {
	Name        string    `json:"name"`
	Kind        bank.Kind `json:"kind"`
	Description string    `json:"description"`
}

func (s *Server) handleCreateBank(w http.ResponseWriter, r *http.Request, p *principal) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	var req createBankRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	if req.Kind == "" {
		req.Kind = bank.Deny
	}
	if err := textWithin(maxNoteBytes, "description", req.Description); err != nil {
		return err
	}
	banks, err := s.tenantBanks(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	actor := wildwarden.Actor(r.Context())
	b, err := banks.CreateBank(r.Context(), bank.Info{Name: req.Name, Kind: req.Kind, Description: req.Description, CreatedBy: actor}, actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, bankResponse{Info: b.Info()})
	return nil
}

func (s *Server) handleDeleteBank(w http.ResponseWriter, r *http.Request, p *principal) error {
	banks, err := s.tenantBanks(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	if err := banks.DeleteBank(r.Context(), r.PathValue("bank"), wildwarden.Actor(r.Context())); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleBankEntries(w http.ResponseWriter, r *http.Request, p *principal) error {
	banks, err := s.tenantBanks(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	b, err := banks.Set.Bank(r.PathValue("bank"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": b.Entries()})
	return nil
}

// imageRequest is a request carrying one photo: as JSON, with the photo as
// a data: URI or an http(s) URL in "image"; or as multipart/form-data, with
// the photo in the file field "image" and the other fields as form values.
type imageRequest struct {
	Image    string `json:"image"`
	ID       string `json:"id"`
	Species  string `json:"species"`
	Category string `json:"category"`
	Source   string `json:"source"`
	Note     string `json:"note"`
	// upload holds the bytes of a multipart file.
	upload []byte
}

// readImageRequest decodes a photo request of either form and returns the
// decoded photo.
func (s *Server) readImageRequest(w http.ResponseWriter, r *http.Request) (*imageRequest, *fetch.Image, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxImageBody)
	var req imageRequest
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxImageBody); err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, nil, wildwarden.Errorf(wildwarden.ETOOLARGE, "", "the request body is larger than %d bytes", mb.Limit)
			}
			return nil, nil, wildwarden.Errorf(wildwarden.EINVALID, "", "multipart form: %v", err)
		}
		defer r.MultipartForm.RemoveAll()
		file, _, err := r.FormFile("image")
		if err != nil {
			return nil, nil, wildwarden.Errorf(wildwarden.EINVALID, "image", "send the photo in the multipart file field \"image\"")
		}
		defer file.Close()
		if req.upload, err = io.ReadAll(file); err != nil {
			return nil, nil, wildwarden.Errorf(wildwarden.EINVALID, "image", "reading the upload: %v", err)
		}
		req.ID, req.Species, req.Category = r.FormValue("id"), r.FormValue("species"), r.FormValue("category")
		req.Source, req.Note = r.FormValue("source"), r.FormValue("note")
	default:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, nil, wildwarden.Errorf(wildwarden.ETOOLARGE, "", "the request body is larger than %d bytes", mb.Limit)
			}
			return nil, nil, wildwarden.Errorf(wildwarden.EINVALID, "", "reading the body: %v", err)
		}
		if mt != "" && mt != "application/json" {
			return nil, nil, wildwarden.Errorf(eUnsupportedMedia, "Content-Type", "send application/json or multipart/form-data, not %q", mt)
		}
		if err := decodeJSON(body, &req); err != nil {
			return nil, nil, err
		}
		if req.Image == "" {
			return nil, nil, wildwarden.Errorf(wildwarden.EINVALID, "image", "is required: a data: URI or an http(s) URL")
		}
	}
	if err := textWithin(maxNoteBytes, "id", req.ID, "species", req.Species, "category", req.Category, "source", req.Source, "note", req.Note); err != nil {
		return nil, nil, err
	}
	img, err := s.loadImage(r.Context(), &req)
	if err != nil {
		return nil, nil, err
	}
	return &req, img, nil
}

// loadImage decodes an upload or fetches the referenced photo; its errors
// keep the fetcher's domain code with the full reason.
func (s *Server) loadImage(ctx context.Context, req *imageRequest) (*fetch.Image, error) {
	var img *fetch.Image
	var err error
	if req.upload != nil {
		img, err = s.images.fetcher.Decode("upload", req.upload)
	} else {
		img, err = s.images.fetcher.Fetch(ctx, req.Image)
	}
	if err != nil {
		return nil, imageError(err)
	}
	return img, nil
}

func imageError(err error) error {
	code := wildwarden.ErrorCode(err)
	if code == wildwarden.EINTERNAL {
		code = wildwarden.EINVALID
	}
	return wildwarden.Errorf(code, "image", "%v", err)
}

func (s *Server) handleAddBankEntry(w http.ResponseWriter, r *http.Request, p *principal) error {
	req, img, err := s.readImageRequest(w, r)
	if err != nil {
		return err
	}
	banks, err := s.tenantBanks(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	h := pdq.HashImage(img.Image)
	actor := wildwarden.Actor(r.Context())
	e := bank.Entry{ID: req.ID, Hash: h.Hash, Quality: h.Quality, Species: req.Species, Category: req.Category,
		Source: req.Source, AddedBy: actor, Note: req.Note}
	if e.ID == "" {
		e.ID = "pdq-" + h.Hash.String()[:16]
	}
	if e.Source == "" && req.Image != "" {
		e.Source = inspect.ShortRef(req.Image)
	}
	stored, err := addEntry(r.Context(), banks, r.PathValue("bank"), e, actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, stored)
	return nil
}

// addEntry adds an entry to a bank and returns it as the bank holds it,
// with what the store filled in (the time it was added).
func addEntry(ctx context.Context, banks *bank.Persistent, bankName string, e bank.Entry, actor string) (bank.Entry, error) {
	if err := banks.AddEntry(ctx, bankName, e, actor); err != nil {
		return bank.Entry{}, err
	}
	b, err := banks.Set.Bank(bankName)
	if err != nil {
		return bank.Entry{}, err
	}
	stored, _ := b.Get(e.ID)
	return stored, nil
}

func (s *Server) handleRemoveBankEntry(w http.ResponseWriter, r *http.Request, p *principal) error {
	banks, err := s.tenantBanks(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	if _, err := banks.RemoveEntry(r.Context(), r.PathValue("bank"), r.PathValue("entry"), wildwarden.Actor(r.Context())); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// matchResponse answers POST /v1/images/match.
type matchResponse struct {
	Hash    pdq.Hash     `json:"hash"`
	Quality int          `json:"quality"`
	Format  string       `json:"format"`
	Width   int          `json:"width"`
	Height  int          `json:"height"`
	Radius  int          `json:"radius"`
	Outcome bank.Outcome `json:"outcome"`
}

func (s *Server) handleMatchImage(w http.ResponseWriter, r *http.Request, p *principal) error {
	_, img, err := s.readImageRequest(w, r)
	if err != nil {
		return err
	}
	banks, err := s.tenantBanks(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	hashes := pdq.HashDihedral(img.Image)
	writeJSON(w, http.StatusOK, matchResponse{
		Hash: hashes.Hashes[pdq.Original], Quality: hashes.Quality, Format: img.Format, Width: img.Width, Height: img.Height,
		Radius: s.images.radius, Outcome: inspect.MatchDihedral(banks.Set, hashes, s.images.radius),
	})
	return nil
}

// bankListingRequest is the body of POST /v1/listings/{id}/images:bank.
type bankListingRequest struct {
	Bank     string `json:"bank"`
	Species  string `json:"species"`
	Category string `json:"category"`
	Note     string `json:"note"`
}

// bankedImage says what became of one of the listing's photos.
type bankedImage struct {
	Index int         `json:"index"`
	Ref   string      `json:"ref"`
	Entry *bank.Entry `json:"entry,omitempty"`
	Error string      `json:"error,omitempty"`
}

// handleBankListingImages adds the photos of a removed listing to a bank,
// so that re-posts of them are flagged. The listing must have a remove
// decision; the photos are those of its latest screening. Entries are
// named LISTING#INDEX, take their category and species from the body or
// else from the latest verdict, and name the removal as their source.
func (s *Server) handleBankListingImages(w http.ResponseWriter, r *http.Request, p *principal) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	var req bankListingRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	if req.Bank == "" {
		return wildwarden.Errorf(wildwarden.EINVALID, "bank", "is required")
	}
	if err := textWithin(maxNoteBytes, "species", req.Species, "category", req.Category, "note", req.Note); err != nil {
		return err
	}
	ctx := r.Context()
	listingID := r.PathValue("id")
	removal, err := s.store.LastRemoval(ctx, p.TenantID, listingID)
	if wildwarden.ErrorCode(err) == wildwarden.ENOTFOUND {
		return wildwarden.Errorf(wildwarden.ECONFLICT, "id", "listing %s has no remove decision: only removed listings' photos go into a bank", listingID)
	} else if err != nil {
		return err
	}
	latest, err := s.store.LatestScreening(ctx, p.TenantID, listingID)
	if err != nil {
		return err
	}
	if latest.Listing == nil || len(latest.Listing.Images) == 0 {
		return wildwarden.Errorf(wildwarden.EINVALID, "id", "listing %s has no images", listingID)
	}
	banks, err := s.tenantBanks(ctx, p.TenantID)
	if err != nil {
		return err
	}
	if _, err := banks.Set.Bank(req.Bank); err != nil {
		return err
	}
	category, species := req.Category, req.Species
	if v := latest.Verdict; v != nil && category == "" && len(v.Categories) > 0 {
		category = v.Categories[0]
	}
	if v := latest.Verdict; v != nil && species == "" && len(v.Species) == 1 {
		species = v.Species[0].Name
	}
	actor := wildwarden.Actor(ctx)
	out := make([]bankedImage, 0, len(latest.Listing.Images))
	added := 0
	for i, ref := range latest.Listing.Images {
		res := bankedImage{Index: i, Ref: inspect.ShortRef(ref)}
		img, err := s.images.fetcher.Fetch(ctx, ref)
		if err == nil {
			h := pdq.HashImage(img.Image)
			e := bank.Entry{ID: fmt.Sprintf("%s#%d", listingID, i), Hash: h.Hash, Quality: h.Quality, Species: species, Category: category,
				Source: "listing " + listingID + " removed by decision " + removal.ID, AddedBy: actor, Note: req.Note}
			var stored bank.Entry
			if stored, err = addEntry(ctx, banks, req.Bank, e, actor); err == nil {
				res.Entry = &stored
				added++
			}
		}
		if err != nil {
			res.Error = messageOf(err)
		}
		out = append(out, res)
	}
	status := http.StatusOK
	if added > 0 {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"bank": req.Bank, "added": added, "images": out})
	return nil
}
