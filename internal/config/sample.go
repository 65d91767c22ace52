package config

import (
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus"
)

// SampleRecord is a filled-in Nexudus record used to try title templates
// before any real record arrives.
func SampleRecord() nexudus.File {
	t := nexudus.Time{Time: time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC)}
	return nexudus.File{
		ID: 87654321, BusinessID: 1, BusinessName: "Main Street",
		CoworkerID: 42, CoworkerFullName: "Ada Lovelace", CoworkerCompanyName: "Analytical Ltd",
		Name: "Membership agreement", FileDataFileName: "agreement.pdf",
		SignedFileDataFileName: "agreement-signed.pdf", Extension: "pdf", Signed: true,
		UniqueID: "a1b2c3d4-e5f6-7890-abcd-ef1234567890", UpdatedOn: t, CreatedOn: t,
	}
}
