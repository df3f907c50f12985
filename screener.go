package wildwarden

import "context"

// Screener judges listings. The engine in package screen implements it; the
// service, the CLI and the workers consume it. Implementations are safe for
// concurrent use.
type Screener interface {
	Screen(ctx context.Context, l *Listing) (*Verdict, error)
	// Versions returns the knowledge-base and model versions stamped on
	// every verdict.
	Versions() (kbVersion, modelVersion string)
}
