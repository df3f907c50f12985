// Package bank keeps named banks of PDQ image hashes and finds the entries
// near a photo's hash.
//
// Traders re-post the same photos after every takedown. A reviewer who
// removes a listing can add its photos to a bank ("trafficking-confirmed");
// later listings whose photos hash within the match radius (31 bits, the PDQ
// reference's recommendation) of an entry are flagged with the bank, the
// entry and the distance as evidence. An allow bank ("stock-photos") lists
// photos that must never cause a match: when a photo matches an allow bank,
// Set.Match reports no deny matches for it.
//
// Hashes of quality below MinQuality (flat or featureless pictures, whose
// hashes collide easily) are refused as entries and ignored as queries.
//
// The package does no I/O. Banks live in the store: Load fills a Set from
// anything that implements Store, Persistent writes every change to the
// store (which audits it) before applying it in memory, and its Sync
// methods replay in memory the changes other processes stored.
package bank
