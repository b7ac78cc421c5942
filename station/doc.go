// Package station is the telephony side: contact-center users, stations, licences, logins, the dial plan and the switching function; it knows nothing of CSTA.
//
// The configuration model (Config: users, stations, licensing, trunk, dial
// plan) is loaded from the main YAML file with LoadConfig and validated with
// errors that name the key. Service admits a Lync user to a station or a
// remote number under the administrator's guide's rule and refuses with a
// *LoginError carrying the log code (Cs_NoCicUser, Cs_NoClientLicense,
// Cs_StationInUseByAnotherUser, …). DialPlan resolves numbers with the guide's
// pattern syntax. See docs/station.md and docs/dialplan.md.
package station
