package rccserver

// LogCode is the code written to the log (field "code") and, for refusals,
// into the answer the client receives. The contact-center codes match the
// guide we model (docs/architecture.md "What rccserver models"); docs/troubleshooting.md explains each.
type LogCode string

// Log codes of the RCC side. Admission may refuse with others (station's
// login codes such as Cs_StationInUseByAnotherUser); they travel as LogCode too.
const (
	CodeAccessDenied      LogCode = "Cs_AccessDenied"
	CodeTLSFailure        LogCode = "Cs_TLSFailure" // a TLS connection failed for a reason other than policy (tls.go)
	CodeUnknownLineServer LogCode = "Cs_UnknownLineServer"
	CodeBadRequest        LogCode = "Cs_BadRequest"
	CodeUnsupportedMedia  LogCode = "Cs_UnsupportedMediaType"
	CodeUnknownDialog     LogCode = "Cs_UnknownDialog"
	// CodeDialogElsewhere: an in-dialog request from a connection other than
	// the dialog's own (and not both in listen.front_ends), answered 481.
	CodeDialogElsewhere    LogCode = "Cs_DialogNotOnThisConnection"
	CodeSessionIntervalLow LogCode = "Cs_SessionIntervalTooSmall"
	CodeNoFeatureLicense   LogCode = "Cs_NoFeatureLicense"
	CodeUserNotFound       LogCode = "Cs_UserNotFound"
	CodeAccountDisabled    LogCode = "Cs_AccountDisabled" // the Windows account is disabled in AD (userAccountControl ACCOUNTDISABLE)
	CodePrivilegeViolation LogCode = "Cs_PrivilegeViolation"
	CodeKeepAliveFailed    LogCode = "Cs_KeepAliveFailed"
	// CodeKeepAliveUnanswered: a keep-alive got no answer (or a 408); the
	// session is kept unless session.strict_keepalive is set.
	CodeKeepAliveUnanswered LogCode = "Cs_KeepAliveUnanswered"
	CodeSessionExpired      LogCode = "Cs_SessionExpired"
	CodeEventNotDelivered   LogCode = "Cs_EventNotDelivered"
	CodeInternal            LogCode = "Cs_InternalError"
	CodeRequestRefused      LogCode = "Cs_RequestRefused" // the switch refused a CSTA request (state, number, …)
	// CodeSessionAdopted: a dead node's session was rebuilt on this node (adopt.go).
	CodeSessionAdopted LogCode = "Cs_SessionAdopted"
	// CodeAdoptionFailed: a dead node's session record could not be adopted.
	CodeAdoptionFailed LogCode = "Cs_AdoptionFailed"
	// CodeSessionNotRecorded: the session record could not be written to the
	// cluster store; another node could not adopt the session.
	CodeSessionNotRecorded LogCode = "Cs_SessionNotRecorded"
)
