package csta

import (
	"encoding/xml"
	"strings"
)

// ErrorCategory is the child element of CSTAErrorCode (ECMA-323 UniversalFailure).
type ErrorCategory int

// ErrorCategory values; the zero value is ErrorCategoryUnknown.
const (
	ErrorCategoryUnknown ErrorCategory = iota
	CategoryOperation
	CategorySecurity
	CategoryStateIncompatibility
	CategorySystemResourceAvailability
	CategorySubscribedResourceAvailability
	CategoryPerformanceManagement
	CategoryPrivateData
	CategoryPrivateErrorCode
	CategoryUnspecified
)

// The schema itself misspells "systemResourceAvailibility" (ed3 and ed6,
// docs/protocol.md "Negative responses"): we write that spelling and accept both.
var errorCategoryTable = newEnumTable[ErrorCategory]("CSTAErrorCode", []string{"",
	"operation", "security", "stateIncompatibility", "systemResourceAvailibility",
	"subscribedResourceAvailability", "performanceManagement", "privateData",
	"privateErrorCode", "unspecified",
}, map[string]ErrorCategory{"systemResourceAvailability": CategorySystemResourceAvailability})

// String returns the element name of the category.
func (c ErrorCategory) String() string { return errorCategoryTable.String(c) }

// ParseErrorCategory returns the category for an element name.
func ParseErrorCategory(s string) (ErrorCategory, error) { return errorCategoryTable.parse(s) }

// Error tokens we emit (ECMA-323 ed3; docs/protocol.md "Negative responses"). Peers may
// send others; Decode keeps any token as text.
const (
	OpGeneric                           = "generic"
	OpInvalidCallID                     = "invalidCallID"
	OpInvalidConnectionID               = "invalidConnectionID"
	OpInvalidDeviceID                   = "invalidDeviceID"
	OpInvalidCrossRefID                 = "invalidCrossRefID"
	OpInvalidMonitorCrossRefID          = "invalidMonitorCrossRefID"
	OpPrivilegeViolationSpecifiedDevice = "privilegeViolationSpecifiedDevice"
	OpServiceNotSupported               = "serviceNotSupported"
	OpRequestIncompatibleWithObject     = "requestIncompatibleWithObject"
	OpInvalidFeature                    = "invalidFeature"
	OpInvalidForwardingType             = "invalidForwardingType"
	OpInvalidForwardingDestination      = "invalidForwardingDestination"
	OpInvalidDestination                = "invalidDestination"
	OpInvalidCalledDeviceID             = "invalidCalledDeviceID"
	OpMissingParameter                  = "atLeastOneConditionalParameterNotProvided"
	OpInvalidParameterValue             = "invalidParameterValue"
	OpValueOutOfRange                   = "valueOutOfRange"

	StateGeneric                = "generic"
	StateInvalidConnectionState = "invalidConnectionState"
	StateInvalidDeviceState     = "invalidDeviceState"
	StateNoActiveCall           = "noActiveCall"
	StateNoCallToAnswer         = "noCallToAnswer"
	StateNoHeldCall             = "noHeldCall"
	StateNoCallToClear          = "noCallToClear"

	ResourceGeneric             = "generic"
	ResourceBusy                = "resourceBusy"
	ResourceOutOfService        = "resourceOutOfService"
	ResourceNetworkBusy         = "networkBusy"
	ResourceNetworkOutOfService = "networkOutOfService"

	SubscribedObjectMonitorLimitExceeded = "objectMonitorLimitExceeded"
)

// CSTAErrorCode is the negative response: exactly one category child whose text
// is the error token (ECMA-323 UniversalFailure). It is also a Go error, so a service
// handler can return it and the dispatcher can send it unchanged.
type CSTAErrorCode struct {
	Category ErrorCategory
	Value    string
}

// OperationError returns an operation-category CSTA error.
func OperationError(token string) *CSTAErrorCode {
	return &CSTAErrorCode{Category: CategoryOperation, Value: token}
}

// StateError returns a stateIncompatibility-category CSTA error.
func StateError(token string) *CSTAErrorCode {
	return &CSTAErrorCode{Category: CategoryStateIncompatibility, Value: token}
}

// ResourceError returns a systemResourceAvailibility-category CSTA error.
func ResourceError(token string) *CSTAErrorCode {
	return &CSTAErrorCode{Category: CategorySystemResourceAvailability, Value: token}
}

func (e *CSTAErrorCode) Error() string {
	if e.Value == "" {
		return "csta error " + e.Category.String()
	}
	return "csta error " + e.Category.String() + "/" + e.Value
}

// MarshalXML writes the one category child; unspecified is always empty.
func (e *CSTAErrorCode) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	name, err := errorCategoryTable.marshal(e.Category)
	if err != nil {
		return err
	}
	child := xml.StartElement{Name: xml.Name{Local: string(name)}}
	value := e.Value
	if e.Category == CategoryUnspecified {
		value = ""
	}
	if err := enc.EncodeElement(value, child); err != nil {
		return err
	}
	return enc.EncodeToken(start.End())
}

// UnmarshalXML reads the first category child it recognises.
func (e *CSTAErrorCode) UnmarshalXML(dec *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var text string
			if err := dec.DecodeElement(&text, &t); err != nil {
				return err
			}
			if e.Category != ErrorCategoryUnknown {
				continue
			}
			if c, err := ParseErrorCategory(t.Name.Local); err == nil {
				e.Category, e.Value = c, strings.TrimSpace(text)
			}
		case xml.EndElement:
			return nil
		}
	}
}
