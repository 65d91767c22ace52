// Package nexudus is the client for the parts of the Nexudus Spaces API that
// syncd reads: CoworkerDataFiles (list, get, download), and for terms
// acceptances CoworkerLegalContentAudits (list) and the LegalContentAudits
// they name (list, get), the versions of the legal texts accepted.
//
// The client carries the API's traps so the engine does not have to: the
// minute resolution of range filters (the from-bound is rounded down),
// partial list records, records that claim a filter they do not meet, the
// 409 legacy throttle answer, expiring tokens, 302 downloads to storage
// hosts that must not see our credentials, and files without
// Content-Length. A 403 from an endpoint that needs a role the API user
// lacks is a *RoleError naming the role. Every request waits on two
// client-side rate limiters so a daemon never trips the server's
// 120/minute and 5,000/hour limits.
package nexudus
