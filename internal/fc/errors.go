package fc

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrorType is the value of the X-Fc-Error-Type response header.
type ErrorType string

// The two error types FC reports on HTTP-trigger responses.
const (
	// FcCommonError marks request errors (4xx) and system errors (5xx).
	FcCommonError ErrorType = "FcCommonError"
	// UnhandledInvocationError marks function errors: a crash, a timeout,
	// a bad response.
	UnhandledInvocationError ErrorType = "UnhandledInvocationError"
)

// Code is an FC error code such as "FunctionNotFound".
type Code string

// The FC error codes openfc returns. Each one has a row in codeTable.
const (
	CodeInvalidArgument       Code = "InvalidArgument"
	CodeMissingRequiredHeader Code = "MissingRequiredHeader"
	CodePathNotSupported      Code = "PathNotSupported"
	CodeEntityTooLarge        Code = "EntityTooLarge"
	CodeServiceNotEmpty       Code = "ServiceNotEmpty"
	CodeFunctionNotEmpty      Code = "FunctionNotEmpty"
	CodeAccessDenied          Code = "AccessDenied"
	CodeSignatureNotMatch     Code = "SignatureNotMatch"
	CodeInvalidAccessKeyID    Code = "InvalidAccessKeyID"
	// CodeUnauthorized: a trigger with authType jwt got no token, or one
	// that does not verify (FC documents no code of its own for this).
	CodeUnauthorized          Code = "Unauthorized"
	CodeServiceNotFound       Code = "ServiceNotFound"
	CodeFunctionNotFound      Code = "FunctionNotFound"
	CodeTriggerNotFound       Code = "TriggerNotFound"
	CodeAliasNotFound         Code = "AliasNotFound"
	CodeVersionNotFound       Code = "VersionNotFound"
	CodeMethodNotAllowed      Code = "MethodNotAllowed"
	CodeServiceAlreadyExists  Code = "ServiceAlreadyExists"
	CodeFunctionAlreadyExists Code = "FunctionAlreadyExists"
	CodeTriggerAlreadyExists  Code = "TriggerAlreadyExists"
	CodeConcurrentUpdateError Code = "ConcurrentUpdateError"
	CodePreconditionFailed    Code = "PreconditionFailed"
	CodeFunctionNotStarted    Code = "FunctionNotStarted"
	CodeInitializationError   Code = "InitializationError"
	CodeClientClosedRequest   Code = "ClientClosedRequest"
	CodeResourceThrottled     Code = "ResourceThrottled"
	CodeInternalServerError   Code = "InternalServerError"
	CodeServiceUnavailable    Code = "ServiceUnavailable"
	CodeBadResponse           Code = "BadResponse"
	CodeFunctionCrashed       Code = "ProcessExited"
	CodeFunctionTimeout       Code = "FunctionTimeout"
	CodeFunctionConnection    Code = "FunctionConnectionError"

	// CodeOnDemandConfigNotFound: a function version has no on-demand config.
	CodeOnDemandConfigNotFound Code = "OnDemandConfigNotFound"

	// CodeImageNotFound: the images API (an openfc extension) names an
	// image that is not stored.
	CodeImageNotFound Code = "ImageNotFound"
	// CodeImageInUse: removing an image that functions use.
	CodeImageInUse Code = "ImageInUse"

	// CodeAccessKeyNotFound: the access-keys API (an openfc extension)
	// names a key that does not exist.
	CodeAccessKeyNotFound Code = "AccessKeyNotFound"

	// CodeStatefulAsyncInvocationAlreadyExists: a task id is reused.
	CodeStatefulAsyncInvocationAlreadyExists Code = "StatefulAsyncInvocationAlreadyExists"
	// CodeStatefulAsyncInvocationNotFound: no task has that id.
	CodeStatefulAsyncInvocationNotFound Code = "StatefulAsyncInvocationNotFound"
	// CodeAsyncConfigNotExists: a function version has no async config.
	CodeAsyncConfigNotExists Code = "AsyncConfigNotExists"
)

// codeInfo is one row of the error table.
type codeInfo struct {
	Status int
	Type   ErrorType
}

// codeTable maps every error code openfc emits to its HTTP status and
// X-Fc-Error-Type. It is the one place where errors meet HTTP statuses.
var codeTable = map[Code]codeInfo{
	CodeInvalidArgument:       {http.StatusBadRequest, FcCommonError},
	CodeMissingRequiredHeader: {http.StatusBadRequest, FcCommonError},
	CodePathNotSupported:      {http.StatusBadRequest, FcCommonError},
	CodeEntityTooLarge:        {http.StatusBadRequest, FcCommonError},
	CodeServiceNotEmpty:       {http.StatusBadRequest, FcCommonError},
	CodeFunctionNotEmpty:      {http.StatusBadRequest, FcCommonError},
	CodeAccessDenied:          {http.StatusForbidden, FcCommonError},
	CodeSignatureNotMatch:     {http.StatusForbidden, FcCommonError},
	CodeInvalidAccessKeyID:    {http.StatusForbidden, FcCommonError},
	CodeUnauthorized:          {http.StatusUnauthorized, FcCommonError},
	CodeMethodNotAllowed:      {http.StatusForbidden, FcCommonError},
	CodeServiceNotFound:       {http.StatusNotFound, FcCommonError},
	CodeFunctionNotFound:      {http.StatusNotFound, FcCommonError},
	CodeTriggerNotFound:       {http.StatusNotFound, FcCommonError},
	CodeAliasNotFound:         {http.StatusNotFound, FcCommonError},
	CodeVersionNotFound:       {http.StatusNotFound, FcCommonError},
	CodeServiceAlreadyExists:  {http.StatusConflict, FcCommonError},
	CodeFunctionAlreadyExists: {http.StatusConflict, FcCommonError},
	CodeTriggerAlreadyExists:  {http.StatusConflict, FcCommonError},
	CodeConcurrentUpdateError: {http.StatusConflict, FcCommonError},
	CodePreconditionFailed:    {http.StatusPreconditionFailed, FcCommonError},
	CodeFunctionNotStarted:    {http.StatusBadGateway, UnhandledInvocationError},
	CodeInitializationError:   {http.StatusBadGateway, UnhandledInvocationError},
	CodeClientClosedRequest:   {499, FcCommonError},
	CodeResourceThrottled:     {http.StatusTooManyRequests, FcCommonError},
	CodeInternalServerError:   {http.StatusInternalServerError, FcCommonError},
	CodeServiceUnavailable:    {http.StatusServiceUnavailable, FcCommonError},
	CodeBadResponse:           {http.StatusBadGateway, UnhandledInvocationError},
	CodeFunctionCrashed:       {http.StatusBadGateway, UnhandledInvocationError},
	CodeFunctionTimeout:       {http.StatusBadGateway, UnhandledInvocationError},
	CodeFunctionConnection:    {http.StatusBadGateway, UnhandledInvocationError},

	CodeOnDemandConfigNotFound: {http.StatusNotFound, FcCommonError},

	CodeImageNotFound: {http.StatusNotFound, FcCommonError},
	CodeImageInUse:    {http.StatusConflict, FcCommonError},

	CodeAccessKeyNotFound: {http.StatusNotFound, FcCommonError},

	CodeStatefulAsyncInvocationAlreadyExists: {http.StatusConflict, FcCommonError},
	CodeStatefulAsyncInvocationNotFound:      {http.StatusNotFound, FcCommonError},
	CodeAsyncConfigNotExists:                 {http.StatusNotFound, FcCommonError},
}

// Codes returns every error code in the table, for tests that walk it.
func Codes() []Code {
	out := make([]Code, 0, len(codeTable))
	for c := range codeTable {
		out = append(out, c)
	}
	return out
}

// Status returns the HTTP status of code; unknown codes are 500.
func (c Code) Status() int {
	if info, ok := codeTable[c]; ok {
		return info.Status
	}
	return http.StatusInternalServerError
}

// Type returns the X-Fc-Error-Type of code; unknown codes are FcCommonError.
func (c Code) Type() ErrorType {
	if info, ok := codeTable[c]; ok {
		return info.Type
	}
	return FcCommonError
}

// Error is an FC error: a code from the table and a message for the client.
// Err, when set, is the underlying cause; it is logged, never sent.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// Errorf returns an *Error with a formatted message. A %w verb in format
// also records the wrapped error as the cause.
func Errorf(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Status returns the HTTP status of the error's code.
func (e *Error) Status() int { return e.Code.Status() }

// Sentinel errors shared by the store and its callers. They are turned into
// *Error values with the right resource name by the API layer.
var (
	// ErrNotFound: the named resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a resource with that name exists already.
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: the resource changed since it was read (etag or revision).
	ErrConflict = errors.New("resource changed concurrently")
	// ErrNotEmpty: the resource still has children (functions, triggers).
	ErrNotEmpty = errors.New("not empty")
)

// AsError converts any error into an *Error: *Error values pass through,
// everything else becomes InternalServerError with a generic message.
func AsError(err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	return &Error{Code: CodeInternalServerError, Message: "an internal error has occurred. Please retry.", Err: err}
}

// ErrorBody is the JSON body of every platform error.
type ErrorBody struct {
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
	RequestID    string `json:"RequestId,omitempty"`
}
