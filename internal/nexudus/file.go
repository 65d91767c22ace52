package nexudus

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
