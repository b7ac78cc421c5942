package switching

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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

// authenticate checks the request's credentials for station st. Stations
// without a password are not challenged. On failure it answers the request
// with 401 (REGISTER) or 407 (other requests) and a fresh challenge, and
// returns false.
func (sw *Switch) authenticate(req *sip.Request, tx sip.ServerTransaction, st *Station) (bool, error) {
	if st.Password == "" {
		return true, nil
	}
	register := req.Method == sip.REGISTER
	hdrName, chalName, code, reason := "Proxy-Authorization", "Proxy-Authenticate", sip.StatusProxyAuthRequired, "Proxy Authentication Required"
	if register {
		hdrName, chalName, code, reason = "Authorization", "WWW-Authenticate", sip.StatusUnauthorized, "Unauthorized"
	}
	stale := false
	if h := req.GetHeader(hdrName); h != nil {
		cred, err := digest.ParseCredentials(h.Value())
		if err == nil && cred.Username == st.Username && cred.Realm == sw.cfg.Domain {
			ours, fresh := sw.checkNonce(cred.Nonce)
			if ours && fresh {
				chal := &digest.Challenge{Realm: sw.cfg.Domain, Nonce: cred.Nonce, Algorithm: cred.Algorithm, Opaque: cred.Opaque}
				if cred.QOP != "" {
					chal.QOP = []string{cred.QOP}
				}
				want, err := digest.Digest(chal, digest.Options{
					Method: string(req.Method), URI: cred.URI, Username: st.Username, Password: st.Password,
					Cnonce: cred.Cnonce, Count: cred.Nc,
				})
				if err == nil && hmac.Equal([]byte(want.Response), []byte(cred.Response)) {
					return true, nil
				}
			}
			stale = ours && !fresh
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
