package coredata

import (
	"reflect"
	"testing"

	syncd "github.com/coworkdocs/syncd"
)

func TestDecodeDocumentExample(t *testing.T) {
	got, err := decodeFile(syncd.MustAPIPayload("coredata/file_details.json")) // the document's example
	if err != nil {
		t.Fatal(err)
	}
	want := &File{
		ID: "e139a8ac-7368-11ee-b992-57663b1559fb", Digest: "4b41a3475132bd861b30a878e30aa56a",
		SnapshotID: "e139e880-7368-11ee-b992-4bf81dd1b7a4", Title: "sample", Filename: "sample.pdf",
		Parent: "313ae0be-71cf-11ee-b1e9-ebd554949e29", MimeType: "application/pdf",
		BlobName: "103d0b48a25b4197bb3b90bc462abc29", Size: 3028,
		Created: "2023-10-25T19:01:18", Modified: "2023-10-25T19:01:18", Dynatype: "File",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestDecodeFileShapes(t *testing.T) {
	tests := []struct {
		name, in string
		want     *File // nil: error
	}{
		{"tag strings", `{"id":"a","tags":["x"," y ",""]}`, &File{ID: "a", Tags: []string{"x", "y"}}},
		{"tag objects", `{"id":"a","tags":[{"name":"x"},{"title":"y"},{"name":"","title":"z"},{"id":1}]}`, &File{ID: "a", Tags: []string{"x", "y", "z"}}},
		{"tag string", `{"id":"a","tags":"x, y"}`, &File{ID: "a", Tags: []string{"x", "y"}}},
		{"tags of numbers", `{"id":"a","tags":[1]}`, nil},
		{"tags object", `{"id":"a","tags":{"a":1}}`, nil},
		{"size string", `{"id":"a","size":" 42 "}`, &File{ID: "a", Size: 42}},
		{"size float", `{"id":"a","size":42.0}`, &File{ID: "a", Size: 42}},
		{"size exponent", `{"id":"a","size":4.2e1}`, &File{ID: "a", Size: 42}},
		{"size fraction", `{"id":"a","size":4.5}`, nil},
		{"size negative", `{"id":"a","size":-3}`, nil},
		{"size word", `{"id":"a","size":"big"}`, nil},
		{"size bool", `{"id":"a","size":true}`, nil},
		{"parent object", `{"id":"a","parent":{"id":"p","title":"P"}}`, &File{ID: "a", Parent: "p"}},
		{"parent number", `{"id":"a","parent":5}`, nil},
		{"parent bad object", `{"id":"a","parent":{"id":5}}`, nil},
		{"dynatype name", `{"id":"a","dynatype":{"name":"Memo"}}`, &File{ID: "a", Dynatype: "Memo"}},
		{"dynatype empty object", `{"id":"a","dynatype":{}}`, &File{ID: "a"}},
		{"dynatype number", `{"id":"a","dynatype":3}`, nil},
		{"dynatype bad object", `{"id":"a","dynatype":{"title":3}}`, nil},
		{"digest upper", `{"id":"a","digest":" ABC "}`, &File{ID: "a", Digest: "abc"}},
		{"id from resource_uri", `{"resource_uri":"/api/v2/files/xyz/"}`, &File{ID: "xyz"}},
		{"no id", `{"title":"t"}`, nil},
		{"bad id", `{"id":"../etc"}`, nil},
		{"not an object", `[1]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeFile([]byte(tt.in))
			if tt.want == nil {
				if err == nil {
					t.Fatalf("accepted: %+v", got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
