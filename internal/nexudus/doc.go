// Package nexudus is the client for the parts of the Nexudus Spaces API that
// syncd reads: CoworkerDataFiles (list, get, download) and
// CoworkerLegalContentAudits.
//
// The client carries the API's traps so the engine does not have to: the
// minute resolution of range filters (the from-bound is rounded down),
// partial list records, records that claim a filter they do not meet, the
// 409 legacy throttle answer, expiring tokens, 302 downloads to storage
// hosts that must not see our credentials, and files without
// Content-Length. Every request waits on two client-side rate limiters so a
// daemon never trips the server's 120/minute and 5,000/hour limits.
package nexudus
