package fc

import (
	"strings"
	"time"
)

// AccessKeyRecord is an access key as the store keeps it. The secret is
// sealed (internal/auth): FC signatures are HMACs, so the server needs the
// secret itself and cannot keep a one-way hash of it; sealing under a key
// derived from the admin secret means the store alone reveals nothing.
type AccessKeyRecord struct {
	AccessKeyID string    `json:"accessKeyId"`
	Description string    `json:"description,omitempty"`
	Scope       KeyScope  `json:"scope"`
	CreatedTime time.Time `json:"createdTime"`
	// ExpiresTime is when the key stops working; zero: never.
	ExpiresTime time.Time `json:"expiresTime,omitzero"`
	// SealedSecret is the secret sealed with the key ID as additional
	// data, so a sealed secret copied onto another key's record does not
	// open.
	SealedSecret []byte `json:"sealedSecret"`
}

// Public is the record as the management API shows it: no secret.
func (r *AccessKeyRecord) Public() AccessKey {
	return AccessKey{
		AccessKeyID: r.AccessKeyID,
		Description: r.Description,
		Scope:       r.Scope,
		CreatedTime: r.CreatedTime,
		ExpiresTime: r.ExpiresTime,
	}
}

// maxNameLen is FC's longest service or function name.
const maxNameLen = 128

// ParseKeyResource reads the resource syntax of access-key scopes:
// "service" (the service and all its functions) or "service/function".
// The names follow FC's rules, so a resource that no service could ever
// have is refused rather than silently matching nothing. field names the
// value in the error ("resources[2]").
func ParseKeyResource(field, s string) (KeyResource, error) {
	service, function, hasFn := strings.Cut(s, "/")
	if err := ValidateName(field+" service", service, maxNameLen); err != nil {
		return KeyResource{}, err
	}
	if !hasFn {
		return KeyResource{Service: service}, nil
	}
	if err := ValidateName(field+" function", function, maxNameLen); err != nil {
		return KeyResource{}, err
	}
	return KeyResource{Service: service, Function: function}, nil
}

// String renders the resource in the syntax ParseKeyResource reads.
func (r KeyResource) String() string {
	if r.Function == "" {
		return r.Service
	}
	return r.Service + "/" + r.Function
}
