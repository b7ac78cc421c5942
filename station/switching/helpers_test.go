package switching

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/rccserver/rccserver/station/switching/phonetest"
	"github.com/rs/zerolog"
)

const waitTimeout = 10 * time.Second

// startSwitch starts a switch on free loopback ports with cfg's stations.
func startSwitch(t testing.TB, cfg Config) *Switch {
	t.Helper()
	if len(cfg.Listen) == 0 {
		cfg.Listen = []Listener{{Network: "udp", Addr: "127.0.0.1:0"}, {Network: "tcp", Addr: "127.0.0.1:0"}}
	}
	if cfg.Domain == "" {
		cfg.Domain = "switch.test"
	}
	if cfg.SetupTimeout == 0 {
		cfg.SetupTimeout = 3 * time.Second
	}
	level := zerolog.InfoLevel
	if os.Getenv("SWITCHING_DEBUG") != "" {
		level = zerolog.DebugLevel
	}
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(level)
	sw, err := New(cfg, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- sw.Serve(context.Background()) }()
	t.Cleanup(func() {
		_ = sw.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return sw
}

func udpAddr(sw *Switch) string { return sw.Addr("udp").(*net.UDPAddr).String() }

// phone starts a baresip station registered with the switch.
func phone(t *testing.T, sw *Switch, user, password, answer string) *phonetest.Phone {
	t.Helper()
	p := phonetest.StartBaresip(t, phonetest.Options{User: user, Password: password, Registrar: udpAddr(sw), AnswerMode: answer})
	waitFor(t, "registration of "+user, func() bool { return sw.Registered(user) })
	return p
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func subscribe(t testing.TB, sw *Switch, ext string) *Subscription {
	t.Helper()
	s, err := sw.Subscribe(ext)
	if err != nil {
		t.Fatalf("Subscribe(%s): %v", ext, err)
	}
	t.Cleanup(s.Close)
	return s
}

// next waits for the next event of type typ on s (skipping others) that
// satisfies all preds.
func next(t testing.TB, s *Subscription, typ EventType, preds ...func(Event) bool) Event {
	t.Helper()
	ev, err := nextErr(s, typ, waitTimeout, preds...)
	if err != nil {
		t.Fatalf("%s: %v", s.Device(), err)
	}
	return ev
}

var errNoEvent = errors.New("no such event")

func nextErr(s *Subscription, typ EventType, d time.Duration, preds ...func(Event) bool) (Event, error) {
	timeout := time.After(d)
	var seen []string
	for {
		select {
		case ev, ok := <-s.Events():
			if !ok {
				return Event{}, errors.New("subscription closed")
			}
			seen = append(seen, ev.Type.String()+"/"+ev.Subject+"/"+ev.Cause.String())
			if ev.Type != typ {
				continue
			}
			match := true
			for _, p := range preds {
				if !p(ev) {
					match = false
				}
			}
			if match {
				return ev, nil
			}
		case <-timeout:
			return Event{}, errors.Join(errNoEvent, errors.New(typ.String()+" (seen "+joinStrings(seen)+")"))
		}
	}
}

func joinStrings(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

func inCall(id string) func(Event) bool { return func(e Event) bool { return e.CallID == id } }

func about(dev string) func(Event) bool { return func(e Event) bool { return e.Subject == dev } }
