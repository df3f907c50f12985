package fetch

import "github.com/wildwarden/wildwarden"

// Errors returned by Fetch, wrapped with the reference and details. Test
// them with errors.Is; wildwarden.ErrorCode maps them to the domain's codes.
var (
	ErrBlockedAddress     = wildwarden.Errorf(wildwarden.EFORBIDDEN, "images", "image address is not a public internet address")
	ErrLocalFilesDisabled = wildwarden.Errorf(wildwarden.EFORBIDDEN, "images", "local image files are not allowed here")
	ErrUnsupportedScheme  = wildwarden.Errorf(wildwarden.EINVALID, "images", "image reference must be an http(s) URL or a data: URI")
	ErrTooManyRedirects   = wildwarden.Errorf(wildwarden.EINVALID, "images", "too many redirects")
	ErrHTTPStatus         = wildwarden.Errorf(wildwarden.EINVALID, "images", "image server did not answer 200 OK")
	ErrTooLarge           = wildwarden.Errorf(wildwarden.ETOOLARGE, "images", "image is larger than allowed")
	ErrTooManyPixels      = wildwarden.Errorf(wildwarden.ETOOLARGE, "images", "image has more pixels than allowed")
	ErrUnsupportedFormat  = wildwarden.Errorf(wildwarden.EINVALID, "images", "not a JPEG, PNG, GIF or WebP image")
	ErrInvalidDataURI     = wildwarden.Errorf(wildwarden.EINVALID, "images", "invalid data: URI")
	ErrTimeout            = wildwarden.Errorf(wildwarden.EINVALID, "images", "image fetch timed out")
)
