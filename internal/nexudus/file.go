package nexudus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// File is a CoworkerDataFile. JSON names are those of the Nexudus documents;
// null strings decode to "". List records are partial: Description,
// AvailableToUser and RequestDigitalSignature are only set by Get.
type File struct {
	ID                      int64  `json:"Id"`
	BusinessID              int64  `json:"BusinessId"`
	BusinessName            string `json:"BusinessName"`
	CoworkerID              int64  `json:"CoworkerId"`
	CoworkerFullName        string `json:"CoworkerFullName"`
	CoworkerCompanyName     string `json:"CoworkerCompanyName"`
	CoworkerBillingName     string `json:"CoworkerBillingName"`
	CoworkerCoworkerType    string `json:"CoworkerCoworkerType"`
	Name                    string `json:"Name"`
	Description             string `json:"Description"`
	FileDataFileName        string `json:"FileDataFileName"`
	SignedFileDataFileName  string `json:"SignedFileDataFileName"`
	Extension               string `json:"Extension"`
	Signed                  bool   `json:"Signed"`
	Billed                  bool   `json:"Billed"`
	AvailableToUser         bool   `json:"AvailableToUser"`
	RequestDigitalSignature bool   `json:"RequestDigitalSignature"`
	EsignIdentifier         string `json:"EsignIdentifier"`
	DocumentTemplateGuid    string `json:"DocumentTemplateGuid"`
	ProposalGuid            string `json:"ProposalGuid"`
	CoworkerContractGuid    string `json:"CoworkerContractGuid"`
	UniqueID                string `json:"UniqueId"`
	UpdatedBy               string `json:"UpdatedBy"`
	UpdatedOn               Time   `json:"UpdatedOn"`
	CreatedOn               Time   `json:"CreatedOn"`
}

// LegalContentAudit records a customer's acceptance of one version of a
// legal document.
type LegalContentAudit struct {
	ID                        int64            `json:"Id"`
	CoworkerID                int64            `json:"CoworkerId"`
	BusinessID                int64            `json:"BusinessId"`
	LegalContentType          LegalContentType `json:"LegalContentType"`
	Name                      string           `json:"Name"`
	TariffUniqueId            string           `json:"TariffUniqueId"`
	LegalContentAuditUniqueId string           `json:"LegalContentAuditUniqueId"`
	CreatedOn                 Time             `json:"CreatedOn"`
	UpdatedOn                 Time             `json:"UpdatedOn"`
}

// LegalContentType is the enum name ("TariffTerms"). Nexudus sends it as a
// number or as a name depending on the serializer; both decode to the name,
// and unknown numbers keep their digits so nothing is lost.
type LegalContentType string

// The documented LegalContentType values.
const (
	GeneralTerms  LegalContentType = "GeneralTerms"
	VisitorTerms  LegalContentType = "VisitorTerms"
	CheckoutTerms LegalContentType = "CheckoutTerms"
	PrivacyPolicy LegalContentType = "PrivacyPolicy"
	CookiesPolicy LegalContentType = "CookiesPolicy"
	TariffTerms   LegalContentType = "TariffTerms"
)

var legalContentTypes = []LegalContentType{"", GeneralTerms, VisitorTerms, CheckoutTerms, PrivacyPolicy, CookiesPolicy, TariffTerms}

// UnmarshalJSON accepts 6, "6", "TariffTerms" or null.
func (t *LegalContentType) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*t = ""
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("nexudus: LegalContentType: %w", err)
		}
	}
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	switch {
	case err != nil && len(b) > 0 && b[0] == '"':
		*t = LegalContentType(s)
	case err != nil:
		return fmt.Errorf("nexudus: LegalContentType: not a number or name: %s", httpx.Shorten(string(b), 40))
	case n == 0:
		*t = ""
	case n > 0 && n < len(legalContentTypes):
		*t = legalContentTypes[n]
	default:
		*t = LegalContentType(strconv.Itoa(n))
	}
	return nil
}
