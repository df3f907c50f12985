package wildwarden

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on a single listing. They keep one hostile item from costing more
// than its share; callers may check them before screening.
const (
	MaxIDBytes    = 256
	MaxFieldBytes = 1 << 20 // per text field
	MaxImages     = 32
)

// Listing is one item to judge: a listing, ad, post, comment or search query.
// Only ID and one of Title, Description or Images are required. Unknown JSON
// fields are kept in Extra and written back unchanged.
type Listing struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind,omitempty"`
	Platform    string    `json:"platform,omitempty"`
	Lang        string    `json:"lang,omitempty"`
	Title       string    `json:"title,omitempty"`
	Description string    `json:"description,omitempty"`
	Price       *float64  `json:"price,omitempty"`
	Currency    string    `json:"currency,omitempty"`
	Seller      Seller    `json:"seller,omitzero"`
	Images      []string  `json:"images,omitempty"`
	URL         string    `json:"url,omitempty"`
	CreatedAt   time.Time `json:"created_at,omitzero"`

	// ImageText is text read from the listing's images (OCR). It is filled by
	// the image pipeline, never trusted from input.
	ImageText string `json:"-"`

	// Extra holds fields this version does not know, such as a dataset's
	// `label` or a platform's own tags.
	Extra map[string]json.RawMessage `json:"-"`
}

// Seller is who offers the listing.
type Seller struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// Kinds of item a Listing may be.
const (
	KindListing = "listing"
	KindAd      = "ad"
	KindPost    = "post"
	KindComment = "comment"
	KindQuery   = "query"
)

// Text fields of a listing, as named in evidence.
const (
	FieldTitle             = "title"
	FieldDescription       = "description"
	FieldSellerName        = "seller.name"
	FieldSellerDescription = "seller.description"
	FieldImageText         = "image_text"
)

// TextField is one named text of a listing.
type TextField struct {
	Name string
	Text string
}

// TextFields returns the listing's non-empty text fields in a fixed order.
func (l *Listing) TextFields() []TextField {
	fields := make([]TextField, 0, 5)
	add := func(name, text string) {
		if text != "" {
			fields = append(fields, TextField{name, text})
		}
	}
	add(FieldTitle, l.Title)
	add(FieldDescription, l.Description)
	add(FieldSellerName, l.Seller.Name)
	add(FieldSellerDescription, l.Seller.Description)
	add(FieldImageText, l.ImageText)
	return fields
}

// Validate checks the contract: an id, something to judge, sizes within the
// limits. Invalid UTF-8 is not an error here: text is screened as it is.
func (l *Listing) Validate() error {
	switch {
	case strings.TrimSpace(l.ID) == "":
		return Errorf(EINVALID, "id", "is required")
	case len(l.ID) > MaxIDBytes:
		return Errorf(EINVALID, "id", "is longer than %d bytes", MaxIDBytes)
	case !utf8.ValidString(l.ID):
		return Errorf(EINVALID, "id", "is not valid UTF-8")
	case l.Title == "" && l.Description == "" && len(l.Images) == 0:
		return Errorf(EINVALID, "title", "one of title, description or images is required")
	case len(l.Images) > MaxImages:
		return Errorf(EINVALID, "images", "has %d entries; at most %d are allowed", len(l.Images), MaxImages)
	}
	for _, f := range l.TextFields() {
		if len(f.Text) > MaxFieldBytes {
			return Errorf(ETOOLARGE, f.Name, "is longer than %d bytes", MaxFieldBytes)
		}
	}
	return nil
}

// listingJSON has the same fields as Listing without its methods, so the
// custom (un)marshalers can use the standard encoder for the known fields.
type listingJSON Listing

var listingKnownFields = map[string]bool{
	"id": true, "kind": true, "platform": true, "lang": true, "title": true,
	"description": true, "price": true, "currency": true, "seller": true,
	"images": true, "url": true, "created_at": true,
}

// UnmarshalJSON decodes a listing and keeps unknown fields in Extra.
func (l *Listing) UnmarshalJSON(data []byte) error {
	var known listingJSON
	if err := json.Unmarshal(data, &known); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	for k := range all {
		if listingKnownFields[k] {
			delete(all, k)
		}
	}
	if len(all) == 0 {
		all = nil
	}
	known.Extra = all
	known.ImageText = ""
	*l = Listing(known)
	return nil
}

// MarshalJSON encodes a listing with its unknown fields after the known ones.
func (l Listing) MarshalJSON() ([]byte, error) {
	data, err := json.Marshal(listingJSON(l))
	if err != nil || len(l.Extra) == 0 {
		return data, err
	}
	extra, err := json.Marshal(l.Extra)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(data, []byte("{}")) {
		return extra, nil
	}
	out := make([]byte, 0, len(data)+len(extra))
	out = append(out, data[:len(data)-1]...)
	out = append(out, ',')
	out = append(out, extra[1:]...)
	return out, nil
}

// ExtraString returns an unknown field's value as a string: a JSON string
// unquoted, any other JSON value as written, "" when absent.
func (l *Listing) ExtraString(name string) string {
	raw, ok := l.Extra[name]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}
