package coredata

import (
	"regexp"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// Text redaction for what httpx.RedactURL cannot see: secrets inside free
// text, such as a response body excerpt that echoes a presigned URL, or an
// S3 error document that echoes the signature and key id it received.
var (
	sensitiveXMLText = regexp.MustCompile(`(?is)<(SignatureProvided|AWSAccessKeyId|StringToSign|StringToSignBytes|CanonicalRequest|CanonicalRequestBytes)>.*?</(SignatureProvided|AWSAccessKeyId|StringToSign|StringToSignBytes|CanonicalRequest|CanonicalRequestBytes)>`)
)

// redactText replaces the values of sensitive query parameters in s.
func redactText(s string) string { return httpx.RedactText(s) }

// redactBody drops the elements of an S3 error document that echo
// credentials, before an excerpt of it goes into an error.
func redactBody(b []byte) []byte {
	return sensitiveXMLText.ReplaceAll(b, []byte("<$1>REDACTED</$1>"))
}
