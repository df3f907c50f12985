package inspect

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/detect"
	"github.com/wildwarden/wildwarden/image/bank"
)

// Engine is the part of the screening engine (screen.Engine) a Screener
// needs: screening with evidence found outside the text.
type Engine interface {
	ScreenWith(l *wildwarden.Listing, extra []detect.Evidence) *wildwarden.Verdict
	Versions() (kbVersion, modelVersion string)
}

// Screener screens listings with their images: OCR text as the image_text
// field, bank matches as evidence. It is safe for concurrent use.
type Screener struct {
	Engine Engine
	// Inspector reads the images; nil screens the text alone.
	Inspector *Inspector
}

// Screen screens l, matching its images against banks (nil for none). It
// sets l.ImageText to the text read from the images (replacing whatever
// was there: image text is never taken from input) and returns the
// verdict with the per-image report. Every image_text signal's note says
// which image the text came from.
func (s *Screener) Screen(ctx context.Context, l *wildwarden.Listing, banks *bank.Set) (*wildwarden.Verdict, *Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if l == nil {
		return nil, nil, fmt.Errorf("inspect: %w", wildwarden.Errorf(wildwarden.EINVALID, "", "no listing"))
	}
	report := &Report{}
	if s.Inspector != nil && len(l.Images) > 0 {
		report = s.Inspector.Inspect(ctx, l, banks)
	}
	l.ImageText = report.Text
	v := s.Engine.ScreenWith(l, report.Evidence)
	AnnotateImageText(v, report)
	return v, report, nil
}

// AnnotateImageText adds to the note of every signal found in image_text
// the index and reference of the image whose text it quotes, so a reviewer
// knows which photo to look at.
func AnnotateImageText(v *wildwarden.Verdict, report *Report) {
	for i := range v.Signals {
		sig := &v.Signals[i]
		if sig.Field != wildwarden.FieldImageText || sig.Span == nil {
			continue
		}
		im := report.ImageAt(sig.Span[0])
		if im == nil {
			continue
		}
		where := fmt.Sprintf("read by OCR in image %d (%s)", im.Index, im.Ref)
		if sig.Note == "" {
			sig.Note = where
		} else {
			sig.Note += "; " + where
		}
	}
}

// TenantScreener screens each listing of a tenant with its photos read and
// matched against that tenant's image banks, for callers that are told
// each listing's tenant (the stream worker; the service takes the tenant
// from the request). It is safe for concurrent use.
type TenantScreener struct {
	Screener *Screener
	Banks    *Banks
	// Logger gets a line per image that could not be read; nil discards
	// them.
	Logger *slog.Logger
}

// ScreenFor screens l for a tenant. The tenant's banks are loaded only for
// a listing that has images.
func (ts *TenantScreener) ScreenFor(ctx context.Context, tenantID string, l *wildwarden.Listing) (*wildwarden.Verdict, error) {
	var set *bank.Set
	if l != nil && len(l.Images) > 0 && tenantID != "" {
		var err error
		if set, err = ts.Banks.Set(ctx, tenantID); err != nil {
			return nil, err
		}
	}
	v, report, err := ts.Screener.Screen(ctx, l, set)
	if err != nil {
		return nil, err
	}
	if ts.Logger != nil {
		for _, im := range report.Images {
			if im.Err != "" || im.OCRErr != "" {
				ts.Logger.Info("image not read", "listing", l.ID, "image", im.Index, "ref", im.Ref, "err", im.Err, "ocr_err", im.OCRErr)
			}
		}
	}
	return v, nil
}

// Screen implements wildwarden.Screener for a listing of no known tenant:
// its photos are read but matched against no bank.
func (ts *TenantScreener) Screen(ctx context.Context, l *wildwarden.Listing) (*wildwarden.Verdict, error) {
	return ts.ScreenFor(ctx, "", l)
}

// Versions implements wildwarden.Screener.
func (ts *TenantScreener) Versions() (kbVersion, modelVersion string) {
	return ts.Screener.Engine.Versions()
}
