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
	CodeUnauthorized     Code = "Unauthorized"
	CodeServiceNotFound  Code = "ServiceNotFound"
	CodeFunctionNotFound Code = "FunctionNotFound"
	CodeTriggerNotFound  Code = "TriggerNotFound"
	CodeAliasNotFound    Code = "AliasNotFound"
	CodeVersionNotFound  Code = "VersionNotFound"
	// CodeVersionInUse: deleting a version an alias points to (FC
	// refuses it; the message names the aliases).
	CodeVersionInUse          Code = "VersionInUse"
	CodeMethodNotAllowed      Code = "MethodNotAllowed"
	CodeServiceAlreadyExists  Code = "ServiceAlreadyExists"
	CodeFunctionAlreadyExists Code = "FunctionAlreadyExists"
	CodeTriggerAlreadyExists  Code = "TriggerAlreadyExists"
	CodeAliasAlreadyExists    Code = "AliasAlreadyExists"
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

	// CodeDomainNameAlreadyExists: CreateCustomDomain of a stored domain.
	CodeDomainNameAlreadyExists Code = "DomainNameAlreadyExists"
	// CodeDomainNameNotFound: no custom domain has that name, through the
	// API or as the Host of a request at the front door.
	CodeDomainNameNotFound Code = "DomainNameNotFound"
)

// codeInfo is one row of the error table.
type codeInfo struct {
	Status int
	Type   ErrorType
	// GRPC is the gRPC status code a gRPC call gets for the error (it
	// cannot read an HTTP status or a JSON body).
	GRPC GRPCCode
}

// GRPCCode is a gRPC status code (google.golang.org/grpc/codes).
type GRPCCode int

// The gRPC status codes the table uses.
const (
	GRPCCanceled           GRPCCode = 1
	GRPCUnknown            GRPCCode = 2
	GRPCInvalidArgument    GRPCCode = 3
	GRPCDeadlineExceeded   GRPCCode = 4
	GRPCNotFound           GRPCCode = 5
	GRPCAlreadyExists      GRPCCode = 6
	GRPCPermissionDenied   GRPCCode = 7
	GRPCResourceExhausted  GRPCCode = 8
	GRPCFailedPrecondition GRPCCode = 9
	GRPCAborted            GRPCCode = 10
	GRPCUnimplemented      GRPCCode = 12
	GRPCInternal           GRPCCode = 13
	GRPCUnavailable        GRPCCode = 14
	GRPCUnauthenticated    GRPCCode = 16
)

// codeTable maps every error code openfc emits to its HTTP status,
// X-Fc-Error-Type and gRPC status. It is the one place where errors meet
// HTTP (and gRPC) statuses.
var codeTable = map[Code]codeInfo{
	CodeInvalidArgument:       {http.StatusBadRequest, FcCommonError, GRPCInvalidArgument},
	CodeMissingRequiredHeader: {http.StatusBadRequest, FcCommonError, GRPCInvalidArgument},
	CodePathNotSupported:      {http.StatusBadRequest, FcCommonError, GRPCUnimplemented},
	CodeEntityTooLarge:        {http.StatusBadRequest, FcCommonError, GRPCResourceExhausted},
	CodeServiceNotEmpty:       {http.StatusBadRequest, FcCommonError, GRPCFailedPrecondition},
	CodeFunctionNotEmpty:      {http.StatusBadRequest, FcCommonError, GRPCFailedPrecondition},
	CodeAccessDenied:          {http.StatusForbidden, FcCommonError, GRPCPermissionDenied},
	CodeSignatureNotMatch:     {http.StatusForbidden, FcCommonError, GRPCUnauthenticated},
	CodeInvalidAccessKeyID:    {http.StatusForbidden, FcCommonError, GRPCUnauthenticated},
	CodeUnauthorized:          {http.StatusUnauthorized, FcCommonError, GRPCUnauthenticated},
	// The trigger does not take the method: gRPC's "not enabled here".
	CodeMethodNotAllowed:      {http.StatusForbidden, FcCommonError, GRPCUnimplemented},
	CodeServiceNotFound:       {http.StatusNotFound, FcCommonError, GRPCNotFound},
	CodeFunctionNotFound:      {http.StatusNotFound, FcCommonError, GRPCNotFound},
	CodeTriggerNotFound:       {http.StatusNotFound, FcCommonError, GRPCNotFound},
	CodeAliasNotFound:         {http.StatusNotFound, FcCommonError, GRPCNotFound},
	CodeVersionNotFound:       {http.StatusNotFound, FcCommonError, GRPCNotFound},
	CodeVersionInUse:          {http.StatusBadRequest, FcCommonError, GRPCFailedPrecondition},
	CodeServiceAlreadyExists:  {http.StatusConflict, FcCommonError, GRPCAlreadyExists},
	CodeFunctionAlreadyExists: {http.StatusConflict, FcCommonError, GRPCAlreadyExists},
	CodeTriggerAlreadyExists:  {http.StatusConflict, FcCommonError, GRPCAlreadyExists},
	CodeAliasAlreadyExists:    {http.StatusConflict, FcCommonError, GRPCAlreadyExists},
	CodeConcurrentUpdateError: {http.StatusConflict, FcCommonError, GRPCAborted},
	CodePreconditionFailed:    {http.StatusPreconditionFailed, FcCommonError, GRPCFailedPrecondition},
	CodeFunctionNotStarted:    {http.StatusBadGateway, UnhandledInvocationError, GRPCUnavailable},
	CodeInitializationError:   {http.StatusBadGateway, UnhandledInvocationError, GRPCUnavailable},
	CodeClientClosedRequest:   {499, FcCommonError, GRPCCanceled},
	CodeResourceThrottled:     {http.StatusTooManyRequests, FcCommonError, GRPCResourceExhausted},
	CodeInternalServerError:   {http.StatusInternalServerError, FcCommonError, GRPCInternal},
	CodeServiceUnavailable:    {http.StatusServiceUnavailable, FcCommonError, GRPCUnavailable},
	CodeBadResponse:           {http.StatusBadGateway, UnhandledInvocationError, GRPCInternal},
	CodeFunctionCrashed:       {http.StatusBadGateway, UnhandledInvocationError, GRPCInternal},
	CodeFunctionTimeout:       {http.StatusBadGateway, UnhandledInvocationError, GRPCDeadlineExceeded},
	CodeFunctionConnection:    {http.StatusBadGateway, UnhandledInvocationError, GRPCUnavailable},

	CodeOnDemandConfigNotFound: {http.StatusNotFound, FcCommonError, GRPCNotFound},

	CodeImageNotFound: {http.StatusNotFound, FcCommonError, GRPCNotFound},
	CodeImageInUse:    {http.StatusConflict, FcCommonError, GRPCFailedPrecondition},

	CodeAccessKeyNotFound: {http.StatusNotFound, FcCommonError, GRPCNotFound},

	CodeStatefulAsyncInvocationAlreadyExists: {http.StatusConflict, FcCommonError, GRPCAlreadyExists},
	CodeStatefulAsyncInvocationNotFound:      {http.StatusNotFound, FcCommonError, GRPCNotFound},
	CodeAsyncConfigNotExists:                 {http.StatusNotFound, FcCommonError, GRPCNotFound},
	CodeDomainNameAlreadyExists:              {http.StatusConflict, FcCommonError, GRPCAlreadyExists},
	CodeDomainNameNotFound:                   {http.StatusNotFound, FcCommonError, GRPCNotFound},
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

// GRPC returns the gRPC status of code; unknown codes are Unknown.
func (c Code) GRPC() GRPCCode {
	if info, ok := codeTable[c]; ok {
		return info.GRPC
	}
	return GRPCUnknown
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
