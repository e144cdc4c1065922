// Package introducer implements the grid's introducer role: nodes publish
// signed announcements of their services (storage, helper, introducer) to
// one or more introducers, and subscribers long-poll the introducers to
// learn the grid.
//
// The ideas are Tahoe-LAFS's (signed announcements keyed by node and
// service, sequence numbers so that a replay never replaces a newer
// announcement, clients that merge what several introducers tell them and
// cache it), carried over HTTPS instead of Foolscap. The protocol is
// specified in docs/spec/introducer.md.
//
// The pieces:
//
//   - Announcement, Sign and DecodeAnnouncement: the signed, canonical CBOR
//     message. Every receiver verifies every announcement itself; an
//     introducer is trusted for availability only, never for content.
//   - Server: the http.Handler serving /introducer/v1/ on the node's TLS
//     listener, with a persisted table whose entries expire unless
//     refreshed.
//   - Publisher: signs this node's announcements and keeps them published
//     at every introducer it knows, with retries.
//   - Subscriber: follows every introducer it knows, merges and caches what
//     it learns, and follows further introducers that are announced
//     ("spreading"), so the grid outlives its first introducer.
package introducer
