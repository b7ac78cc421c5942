package switching

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Digest authentication of stations (RFC 3261 §22, RFC 2617 MD5 with
// qop=auth). Nonces are stateless: a timestamp and an HMAC of it under a
// per-process key, valid for nonceLifetime; an older one is answered with
// stale=true so the phone retries without asking its user.

const nonceLifetime = 5 * time.Minute

func (sw *Switch) newNonce() string {
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(sw.cfg.Clock.Now().Unix()))
	mac := hmac.New(sha256.New, sw.nonceKey[:])
	mac.Write(ts[:])
	return hex.EncodeToString(ts[:]) + hex.EncodeToString(mac.Sum(nil)[:16])
}

// checkNonce reports whether nonce is ours and whether it is still fresh.
func (sw *Switch) checkNonce(nonce string) (ours, fresh bool) {
	raw, err := hex.DecodeString(nonce)
	if err != nil || len(raw) != 24 {
		return false, false
	}
	mac := hmac.New(sha256.New, sw.nonceKey[:])
	mac.Write(raw[:8])
	if !hmac.Equal(mac.Sum(nil)[:16], raw[8:]) {
		return false, false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(raw[:8])), 0)
	return true, sw.cfg.Clock.Now().Sub(issued) < nonceLifetime
}

// authenticate checks the request's credentials for station st, nil for
// a user no station has: that user is challenged and refused exactly like
// a station given a wrong password (401 / 407), so that the answers do not
// tell which extensions exist. Stations without a password are not
// challenged. On failure it answers the request with 401 (REGISTER) or 407
// (other requests) and a fresh challenge, or with 403 when the source is
// over Config.AuthMaxFailures, and returns false.
func (sw *Switch) authenticate(req *sip.Request, tx sip.ServerTransaction, st *Station) (bool, error) {
	if st != nil && st.Password == "" {
		return true, nil
	}
	register := req.Method == sip.REGISTER
	hdrName, chalName, code, reason := "Proxy-Authorization", "Proxy-Authenticate", sip.StatusProxyAuthRequired, "Proxy Authentication Required"
	if register {
		hdrName, chalName, code, reason = "Authorization", "WWW-Authenticate", sip.StatusUnauthorized, "Unauthorized"
	}
	ip := sourceIP(req.Source())
	if refused, first := sw.authLimit.refused(ip); refused {
		sw.refusals.inc(CodePhoneAuthRateLimited)
		if first {
			sw.guard.log.Warn().Str("code", string(CodePhoneAuthRateLimited)).Str("peer", req.Source()).
				Str("method", string(req.Method)).Int("max_failures", sw.cfg.AuthMaxFailures).
				Dur("window", sw.cfg.AuthFailureWindow).
				Msg("phone authentication refused: too many failed attempts from this address; further refusals in this window are only counted")
		}
		return false, respond(tx, req, sip.StatusForbidden, "Forbidden")
	}
	stale := false
	if h := req.GetHeader(hdrName); h != nil {
		switch why := sw.checkCredentials(req.Method, h.Value(), st); why {
		case "":
			return true, nil
		case "stale":
			stale = true
		default:
			sw.authFailed(req, ip, why, h.Value())
		}
	}
	chal := digest.Challenge{Realm: sw.cfg.Domain, Nonce: sw.newNonce(), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	res.AppendHeader(sip.NewHeader(chalName, chal.String()))
	if err := tx.Respond(res); err != nil {
		return false, err
	}
	return false, nil
}

// checkCredentials checks one Authorization / Proxy-Authorization value:
// "" when it is right, "stale" when only the nonce is old or from another
// process (the password is right: RFC 2617 §3.2.1 stale=true, not a
// failure), else why it failed (a log reason token). The digest is
// computed for unknown users too, so that the work does not depend on
// whether the user exists.
func (sw *Switch) checkCredentials(method sip.RequestMethod, value string, st *Station) string {
	cred, err := digest.ParseCredentials(value)
	if err != nil {
		return "bad_credentials"
	}
	why, password := "", unknownUserPassword
	switch {
	case st == nil:
		why = "unknown_user"
	case cred.Username != st.Username:
		why = "user_mismatch"
	case cred.Realm != sw.cfg.Domain:
		why = "realm_mismatch"
	default:
		password = st.Password
	}
	chal := &digest.Challenge{Realm: cred.Realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm, Opaque: cred.Opaque}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(chal, digest.Options{
		Method: string(method), URI: cred.URI, Username: cred.Username, Password: password,
		Cnonce: cred.Cnonce, Count: cred.Nc,
	})
	match := err == nil && hmac.Equal([]byte(want.Response), []byte(cred.Response))
	switch {
	case why != "":
		return why
	case !match:
		return "wrong_password"
	}
	if ours, fresh := sw.checkNonce(cred.Nonce); !ours || !fresh {
		return "stale"
	}
	return ""
}

// unknownUserPassword is what the digest of an unknown user is computed with.
const unknownUserPassword = "\x00no such user"

// authFailed logs (sampled) and counts a failed digest attempt. The
// credentials are never logged, only the user name they claim (clipped).
func (sw *Switch) authFailed(req *sip.Request, ip netip.Addr, why, value string) {
	sw.refusals.inc(CodePhoneAuthFailed)
	n := sw.authLimit.fail(ip)
	user := ""
	if cred, err := digest.ParseCredentials(value); err == nil {
		user = cred.Username
	}
	sw.guard.log.Warn().Str("code", string(CodePhoneAuthFailed)).Str("reason", why).Str("peer", req.Source()).
		Str("method", string(req.Method)).Str("auth_user", clip(user)).Int("failures", n).
		Msg("phone authentication failed")
}

// sourceIP is the IP of a request's source "ip:port" (zero if unparseable).
func sourceIP(source string) netip.Addr {
	ap, err := netip.ParseAddrPort(source)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
