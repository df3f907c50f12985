// Package fetch loads the pictures named in a listing's images field,
// safely.
//
// A listing names its photos as http(s) URLs, data: URIs, or (from the CLI
// only) local paths and file:// URLs. The screening service fetches what
// untrusted input points at, so the fetcher is a server-side request
// forgery and decompression-bomb boundary:
//
//   - Only http and https go to the network. Every connection, including
//     each redirect's, is checked after DNS resolution, on the address being
//     dialled: loopback, private (RFC 1918, IPv6 ULA), link-local (which
//     holds the cloud metadata address 169.254.169.254), CGNAT, unspecified,
//     multicast, reserved and documentation ranges, and known metadata
//     addresses are refused. Checking the dialled address, not the name,
//     means DNS rebinding cannot slip past. Proxies from the environment are
//     ignored, since a proxy would dial on our behalf unchecked.
//   - Redirects are limited (5 by default) and may only go to http(s).
//   - The body is capped (10 MB by default): a declared larger length is
//     refused before reading, and an endless body is cut at the cap.
//   - Each fetch has a total time limit (15 s by default), body included.
//   - The real format is sniffed from the bytes (JPEG, PNG, GIF, WebP; the
//     declared Content-Type is ignored), and the header alone is decoded
//     first: an image of more pixels than allowed (40 megapixels by
//     default) is refused before its pixels are decoded.
//   - Decoded images are cached by the SHA-256 of their bytes in a bounded
//     LRU, so a photo re-posted under many URLs is decoded once.
//
// Local files are refused unless Config.AllowLocalFiles is set (the CLI
// sets it; the service must not). Tests that serve images from 127.0.0.1
// allow their server's exact address and port with Config.AllowAddrs; any
// other loopback address or port stays refused.
package fetch
