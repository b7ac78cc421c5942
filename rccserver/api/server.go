package api

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rccserver/rccserver/rccserver/callcontrol"
	"github.com/rccserver/rccserver/station/switching"
)

// Switch is what the API drives: the CSTA service's switch operations
// (callcontrol.Switch, so there is one implementation of call logic) and
// registration state.
type Switch interface {
	callcontrol.Switch
	Registered(ext string) bool
}

// Views gives what the switch does not know: the configured stations with
// who holds them, and the signed-in RCC sessions.
type Views interface {
	Stations() []StationInfo
	Sessions() []SessionInfo
}

// StationInfo is a configured station and its login.
type StationInfo struct {
	Extension string `json:"extension"`
	Name      string `json:"name"`
	// User is the contact-center user logged in to the station, if any.
	User string `json:"user,omitempty"`
}

// SessionInfo is one RCC (Lync) session.
type SessionInfo struct {
	Ref     string `json:"ref"`
	User    string `json:"user"`
	Line    string `json:"line"`
	Station string `json:"station,omitempty"` // the switch extension the session controls
	Account string `json:"account,omitempty"`
	Status  string `json:"status"`
	Peer    string `json:"peer"`
}

// Options configure a Server.
type Options struct {
	Config Config
	Switch Switch
	Views  Views
	Log    zerolog.Logger
	// Now is the clock for overflow events; nil is time.Now.
	Now func() time.Time
	// Heartbeat is how often an idle stream gets a comment; 0 is 15s.
	Heartbeat time.Duration
}

//go:embed openapi.json
var openAPI []byte

//go:embed ui
var uiFS embed.FS

// Server is the API. Start begins collecting events; Serve answers on a
// listener; Close stops both and waits for every goroutine it started.
type Server struct {
	opts   Options
	sw     Switch
	views  Views
	log    zerolog.Logger
	tokens *tokens
	ring   *ring
	stop   chan struct{} // closed by Close: streams end
	mu     sync.Mutex
	sub    *switching.Subscription
	wg     sync.WaitGroup // feed goroutine
	closed bool
}

// New builds the API from validated options.
func New(o Options) (*Server, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if o.Switch == nil || o.Views == nil {
		return nil, fmt.Errorf("%w: Switch and Views are required", ErrInvalidConfig)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	size := o.Config.Buffer
	if size == 0 {
		size = DefaultBuffer
	}
	log := o.Log.With().Str("component", "api").Logger()
	return &Server{opts: o, sw: o.Switch, views: o.Views, log: log, tokens: newTokens(o.Config.Tokens),
		ring: newRing(size), stop: make(chan struct{})}, nil
}

// Start subscribes to every device of the switch and feeds the event
// window until Close.
func (s *Server) Start() error {
	sub, err := s.sw.Subscribe("")
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		sub.Close()
		return switching.ErrClosed
	}
	s.sub = sub
	s.wg.Go(func() { feed(sub, s.ring, s.log, s.opts.Now) })
	return nil
}

// Close ends the subscription and the streams, and waits for the feed.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.stop)
		if s.sub != nil {
			s.sub.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.ring.close()
}

// Serve answers on ln (TLS when api.tls is set) until ctx ends; open
// streams are ended first so shutdown does not wait for them.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return base }}
	done := make(chan struct{})
	var stopped sync.WaitGroup
	stopped.Go(func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		cancel() // ends open streams
		sctx, c := context.WithTimeout(context.Background(), 2*time.Second)
		defer c()
		_ = srv.Shutdown(sctx)
	})
	var err error
	if t := s.opts.Config.TLS; t.Cert != "" {
		err = srv.ServeTLS(ln, t.Cert, t.Key)
	} else {
		err = srv.Serve(ln)
	}
	close(done)
	stopped.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// handler is an API handler: it writes the answer, or returns the error
// fail logs and answers.
type handler func(w http.ResponseWriter, r *http.Request, tok *Token) error

// route is one authenticated API route.
type route struct {
	method, path string
	h            func(*Server) handler
}

// routes are the /v1 routes that need a token; openapi.json describes each
// (TestOpenAPIListsEveryRoute).
var routes = []route{
	{"GET", "/v1/events", func(s *Server) handler { return s.events }},
	{"GET", "/v1/stations", func(s *Server) handler { return s.listStations }},
	{"GET", "/v1/stations/{ext}", func(s *Server) handler { return s.getStation }},
	{"PUT", "/v1/stations/{ext}/dnd", func(s *Server) handler { return s.putDND }},
	{"PUT", "/v1/stations/{ext}/forwarding", func(s *Server) handler { return s.putForwarding }},
	{"GET", "/v1/sessions", func(s *Server) handler { return s.listSessions }},
	{"GET", "/v1/calls", func(s *Server) handler { return s.listCalls }},
	{"POST", "/v1/calls", func(s *Server) handler { return s.makeCall }},
	{"DELETE", "/v1/calls/{id}", func(s *Server) handler { return s.clearCall }},
}

// Handler returns the API's routes, the OpenAPI document and the operator
// page (/ui/).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPI)
	})
	for _, rt := range routes {
		mux.Handle(rt.method+" "+rt.path, s.authed(rt.h(s)))
	}
	ui, _ := fs.Sub(uiFS, "ui")
	files := http.FileServerFS(ui)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/", http.StatusFound)
	})
	mux.Handle("GET /ui/", http.StripPrefix("/ui/", pageHeaders(files)))
	return mux
}

// pageHeaders lets the operator page load only its own files.
func pageHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// authed checks the bearer token, runs h, and logs and answers its error:
// the one place API errors are logged. Tokens are never logged; their
// names are.
func (s *Server) authed(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := s.tokens.check(r)
		if err == nil {
			err = h(w, r, tok)
		}
		if err == nil {
			return
		}
		code, logCode := status(err)
		ev := s.log.Warn()
		if logCode == CodeInternal {
			ev = s.log.Error()
		}
		name := ""
		if tok != nil {
			name = tok.Name
		}
		ev.Err(err).Str("code", string(logCode)).Int("status", code).Str("method", r.Method).
			Str("path", r.URL.Path).Str("token", name).Str("peer", r.RemoteAddr).Msg("API request refused")
		msg := err.Error()
		if logCode == CodeInternal {
			msg = "internal error"
		}
		if code == http.StatusUnauthorized {
			// RFC 6750 §3: say which scheme is expected.
			w.Header().Set("WWW-Authenticate", `Bearer realm="rccserver"`)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(apiErr{Code: string(logCode), Error: msg})
	})
}

type apiErr struct {
	Code  string `json:"code"`
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	return json.NewEncoder(w).Encode(v)
}

// scope checks that tok may use station ext, and that ext is a station.
func (s *Server) scope(tok *Token, ext string) error {
	if ext == "" {
		return badRequest("station missing")
	}
	if !tok.allows(ext) {
		return fmt.Errorf("%w: token %q, station %q", ErrForbidden, tok.Name, ext)
	}
	if !slices.ContainsFunc(s.views.Stations(), func(st StationInfo) bool { return st.Extension == ext }) {
		return fmt.Errorf("%w: station %q", ErrNotFound, ext)
	}
	return nil
}

// Station is a station as GET /v1/stations answers it.
type Station struct {
	StationInfo
	Registered bool         `json:"registered"`
	LoggedIn   bool         `json:"logged_in"`
	DND        bool         `json:"dnd"`
	Forwarding []Forwarding `json:"forwarding"`
}

func (s *Server) station(st StationInfo) Station {
	out := Station{StationInfo: st, Registered: s.sw.Registered(st.Extension), LoggedIn: st.User != "", Forwarding: []Forwarding{}}
	out.DND, _ = s.sw.DND(st.Extension)
	if fw, err := s.sw.Forwarding(st.Extension); err == nil {
		out.Forwarding = forwardings(fw)
	}
	return out
}

// visible is the stations tok sees, in configuration order.
func (s *Server) visible(tok *Token) []StationInfo {
	var out []StationInfo
	for _, st := range s.views.Stations() {
		if tok.allows(st.Extension) {
			out = append(out, st)
		}
	}
	return out
}

func (s *Server) listStations(w http.ResponseWriter, _ *http.Request, tok *Token) error {
	out := []Station{}
	for _, st := range s.visible(tok) {
		out = append(out, s.station(st))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getStation(w http.ResponseWriter, r *http.Request, tok *Token) error {
	ext := r.PathValue("ext")
	if err := s.scope(tok, ext); err != nil {
		return err
	}
	for _, st := range s.views.Stations() {
		if st.Extension == ext {
			return writeJSON(w, http.StatusOK, s.station(st))
		}
	}
	return fmt.Errorf("%w: station %q", ErrNotFound, ext)
}

func (s *Server) listSessions(w http.ResponseWriter, _ *http.Request, tok *Token) error {
	out := []SessionInfo{}
	for _, se := range s.views.Sessions() {
		if tok.all() || (se.Station != "" && tok.allows(se.Station)) {
			out = append(out, se)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// Call is one station's connection in a call.
type Call struct {
	CallID      string       `json:"call_id"`
	Station     string       `json:"station"`
	State       string       `json:"state"`
	Calling     string       `json:"calling"`
	Called      string       `json:"called"`
	Connections []Connection `json:"connections"`
}

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request, tok *Token) error {
	stations := s.visible(tok)
	if ext := r.URL.Query().Get("station"); ext != "" {
		if err := s.scope(tok, ext); err != nil {
			return err
		}
		stations = []StationInfo{{Extension: ext}}
	}
	out := []Call{}
	for _, st := range stations {
		calls, err := s.sw.Snapshot(st.Extension)
		if err != nil {
			continue // removed by a reload since Stations
		}
		for _, c := range calls {
			call := Call{CallID: c.CallID, Station: st.Extension, State: c.State.String(), Calling: c.Calling, Called: c.Called, Connections: []Connection{}}
			for _, cn := range c.Connections {
				call.Connections = append(call.Connections, Connection{Device: cn.Device, Station: cn.Station, State: cn.State.String()})
			}
			out = append(out, call)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// decode reads a small JSON body strictly.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("body: %v", err)
	}
	return nil
}

type makeCallReq struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// makeCall is MakeCall of the CSTA service: the same switch operation, the
// dial plan applied by the switch's router; the token's scope stands for
// the CSTA rule that a session places calls only from its own line.
func (s *Server) makeCall(w http.ResponseWriter, r *http.Request, tok *Token) error {
	var req makeCallReq
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.scope(tok, req.From); err != nil {
		return err
	}
	to := strings.TrimSpace(req.To)
	if to == "" {
		return badRequest("to missing")
	}
	ref, err := s.sw.MakeCall(r.Context(), req.From, to)
	if err != nil {
		return err
	}
	s.log.Info().Str("token", tok.Name).Str("station", req.From).Str("call_id", ref.CallID).Msg("API call placed")
	return writeJSON(w, http.StatusCreated, map[string]string{"call_id": ref.CallID, "station": ref.Device})
}

// clearCall is ClearConnection: the station leaves the call, and it must
// be one of the station's calls now (the CSTA service's check).
func (s *Server) clearCall(w http.ResponseWriter, r *http.Request, tok *Token) error {
	id, ext := r.PathValue("id"), r.URL.Query().Get("station")
	if err := s.scope(tok, ext); err != nil {
		return err
	}
	calls, err := s.sw.Snapshot(ext)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(calls, func(c switching.CallInfo) bool { return c.CallID == id }) {
		return fmt.Errorf("%w: call %q is not a call of station %q", ErrNotFound, id, ext)
	}
	if err := s.sw.Clear(r.Context(), ext, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type dndReq struct {
	On *bool `json:"on"`
}

func (s *Server) putDND(w http.ResponseWriter, r *http.Request, tok *Token) error {
	ext := r.PathValue("ext")
	if err := s.scope(tok, ext); err != nil {
		return err
	}
	var req dndReq
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.On == nil {
		return badRequest("on missing")
	}
	if err := s.sw.SetDND(ext, *req.On); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"on": *req.On})
}

type forwardingReq struct {
	Type        string `json:"type"`
	On          *bool  `json:"on"`
	Destination string `json:"destination"`
}

func (s *Server) putForwarding(w http.ResponseWriter, r *http.Request, tok *Token) error {
	ext := r.PathValue("ext")
	if err := s.scope(tok, ext); err != nil {
		return err
	}
	var req forwardingReq
	if err := decode(r, &req); err != nil {
		return err
	}
	typ, err := switching.ParseForwardType(req.Type)
	if err != nil || typ == switching.ForwardUnknown {
		return badRequest("type %q: one of immediate, busy, no-answer", req.Type)
	}
	if req.On == nil {
		return badRequest("on missing")
	}
	dest := strings.TrimSpace(req.Destination)
	if *req.On && dest == "" {
		return badRequest("destination missing")
	}
	if err := s.sw.SetForwarding(ext, typ, *req.On, dest); err != nil {
		return err
	}
	fw, err := s.sw.Forwarding(ext)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, forwardings(fw))
}

// Routes lists the authenticated routes as "METHOD /path", for tests and docs.
func Routes() []string {
	out := make([]string, len(routes))
	for i, rt := range routes {
		out[i] = rt.method + " " + rt.path
	}
	return out
}
