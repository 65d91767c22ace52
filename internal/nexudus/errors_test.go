package nexudus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/httpx"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

func TestHTMLErrorPage(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, func(c *Config) { c.MaxRetries = 1 })
	e.sim.FailNext(nexudustest.RouteList, 5, nexudustest.Fault{HTML: true, Status: 500})
	err := list(t, e)
	var se *httpx.StatusError
	if !errors.As(err, &se) || se.Status != 500 || !errors.Is(err, ErrServer) {
		t.Fatalf("err %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"list page 1", "HTTP 500", "Server Error"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if strings.ContainsAny(msg, "<>") || strings.Contains(msg, "font-family") {
		t.Fatalf("HTML in %q", msg)
	}

	// An HTML page with a 200 status is no JSON either.
	e.sim.ClearFaults()
	e.sim.FailNext(nexudustest.RouteList, 1, nexudustest.Fault{HTML: true, Status: 200})
	err = list(t, e)
	if err == nil || !strings.Contains(err.Error(), "not JSON") || strings.Contains(err.Error(), "<") {
		t.Fatalf("200 html: %v", err)
	}
	e.sim.FailNext(nexudustest.RouteList, 1, nexudustest.Fault{MalformedJSON: true})
	if err := list(t, e); err == nil || !strings.Contains(err.Error(), "malformed JSON") {
		t.Fatalf("malformed: %v", err)
	}
	e.sim.FailNext(nexudustest.RouteList, 1, nexudustest.Fault{Truncate: true})
	if err := list(t, e); err == nil {
		t.Fatal("truncated page: no error")
	}
}

func TestValidationErrorFromServer(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, nil)
	// A year past 9999 cannot be written as YYYY-MM-DDTHH:mm: the server
	// answers its documented 400 naming the parameter.
	_, err := e.c.ListPage(context.Background(), ListQuery{UpdatedFrom: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)}, 1)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err %T %v", err, err)
	}
	if ve.Status != 400 || len(ve.Errors) != 1 || ve.Errors[0].PropertyName != "from_CoworkerDataFile_UpdatedOn" ||
		ve.Errors[0].AttemptedValue != "12000-01-01T00:00" || !errors.Is(err, ErrBadRequest) {
		t.Fatalf("validation error %+v", ve)
	}
	if !strings.Contains(err.Error(), "from_CoworkerDataFile_UpdatedOn: is not a valid date") || strings.Contains(err.Error(), "12000-01-01") {
		t.Fatalf("message %q", err)
	}
	if e.sim.Count(nexudustest.RouteList) != 1 {
		t.Fatal("400 retried")
	}
}

func TestStatusErrorShapes(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		is     error
		want   string
	}{
		{"validation", 400, `{"Message":"Name: is a required field","Value":null,"Errors":[{"AttemptedValue":null,"Message":"is a required field","PropertyName":"Name"}],"WasSuccessful":false}`, ErrBadRequest, "Name: is a required field"},
		{"validation without errors", 400, `{"Message":"The request is invalid.","Errors":[],"WasSuccessful":false}`, ErrBadRequest, "The request is invalid."},
		{"400 plain", 400, `bad`, ErrBadRequest, "HTTP 400"},
		{"400 success flag", 400, `{"Message":"odd","WasSuccessful":true}`, ErrBadRequest, "odd"},
		{"409 is throttle", 409, `{"Message":"slow down"}`, ErrThrottled, "slow down"},
		{"404 json message", 404, `{"message":"gone away"}`, ErrNotFound, "gone away"},
		{"403 error_description", 403, `{"error_description":"no role"}`, ErrForbidden, "no role"},
		{"500 json no message", 500, `{"x":1}`, ErrServer, `{"x":1}`},
		{"500 broken json", 500, `{"Message":`, ErrServer, `{"Message":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := statusError("nexudus", tt.status, []byte(tt.body))
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v", err)
			}
		})
	}
	var ve *ValidationError
	if err := statusError("nexudus", 400, []byte(`{"Errors":[{"PropertyName":"A","Message":"x"},{"PropertyName":"","Message":"y"}]}`)); !errors.As(err, &ve) ||
		ve.Error() != "nexudus: HTTP 400 validation failed: A: x; y" {
		t.Fatalf("err %v", err)
	}
	se := storageError(403, []byte(`<Error><Code>SignatureDoesNotMatch</Code><SignatureProvided>s3cr3t</SignatureProvided></Error>`))
	if strings.Contains(se.Error(), "s3cr3t") || !strings.Contains(se.Error(), "storage: HTTP 403") || !strings.Contains(se.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("storage error %q", se)
	}
}

// A server that echoes credentials in an error body must not get them into
// an error message.
func TestNoSecretsInErrors(t *testing.T) {
	const password = "Tr0ub4dor&3"
	var token string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		token = "tok-" + fmt.Sprint(time.Now().UnixNano())
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":3600,"refresh_token":"refresh-%s"}`, token, token)
	})
	mux.HandleFunc("GET /api/spaces/coworkerdatafiles", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(500)
		fmt.Fprintf(w, "<h1>Error</h1><p>request with %s and password=%s failed</p>", r.Header.Get("Authorization"), password)
	})
	mux.HandleFunc("GET /api/spaces/coworkerdatafiles/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"Message":"token %s rejected","Errors":[{"PropertyName":"refresh","Message":"refresh-%s","AttemptedValue":%q}]}`, token, token, password)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL, Username: "u", Password: password, MaxRetries: -1, RequestsPerMinute: -1, RequestsPerHour: -1}, srv.Client(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err1 := c.ListPage(context.Background(), ListQuery{}, 1)
	_, err2 := c.Get(context.Background(), 5)
	for _, err := range []error{err1, err2} {
		if err == nil {
			t.Fatal("no error")
		}
		for _, secret := range []string{password, token, "refresh-" + token} {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("%q in %q", secret, err)
			}
		}
		if !strings.Contains(err.Error(), "REDACTED") {
			t.Fatalf("nothing redacted in %q", err)
		}
	}
	if !errors.Is(err1, ErrServer) || !errors.Is(err2, ErrBadRequest) {
		t.Fatal("scrubbing lost the error chain")
	}
}

func TestNetworkErrorIsRedacted(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := New(Config{BaseURL: url, Auth: AuthBasic, Username: "u", Password: "p4ssword", MaxRetries: 1, RequestsPerMinute: -1, RequestsPerHour: -1,
		Backoff: httpx.Backoff{Base: time.Millisecond, Max: time.Millisecond}}, &http.Client{Timeout: time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(context.Background(), 1)
	if err == nil || !strings.Contains(err.Error(), "get file 1") || strings.Contains(err.Error(), "p4ssword") {
		t.Fatalf("err %v", err)
	}
}
