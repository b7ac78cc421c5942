package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/rccserver/api"
	"github.com/rccserver/rccserver/station/switching"
)

const (
	allToken  = "all-secret"
	oneToken  = "one-secret"
	unusedTok = "not-configured"
)

type views struct{}

func (views) Stations() []api.StationInfo {
	return []api.StationInfo{{Extension: "1010", Name: "alice-desk", User: "alice"}, {Extension: "1020", Name: "bob-desk"}}
}
func (views) Sessions() []api.SessionInfo {
	return []api.SessionInfo{{Ref: "a", User: "alice", Station: "1010", Status: "normal"}, {Ref: "b", User: "bob", Station: "1020", Status: "normal"}}
}

// rig is a real switch (no phones registered) under the API.
type rig struct {
	srv *api.Server
	url string
}

func newRig(t *testing.T, buffer int) *rig {
	t.Helper()
	sw, err := switching.New(switching.Config{Domain: "rcc.example.com",
		Listen:   []switching.Listener{{Network: "udp", Addr: "127.0.0.1:0"}},
		Stations: []switching.Station{{Extension: "1010", Password: "x"}, {Extension: "1020", Password: "y"}}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	swDone := make(chan error, 1)
	go func() { swDone <- sw.Serve(context.Background()) }()
	cfg := api.Config{Buffer: buffer, Tokens: []api.Token{
		{Name: "all", SHA256: api.HashToken(allToken), Stations: []string{"*"}},
		{Name: "one", SHA256: api.HashToken(oneToken), Stations: []string{"1010"}},
	}}
	srv, err := api.New(api.Options{Config: cfg, Switch: sw, Views: views{}, Log: zerolog.Nop(), Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close() // ends open streams first
		hs.Close()
		_ = sw.Close()
		<-swDone
	})
	return &rig{srv: srv, url: hs.URL}
}

func (r *rig) do(t *testing.T, method, path, token, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, r.url+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, m, res.Header
}

func TestRefusals(t *testing.T) {
	r := newRig(t, 0)
	for _, tc := range []struct {
		method, path, token, body string
		status                    int
		code                      string
	}{
		{"GET", "/v1/stations", "", "", 401, "Cs_APIUnauthorized"},
		{"GET", "/v1/stations", unusedTok, "", 401, "Cs_APIUnauthorized"},
		{"GET", "/v1/events", "", "", 401, "Cs_APIUnauthorized"},
		{"GET", "/v1/stations/1020", oneToken, "", 403, "Cs_APIForbidden"},
		{"GET", "/v1/events?station=1020", oneToken, "", 403, "Cs_APIForbidden"},
		{"POST", "/v1/calls", oneToken, `{"from":"1020","to":"1010"}`, 403, "Cs_APIForbidden"},
		{"DELETE", "/v1/calls/x?station=1020", oneToken, "", 403, "Cs_APIForbidden"},
		{"PUT", "/v1/stations/1020/dnd", oneToken, `{"on":true}`, 403, "Cs_APIForbidden"},
		{"PUT", "/v1/stations/1020/forwarding", oneToken, `{"type":"busy","on":false}`, 403, "Cs_APIForbidden"},
		{"GET", "/v1/stations/9999", allToken, "", 404, "Cs_APINotFound"},
		{"DELETE", "/v1/calls/x?station=1010", allToken, "", 404, "Cs_APINotFound"},
		{"POST", "/v1/calls", allToken, `{"from":"1010"}`, 400, "Cs_APIBadRequest"},
		{"POST", "/v1/calls", allToken, `{"from":"1010","to":"1020","x":1}`, 400, "Cs_APIBadRequest"},
		{"PUT", "/v1/stations/1010/forwarding", allToken, `{"type":"sideways","on":true,"destination":"1"}`, 400, "Cs_APIBadRequest"},
		// No phone registered: the switch refuses, as it would a CSTA MakeCall.
		{"POST", "/v1/calls", allToken, `{"from":"1010","to":"1020"}`, 503, "Cs_APIRefused"},
	} {
		status, body, hdr := r.do(t, tc.method, tc.path, tc.token, tc.body)
		if status != tc.status || body["code"] != tc.code {
			t.Errorf("%s %s (token %q): %d %v, want %d %s", tc.method, tc.path, tc.token, status, body, tc.status, tc.code)
		}
		if status == 401 && hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s: 401 without WWW-Authenticate", tc.method, tc.path)
		}
	}
}

func TestScopedLists(t *testing.T) {
	r := newRig(t, 0)
	for _, path := range []string{"/v1/stations", "/v1/sessions"} {
		req, _ := http.NewRequest("GET", r.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+oneToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var list []map[string]any
		_ = json.NewDecoder(res.Body).Decode(&list)
		res.Body.Close()
		if len(list) != 1 {
			t.Errorf("%s with a token for 1010: %v, want one entry", path, list)
		}
	}
}

// sse is a minimal stream reader for tests.
type sse struct {
	res *http.Response
	sc  *bufio.Scanner
}

type frame struct {
	id, event, data string
}

func openStream(t *testing.T, r *rig, token, query, lastID string) *sse {
	t.Helper()
	req, _ := http.NewRequest("GET", r.url+"/v1/events"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("stream: %s", res.Status)
	}
	t.Cleanup(func() { res.Body.Close() })
	return &sse{res: res, sc: bufio.NewScanner(res.Body)}
}

// next returns the next frame with data (events and resets), skipping
// comments and id-only frames.
func (s *sse) next(t *testing.T) frame {
	t.Helper()
	var f frame
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if f.data != "" {
				return f
			}
			f = frame{}
		case strings.HasPrefix(line, "id: "):
			f.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			f.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			f.data = line[6:]
		}
	}
	t.Fatalf("stream ended: %v", s.sc.Err())
	return f
}

func (r *rig) dnd(t *testing.T, ext string, on bool) {
	t.Helper()
	if status, body, _ := r.do(t, "PUT", "/v1/stations/"+ext+"/dnd", allToken, fmt.Sprintf(`{"on":%v}`, on)); status != 200 {
		t.Fatalf("dnd: %d %v", status, body)
	}
}

// TestStreamResume: a consumer that drops resumes after its last event ID
// with nothing missing; one whose ID has left the window gets a reset.
func TestStreamResume(t *testing.T) {
	r := newRig(t, 8)
	s := openStream(t, r, oneToken, "", "")
	r.dnd(t, "1020", true) // out of scope for this token: never seen
	r.dnd(t, "1010", true)
	f := s.next(t)
	if f.event != "station" || !strings.Contains(f.data, `"station":"1010"`) || !strings.Contains(f.data, `"dnd":true`) {
		t.Fatalf("first frame %+v", f)
	}
	last := f.id
	s.res.Body.Close() // the consumer drops
	r.dnd(t, "1010", false)
	r.dnd(t, "1010", true)
	s = openStream(t, r, oneToken, "", last)
	a, b := s.next(t), s.next(t)
	var ea, eb api.Event
	_ = json.Unmarshal([]byte(a.data), &ea)
	_ = json.Unmarshal([]byte(b.data), &eb)
	if a.event != "station" || *ea.DND || !*eb.DND || eb.ID <= ea.ID {
		t.Fatalf("resumed frames %+v %+v", a, b)
	}
	s.res.Body.Close()
	for i := range 10 { // more than the window of 8
		r.dnd(t, "1010", i%2 == 0)
	}
	s = openStream(t, r, oneToken, "", last)
	if f := s.next(t); f.event != "reset" || !strings.Contains(f.data, `"last_event_id":`+last) {
		t.Fatalf("want a reset first, got %+v", f)
	}
}

func TestOpenAPIListsEveryRoute(t *testing.T) {
	r := newRig(t, 0)
	res, err := http.Get(r.url + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	for _, rt := range api.Routes() {
		method, path, _ := strings.Cut(rt, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("openapi.json does not describe %s", rt)
		}
	}
	n := 0
	for _, ops := range doc.Paths {
		n += len(ops)
	}
	if n != len(api.Routes())+1 { // + the document itself
		t.Errorf("openapi.json has %d operations, the server %d routes", n, len(api.Routes())+1)
	}
}

func TestPageServed(t *testing.T) {
	r := newRig(t, 0)
	for _, p := range []string{"/ui/", "/ui/app.js", "/ui/app.css"} {
		res, err := http.Get(r.url + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || len(b) == 0 || res.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: %s, %d bytes, CSP %q", p, res.Status, len(b), res.Header.Get("Content-Security-Policy"))
		}
		if strings.Contains(string(b), "http://") || strings.Contains(string(b), "https://") {
			t.Errorf("%s names an external address", p)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := api.Token{Name: "a", SHA256: api.HashToken("x"), Stations: []string{"*"}}
	for _, tc := range []struct {
		cfg  api.Config
		want string
	}{
		{api.Config{Listen: "127.0.0.1:9120"}, "accepts no token"},
		{api.Config{Listen: "nope", Tokens: []api.Token{good}}, "api.listen"},
		{api.Config{Tokens: []api.Token{{Name: "a", SHA256: "secret", Stations: []string{"*"}}}}, "sha256"},
		{api.Config{Tokens: []api.Token{{Name: "a", SHA256: good.SHA256}}}, "stations"},
		{api.Config{Tokens: []api.Token{good, good}}, "twice"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error echoes the value: %v", err)
		}
	}
	if err := (api.Config{Listen: "127.0.0.1:0", Tokens: []api.Token{good}}).Validate(); err != nil {
		t.Error(err)
	}
}
