// Package rccserver is the RCC side facing Lync: SIP listeners, one session per INVITE dialog, session timers and keep-alive, CSTA dispatch, event delivery and admission.
package rccserver
