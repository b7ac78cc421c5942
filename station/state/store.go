package state

import "time"

// Registration is a phone's registered contact (RFC 3261 §10.3).
type Registration struct {
	Extension string    `json:"extension"`
	Contact   string    `json:"contact"`   // the Contact URI
	Source    string    `json:"source"`    // ip:port the REGISTER came from
	Transport string    `json:"transport"` // "UDP" or "TCP"
	Expires   time.Time `json:"expires"`
	// Path is the REGISTER's Path header values in order (RFC 3327 §5.3):
	// the route set of requests to Contact.
	Path []string `json:"path,omitempty"`
}

// Forward is one forwarding setting; Type is the name switching.ForwardType
// prints (kept as text so that the file does not depend on enum numbering).
type Forward struct {
	Type        string `json:"type"`
	On          bool   `json:"on"`
	Destination string `json:"destination,omitempty"`
}

// Features are a station's forwarding settings and do-not-disturb.
type Features struct {
	Extension  string    `json:"extension"`
	Forwarding []Forward `json:"forwarding,omitempty"`
	DND        bool      `json:"dnd"`
}

// Leg is one confirmed dialog of the switch with a device: enough to send
// it a BYE after a restart (RFC 3261 §12.2.1.1, §15.1.1).
type Leg struct {
	CallID       string   `json:"call_id"`
	Device       string   `json:"device"`
	LocalTag     string   `json:"local_tag"`
	RemoteTag    string   `json:"remote_tag"`
	LocalURI     string   `json:"local_uri"`
	RemoteURI    string   `json:"remote_uri"`
	RemoteTarget string   `json:"remote_target"`
	Routes       []string `json:"routes,omitempty"`
	CSeq         uint32   `json:"cseq"` // our local CSeq when recorded
	Transport    string   `json:"transport"`
	Dest         string   `json:"dest"` // host:port requests go to
	// Station is the switch's station the leg belongs to ("" for a trunk
	// leg) and CallRef the switch's call ID the clients see for it: a node
	// clearing another node's leg reports ConnectionCleared for them.
	Station string `json:"station,omitempty"`
	CallRef string `json:"call_ref,omitempty"`
}

// Store keeps the records. Writes are durable when they return. All
// methods are safe for concurrent use.
type Store interface {
	PutRegistration(Registration) error
	DeleteRegistration(ext string) error
	Registrations() ([]Registration, error)

	PutFeatures(Features) error
	Features() ([]Features, error)

	PutLeg(Leg) error
	DeleteLeg(callID string) error
	Legs() ([]Leg, error)

	Close() error
}
