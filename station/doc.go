// Package station is the telephony side: contact-center users, stations, licences, logins, the dial plan and the switching function; it knows nothing of CSTA.
package station
