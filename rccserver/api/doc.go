// Package api is the HTTP API for systems other than Lync (CRM, helpdesk,
// the operator page): one job, to expose the switch's call and station
// events as a resumable Server-Sent Events stream and its operations
// (place and clear calls, DND, forwarding) as versioned REST under /v1,
// scoped by bearer tokens (docs/api.md).
//
// It drives the same switch operations as the CSTA service
// (callcontrol.Switch); the dial plan is applied by the switch's router,
// and a token's station list plays the part of the CSTA session's line.
package api
