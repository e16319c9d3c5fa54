package qr

import (
	"errors"
	"fmt"
)

// Error codes, each mapped to one HTTP status by the API layer.
const (
	EInvalid     = "invalid"     // the caller's request breaks a rule
	ENotFound    = "not_found"   // no such scene or session
	EConflict    = "conflict"    // the request contradicts what is stored
	EQuota       = "quota"       // a platform limit is reached
	EUnavailable = "unavailable" // a dependency failed; retrying may work
	EInternal    = "internal"    // a bug or misconfiguration; the caller sees no detail

	EAccountNotFound = "account_not_found" // no such official account in this stack
	EAccountRevoked  = "account_revoked"   // the account withdrew its authorization
	EForbidden       = "forbidden"         // the signed-in user may not see or change this
	// EPermissionMissing: an authorizer has not granted the stack's platform
	// the permission set a call needs; it re-authorizes to grant it.
	EPermissionMissing = "permission_missing"
)

// Error is the domain's error: a code callers branch on and a message a user can act on.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the message of the first *Error in err's chain, or a generic
// text for other errors, whose detail is for logs only.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
