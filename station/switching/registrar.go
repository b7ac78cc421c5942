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
// contact, else its static contact.
func (r *registrar) reach(st *Station) (target sip.Uri, transport, dest string, err error) {
	r.mu.Lock()
	b := r.bindings[st.Extension]
	r.mu.Unlock()
	if b != nil {
		return b.contact, b.transport, b.source, nil
	}
	if st.StaticContact == "" {
		return sip.Uri{}, "", "", fmt.Errorf("%w: %s", ErrNotRegistered, st.Extension)
	}
	if err := sip.ParseUri(st.StaticContact, &target); err != nil {
		return sip.Uri{}, "", "", fmt.Errorf("%w: static contact of %s: %v", ErrInvalidConfig, st.Extension, err)
	}
	transport = "UDP"
	if target.UriParams != nil {
		if t, ok := target.UriParams.Get("transport"); ok && t != "" {
			transport = strings.ToUpper(t)
		}
	}
	port := target.Port
	if port == 0 {
		port = 5060
	}
	return target, transport, fmt.Sprintf("%s:%d", target.Host, port), nil
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
	expires = min(expires, sw.cfg.RegisterMaxExpires)
	sw.reg.put(st.Extension, &binding{
		contact: c.Address, source: req.Source(), transport: strings.ToUpper(req.Transport()),
		expires: sw.cfg.Clock.Now().Add(expires),
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
		r.sw.dropBinding(ext)
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

func (r *registrar) okResponse(req *sip.Request, ext string) *sip.Response {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	r.mu.Lock()
	b := r.bindings[ext]
	r.mu.Unlock()
	if b != nil {
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
