// Package httpx holds what the Nexudus and CoreData clients share: typed
// status errors, Retry-After parsing, jittered backoff, redaction of secrets
// in URLs and errors, size-capped JSON decoding, the API metrics, and the
// stall transport that times out a stalled transfer, never a slow one.
//
// It exists so that both clients retry, redact and count in one way; the
// clients keep their own request logic.
package httpx
