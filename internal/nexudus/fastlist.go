package nexudus

import (
	"bytes"
	"mime"
	"unicode/utf8"
)

// decodeListPageFast decodes a list page of the usual shape, with no
// reflection and one allocation for all of its plain strings: a poll over
// records already mirrored spends most of its time listing, and
// encoding/json took about 10 µs a record of a list page.
//
// It decodes exactly what encoding/json would, or gives up (ok false) and
// leaves the page to decodeListPage's general path: on anything invalid
// or unusual (a value of an unexpected type, a key that matches a field
// only case-insensitively, a key with escapes, a null record, nesting
// deeper than 1,000), so that no error and no odd case needs handling
// twice. FuzzFastListPage holds it to that: whatever it decodes, the
// general path decodes the same.
func decodeListPageFast(contentType string, body []byte) (p *Page, ok bool) {
	trimmed := bytes.TrimSpace(body) // as httpx.DecodeJSONBytes does
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, false
	}
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "text/html" {
		return nil, false
	}
	d := &listDecoder{s: string(trimmed)} // the copy every plain string shares
	p, ok = d.page()
	if !ok || d.fail {
		return nil, false
	}
	d.ws()
	if d.i != len(d.s) {
		return nil, false // data after the top-level value
	}
	return p, true
}

// unknown skips the value of a key that names no field, unless
// encoding/json would match it to one case-insensitively (or might: a
// key with non-ASCII letters), which is left to encoding/json.
func (d *listDecoder) unknown(key string, ofFile bool) {
	var buf [32]byte
	if len(key) <= len(buf) {
		for i := 0; i < len(key); i++ {
			c := key[i]
			if c >= utf8.RuneSelf {
				d.fail = true
				return
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
		lower := string(buf[:len(key)]) // on the stack: neither call keeps it
		if ofFile && isFileField(lower) || !ofFile && isEnvelopeField(lower) {
			d.fail = true
			return
		}
	} else {
		for i := 0; i < len(key); i++ {
			if key[i] >= utf8.RuneSelf {
				d.fail = true
				return
			}
		}
	}
	d.skip(0)
}

func (d *listDecoder) page() (*Page, bool) {
	var (
		env        envelope[File]
		sawRecords bool
		records    []File
	)
	d.object(func(key string) {
		switch key {
		case "Records":
			if sawRecords {
				d.fail = true // a repeated key: left to encoding/json
				return
			}
			sawRecords = true
			if d.next() == 'n' {
				d.literal("null")
				return
			}
			records = make([]File, 0, 100)
			d.array(func() {
				if d.next() != '{' {
					d.fail = true // null or another type: left to encoding/json
					return
				}
				records = append(records, File{})
				d.file(&records[len(records)-1])
			})
		case "CurrentPage":
			d.goInt(&env.CurrentPage)
		case "CurrentPageSize":
			d.goInt(&env.CurrentPageSize)
		case "PageNumber":
			d.goInt(&env.PageNumber)
		case "PageSize":
			d.goInt(&env.PageSize)
		case "TotalItems":
			d.goInt(&env.TotalItems)
		case "TotalPages":
			d.goInt(&env.TotalPages)
		case "HasNextPage":
			d.boolValue(&env.HasNextPage)
		case "HasPreviousPage":
			d.boolValue(&env.HasPreviousPage)
		case "FirstItem":
			d.goInt(&env.FirstItem)
		case "LastItem":
			d.goInt(&env.LastItem)
		case "CurrentOrderField":
			d.stringValue(&env.CurrentOrderField)
		case "CurrentSortDirection":
			d.goInt(&env.CurrentSortDirection)
		default:
			d.unknown(key, false)
		}
	})
	if d.fail {
		return nil, false
	}
	p := &Page{
		Page:        env.pageNumber(),
		PageSize:    env.pageSize(),
		TotalItems:  env.TotalItems,
		TotalPages:  env.TotalPages,
		HasNextPage: env.HasNextPage,
	}
	// Signed records only, in order, as decodeListPage keeps them
	// (compacted in place: each record moves down or stays).
	kept := records[:0]
	for _, f := range records {
		if !f.Signed {
			p.Unsigned++
			continue
		}
		kept = append(kept, f)
	}
	if kept == nil {
		kept = []File{} // no Records: an empty page, as decodeListPage makes it
	}
	p.Records = kept
	return p, true
}

func isEnvelopeField(lower string) bool {
	switch lower {
	case "records", "currentpage", "currentpagesize", "pagenumber", "pagesize", "totalitems", "totalpages",
		"hasnextpage", "haspreviouspage", "firstitem", "lastitem", "currentorderfield", "currentsortdirection":
		return true
	}
	return false
}

// file reads one record; its keys are File's JSON names.
func (d *listDecoder) file(f *File) {
	d.object(func(key string) {
		switch key {
		case "Id":
			d.intValue(&f.ID)
		case "BusinessId":
			d.intValue(&f.BusinessID)
		case "BusinessName":
			d.stringValue(&f.BusinessName)
		case "CoworkerId":
			d.intValue(&f.CoworkerID)
		case "CoworkerFullName":
			d.stringValue(&f.CoworkerFullName)
		case "CoworkerCompanyName":
			d.stringValue(&f.CoworkerCompanyName)
		case "CoworkerBillingName":
			d.stringValue(&f.CoworkerBillingName)
		case "CoworkerCoworkerType":
			d.stringValue(&f.CoworkerCoworkerType)
		case "Name":
			d.stringValue(&f.Name)
		case "Description":
			d.stringValue(&f.Description)
		case "FileDataFileName":
			d.stringValue(&f.FileDataFileName)
		case "SignedFileDataFileName":
			d.stringValue(&f.SignedFileDataFileName)
		case "Extension":
			d.stringValue(&f.Extension)
		case "Signed":
			d.boolValue(&f.Signed)
		case "Billed":
			d.boolValue(&f.Billed)
		case "AvailableToUser":
			d.boolValue(&f.AvailableToUser)
		case "RequestDigitalSignature":
			d.boolValue(&f.RequestDigitalSignature)
		case "EsignIdentifier":
			d.stringValue(&f.EsignIdentifier)
		case "DocumentTemplateGuid":
			d.stringValue(&f.DocumentTemplateGuid)
		case "ProposalGuid":
			d.stringValue(&f.ProposalGuid)
		case "CoworkerContractGuid":
			d.stringValue(&f.CoworkerContractGuid)
		case "UniqueId":
			d.stringValue(&f.UniqueID)
		case "UpdatedBy":
			d.stringValue(&f.UpdatedBy)
		case "UpdatedOn":
			d.timeValue(&f.UpdatedOn)
		case "CreatedOn":
			d.timeValue(&f.CreatedOn)
		default:
			d.unknown(key, true)
		}
	})
}

func isFileField(lower string) bool {
	switch lower {
	case "id", "businessid", "businessname", "coworkerid", "coworkerfullname", "coworkercompanyname",
		"coworkerbillingname", "coworkercoworkertype", "name", "description", "filedatafilename",
		"signedfiledatafilename", "extension", "signed", "billed", "availabletouser",
		"requestdigitalsignature", "esignidentifier", "documenttemplateguid", "proposalguid",
		"coworkercontractguid", "uniqueid", "updatedby", "updatedon", "createdon":
		return true
	}
	return false
}
