package switching

import (
	"bytes"
	"strconv"
	"strings"
)

// SDP handling of a signalling-only B2BUA: bodies pass through, with two
// edits. (1) Each leg is one offer/answer session (RFC 3264 §8) from the
// phone's point of view, so the o= line we send on a leg keeps that leg's
// own session id and a version that grows whenever the content changes.
// (2) Hold/retrieve rewrite the direction attribute (RFC 3264 §8.4).

// sdpLines splits an SDP body into lines without their CRLF.
func sdpLines(b []byte) []string {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func sdpJoin(lines []string) []byte {
	var buf bytes.Buffer
	for _, l := range lines {
		buf.WriteString(l)
		buf.WriteString("\r\n")
	}
	return buf.Bytes()
}

// sdpOrigin is one leg's SDP origin (RFC 4566 §5.2).
type sdpOrigin struct {
	sess    uint64
	ver     uint64
	lastRaw []byte // last body sent, without the o= line, to detect changes
}

// stamp rewrites the o= line of body to this origin, bumping the version
// when the content differs from the last body sent on the leg.
func (o *sdpOrigin) stamp(body []byte) []byte {
	if len(body) == 0 {
		return body
	}
	lines := sdpLines(body)
	var rest []string
	oi := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "o=") {
			oi = i
			continue
		}
		rest = append(rest, l)
	}
	raw := sdpJoin(rest)
	if o.lastRaw == nil || !bytes.Equal(raw, o.lastRaw) {
		if o.lastRaw != nil {
			o.ver++
		}
		o.lastRaw = raw
	}
	addr := "IN IP4 0.0.0.0"
	if oi >= 0 {
		if f := strings.Fields(lines[oi]); len(f) >= 6 {
			addr = strings.Join(f[3:6], " ")
		}
	}
	origin := "o=rccserver " + strconv.FormatUint(o.sess, 10) + " " + strconv.FormatUint(o.ver, 10) + " " + addr
	if oi >= 0 {
		lines[oi] = origin
	} else {
		// insert after v=
		lines = append([]string{lines[0], origin}, lines[1:]...)
	}
	return sdpJoin(lines)
}

var directions = []string{"a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"}

func isDirection(l string) bool {
	for _, d := range directions {
		if l == d {
			return true
		}
	}
	return false
}

// sdpWithDirection returns body with every direction attribute removed and
// dir ("sendrecv", "sendonly", "recvonly", "inactive") set on each media section.
func sdpWithDirection(body []byte, dir string) []byte {
	if len(body) == 0 {
		return body
	}
	var out []string
	inMedia := false
	for _, l := range sdpLines(body) {
		if isDirection(l) {
			continue
		}
		if strings.HasPrefix(l, "m=") {
			if inMedia {
				out = append(out, "a="+dir)
			}
			inMedia = true
		}
		out = append(out, l)
	}
	if inMedia {
		out = append(out, "a="+dir)
	}
	return sdpJoin(out)
}

// sdpDirection returns the direction of the first media section (or the
// session-level one), default "sendrecv".
func sdpDirection(body []byte) string {
	session := "sendrecv"
	inMedia := false
	for _, l := range sdpLines(body) {
		if strings.HasPrefix(l, "m=") {
			if inMedia {
				break
			}
			inMedia = true
			continue
		}
		if isDirection(l) {
			if inMedia {
				return strings.TrimPrefix(l, "a=")
			}
			session = strings.TrimPrefix(l, "a=")
		}
	}
	return session
}

// sdpHeld reports whether a description puts the other side on hold
// (RFC 3264 §8.4: sendonly or inactive, or the RFC 2543 c=0.0.0.0).
func sdpHeld(body []byte) bool {
	switch sdpDirection(body) {
	case "sendonly", "inactive":
		return true
	}
	for _, l := range sdpLines(body) {
		if l == "c=IN IP4 0.0.0.0" {
			return true
		}
	}
	return false
}

// sdpBlackHole builds the answer the switch gives the calling station in
// MakeCall while the destination rings (RFC 3725 §4.1 "black hole"
// connection address): the station's own media lines, connection address
// 0.0.0.0, inactive. The station sends no media until the re-INVITE that
// connects it to the answering party.
func sdpBlackHole(offer []byte) []byte {
	var out []string
	for _, l := range sdpLines(offer) {
		if strings.HasPrefix(l, "c=IN IP4 ") {
			l = "c=IN IP4 0.0.0.0"
		}
		out = append(out, l)
	}
	return sdpWithDirection(sdpJoin(out), "inactive")
}

// sdpHoldOffer turns the other party's description into a hold offer
// towards a leg: "sendonly" to the held party (it may still play to us, as
// music on hold would), "inactive" to the holding one.
func sdpHoldOffer(body []byte, dir string) []byte { return sdpWithDirection(body, dir) }
