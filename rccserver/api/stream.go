package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// events is the event stream, Server-Sent Events (HTML Living Standard,
// "Server-sent events"): one-way, plain HTTP, and resumable with
// Last-Event-ID, which is all a consumer of call events needs (docs/api.md
// "The event stream"). Without Last-Event-ID the stream starts with the next event;
// with it, the events after it are replayed from the window, or, if the
// window no longer holds them, an "event: reset" comes first.
func (s *Server) events(w http.ResponseWriter, r *http.Request, tok *Token) error {
	filter, err := s.streamFilter(r, tok)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	cursor := s.ring.last()
	resumed := false
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		id, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return badRequest("Last-Event-ID %q: not an event ID", v)
		}
		cursor, resumed = id, true
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, "retry: 2000\n\n"); err != nil {
		return nil
	}
	_ = rc.Flush()
	s.log.Info().Str("token", tok.Name).Str("peer", r.RemoteAddr).Uint64("from", cursor).Bool("resumed", resumed).Msg("API stream opened")
	defer s.log.Info().Str("token", tok.Name).Str("peer", r.RemoteAddr).Msg("API stream closed")
	beat := time.NewTicker(s.opts.Heartbeat)
	defer beat.Stop()
	for {
		evs, gap, wake, done := s.ring.since(cursor)
		if gap {
			from := uint64(0)
			if len(evs) > 0 {
				from = evs[0].ID
			}
			s.log.Warn().Str("token", tok.Name).Uint64("last_event_id", cursor).Uint64("resumes_at", from).Msg("API consumer fell out of the event window")
			if _, err := fmt.Fprintf(w, "event: reset\ndata: {\"last_event_id\":%d,\"resumes_at\":%d,\"reason\":\"the events after last_event_id are no longer held; resynchronise with GET /v1/calls\"}\n\n", cursor, from); err != nil {
				return nil
			}
		}
		sentTo := cursor
		for _, e := range evs {
			cursor = e.ID
			if !filter(e) {
				continue
			}
			b, _ := json.Marshal(e)
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, kind(e), b); err != nil {
				return nil
			}
			sentTo = e.ID
		}
		if sentTo != cursor {
			// The filter passed over events: move the consumer's last event
			// ID on without dispatching anything (an id field with no data),
			// so a resume does not count them as lost.
			if _, err := fmt.Fprintf(w, "id: %d\n\n", cursor); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
		if done {
			return nil
		}
		select {
		case <-wake:
		case <-beat.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
		case <-r.Context().Done():
			return nil
		case <-s.stop:
			return nil
		}
	}
}

// kind is the SSE event name: call, station (DND, forwarding) or overflow.
func kind(e Event) string {
	switch {
	case e.Type == eventOverflow:
		return eventOverflow
	case e.CallID == "":
		return "station"
	}
	return "call"
}

// streamFilter is ?station= or ?user= (the station the user is logged in
// to), within the token's scope; without either, every station the token
// sees. Overflow events go to everyone.
func (s *Server) streamFilter(r *http.Request, tok *Token) (func(Event) bool, error) {
	q := r.URL.Query()
	ext := q.Get("station")
	if u := q.Get("user"); u != "" {
		if ext != "" {
			return nil, badRequest("station and user: give one")
		}
		for _, st := range s.views.Stations() {
			if st.User == u {
				ext = st.Extension
			}
		}
		if ext == "" {
			return nil, fmt.Errorf("%w: user %q is not logged in to a station", ErrNotFound, u)
		}
	}
	if ext != "" {
		if err := s.scope(tok, ext); err != nil {
			return nil, err
		}
		return func(e Event) bool { return e.Type == eventOverflow || e.Station == ext }, nil
	}
	return func(e Event) bool { return e.Type == eventOverflow || tok.allows(e.Station) }, nil
}
