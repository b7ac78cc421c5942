package switching

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// binding is a station's registered contact (RFC 3261 §10.3). The switch
// keeps one binding per station: the latest REGISTER wins.
type binding struct {
	contact   sip.Uri
	source    string // ip:port the REGISTER came from; requests go there (NAT-safe)
	transport string
	expires   time.Time
	timer     Timer
	// path is the REGISTER's Path (RFC 3327 §5.3), the route set of
	// requests to contact; empty for a phone that registered directly.
	path []string
	// remote: the binding was made through another node (cluster watch,
	// ApplyRegistration); that node writes and deletes its record.
	remote bool
}

// reachable is where requests to a station go.
type reachable struct {
	target    sip.Uri  // Request-URI
	transport string   // "UDP" or "TCP"
	dest      string   // host:port the request is sent to
	routes    []string // Route headers of the initial request (the Path)
}

type registrar struct {
	sw       *Switch
	mu       sync.Mutex
	bindings map[string]*binding // extension -> binding
}

func newRegistrar(sw *Switch) *registrar {
	return &registrar{sw: sw, bindings: map[string]*binding{}}
}

func (r *registrar) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bindings {
		b.timer.Stop()
	}
}

// reach returns where to send an INVITE for station st: its registered
// contact, else its static contact. A registration with a Path is reached
// through it (RFC 3327 §5.4): the Path is the route set and the request
// goes to its first hop (loose routing, RFC 3261 §16.12); otherwise to the
// REGISTER's source address (NAT-safe).
func (r *registrar) reach(st *Station) (reachable, error) {
	r.mu.Lock()
	b := r.bindings[st.Extension]
	r.mu.Unlock()
	if b != nil {
		w := reachable{target: b.contact, transport: b.transport, dest: b.source}
		if len(b.path) > 0 {
			var first sip.Uri
			if _, err := sip.ParseAddressValue(b.path[0], &first, nil); err == nil {
				w.transport, w.dest = uriAddr(first, b.transport)
				w.routes = append([]string(nil), b.path...)
			}
		}
		return w, nil
	}
	if st.StaticContact == "" {
		return reachable{}, &notRegisteredError{ext: st.Extension}
	}
	var target sip.Uri
	if err := sip.ParseUri(st.StaticContact, &target); err != nil {
		return reachable{}, fmt.Errorf("%w: static contact of %s: %v", ErrInvalidConfig, st.Extension, err)
	}
	transport, dest := uriAddr(target, "UDP")
	return reachable{target: target, transport: transport, dest: dest}, nil
}

// uriAddr is the transport (its transport parameter, else def) and the
// host:port (default 5060) of a SIP URI (RFC 3263 without DNS lookups).
func uriAddr(u sip.Uri, def string) (transport, dest string) {
	transport = def
	if u.UriParams != nil {
		if t, ok := u.UriParams.Get("transport"); ok && t != "" {
			transport = strings.ToUpper(t)
		}
	}
	port := u.Port
	if port == 0 {
		port = 5060
	}
	return transport, fmt.Sprintf("%s:%d", u.Host, port)
}

// Path limits: a REGISTER beyond them is refused (hostile input is bounded).
const (
	maxPathEntries = 8
	maxPathEntry   = 512
)

// pathOf returns the REGISTER's Path values in order (RFC 3327 §4: each a
// name-addr of a proxy, several per header separated by commas). sipgo
// keeps Path as an opaque header, hence the split here.
func pathOf(req *sip.Request) ([]string, error) {
	var out []string
	for _, h := range req.GetHeaders("Path") {
		for _, v := range splitComma(h.Value()) {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			if len(out) == maxPathEntries || len(v) > maxPathEntry {
				return nil, fmt.Errorf("more than %d Path entries or one longer than %d bytes", maxPathEntries, maxPathEntry)
			}
			var u sip.Uri
			if _, err := sip.ParseAddressValue(v, &u, nil); err != nil || u.Host == "" {
				return nil, fmt.Errorf("path entry %q: not a SIP address", clip(v))
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// splitComma splits a header value at commas outside <…> and "…".
func splitComma(s string) []string {
	var out []string
	inAngle, inQuote, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case c == '<' && !inQuote:
			inAngle = true
		case c == '>' && !inQuote:
			inAngle = false
		case c == ',' && !inAngle && !inQuote:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// Registered reports whether station ext has a live registration.
func (sw *Switch) Registered(ext string) bool {
	sw.reg.mu.Lock()
	defer sw.reg.mu.Unlock()
	_, ok := sw.reg.bindings[ext]
	return ok
}

// onRegister is the registrar (RFC 3261 §10.3): digest-authenticates the
// station, then adds, refreshes or removes its binding.
func (sw *Switch) onRegister(req *sip.Request, tx sip.ServerTransaction) error {
	// An unknown user is challenged like a station (no 404 that would tell
	// which extensions exist); authenticate never accepts it.
	st := sw.stationByUser(req.To().Address.User)
	if ok, err := sw.authenticate(req, tx, st); !ok || st == nil {
		return err
	}
	contacts := req.GetHeaders("Contact")
	if len(contacts) == 0 { // a query: answer with the current binding
		return tx.Respond(sw.reg.okResponse(req, st.Extension))
	}
	expires := time.Duration(3600) * time.Second
	if h := req.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			expires = time.Duration(n) * time.Second
		}
	}
	c, ok := contacts[0].(*sip.ContactHeader)
	if !ok {
		return tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Contact", nil))
	}
	if c.Address.Wildcard || c.Address.Host == "*" {
		if expires != 0 {
			return tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Wildcard Needs Expires 0", nil))
		}
		sw.reg.remove(st.Extension)
		return tx.Respond(sw.reg.okResponse(req, st.Extension))
	}
	if v, ok := c.Params.Get("expires"); ok {
		if n, err := strconv.Atoi(v); err == nil {
			expires = time.Duration(n) * time.Second
		}
	}
	if expires == 0 {
		sw.reg.remove(st.Extension)
		return tx.Respond(sw.reg.okResponse(req, st.Extension))
	}
	if expires < sw.cfg.RegisterMinExpires {
		res := sip.NewResponseFromRequest(req, sip.StatusIntervalToBrief, "Interval Too Brief", nil)
		res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(int(sw.cfg.RegisterMinExpires/time.Second))))
		return tx.Respond(res)
	}
	path, err := pathOf(req)
	if err != nil {
		sw.refusals.inc(CodeRegisterBadPath)
		sw.log.Warn().Str("code", string(CodeRegisterBadPath)).Str("device", st.Extension).Str("source", req.Source()).
			Err(err).Msg("REGISTER refused: bad Path")
		return tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Path", nil))
	}
	expires = min(expires, sw.cfg.RegisterMaxExpires)
	sw.reg.put(st.Extension, &binding{
		contact: c.Address, source: req.Source(), transport: strings.ToUpper(req.Transport()),
		expires: sw.cfg.Clock.Now().Add(expires), path: path,
	}, expires)
	sw.log.Debug().Str("device", st.Extension).Str("contact", c.Address.String()).Dur("expires", expires).Msg("registered")
	return tx.Respond(sw.reg.okResponse(req, st.Extension))
}

func (r *registrar) put(ext string, b *binding, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.putLocked(ext, b, d)
	r.sw.saveBinding(ext, b)
}

// putLocked installs binding b for d; r.mu is held.
func (r *registrar) putLocked(ext string, b *binding, d time.Duration) {
	if old := r.bindings[ext]; old != nil {
		old.timer.Stop()
	}
	r.bindings[ext] = b
	// The expiry runs in a goroutine of the switch's (spawn), so Close waits for it.
	b.timer = r.sw.cfg.Clock.AfterFunc(d, func() { r.sw.spawn(func() { r.expire(ext, b) }) })
}

// expire drops binding b of ext if it is still the current one (RFC 3261
// §10.2.2 expiry) and clears the station's calls.
func (r *registrar) expire(ext string, b *binding) {
	r.mu.Lock()
	expired := r.bindings[ext] == b
	if expired {
		delete(r.bindings, ext)
	}
	r.mu.Unlock()
	if expired {
		if !b.remote {
			r.sw.dropBinding(ext) // the node that made a remote one deletes its record
		}
		r.sw.log.Info().Str("device", ext).Msg("registration expired")
		r.sw.stationGone(ext)
	}
}

// drop forgets ext's binding without touching calls: the station was
// removed or its credentials changed.
func (r *registrar) drop(ext string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.bindings[ext]; b != nil {
		b.timer.Stop()
		delete(r.bindings, ext)
	}
}

// remove drops a binding (unREGISTER); the station's calls are cleared.
func (r *registrar) remove(ext string) {
	r.mu.Lock()
	b := r.bindings[ext]
	if b != nil {
		b.timer.Stop()
		delete(r.bindings, ext)
	}
	r.mu.Unlock()
	if b != nil {
		r.sw.dropBinding(ext)
		r.sw.log.Debug().Str("device", ext).Msg("unregistered")
		r.sw.stationGone(ext)
	}
}

// okResponse is the 200 to a REGISTER: the current binding, its Path
// (RFC 3327 §5.3: the registrar copies the stored Path values, in order)
// and Supported: path.
func (r *registrar) okResponse(req *sip.Request, ext string) *sip.Response {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Supported", "path"))
	r.mu.Lock()
	b := r.bindings[ext]
	r.mu.Unlock()
	if b != nil {
		for _, p := range b.path {
			res.AppendHeader(sip.NewHeader("Path", p))
		}
		c := &sip.ContactHeader{Address: b.contact}
		left := int(time.Until(b.expires) / time.Second)
		if now := r.sw.cfg.Clock.Now(); !now.IsZero() {
			left = int(b.expires.Sub(now) / time.Second)
		}
		c.Params = sip.NewParams()
		c.Params.Add("expires", strconv.Itoa(max(left, 0)))
		res.AppendHeader(c)
	}
	return res
}
