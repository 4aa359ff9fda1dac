package fc

import "time"

// Principal is who signed a request: the admin key, or an access key
// with its scope. The verifier returns it; the management API and the
// front door ask it whether the request may go on.
type Principal struct {
	// KeyID is the access key ID that signed.
	KeyID string
	// Admin marks the installation's admin key: everything is allowed.
	Admin bool
	Scope KeyScope
}

// KeyScope limits what an access key may do. The zero value allows
// everything but managing access keys (only the admin key may).
type KeyScope struct {
	// InvokeOnly keys sign trigger calls (authType function) and
	// InvokeFunction, never management calls.
	InvokeOnly bool `json:"invokeOnly,omitempty"`
	// Resources, when not empty, are the only services (Function "") or
	// functions the key reaches.
	Resources []KeyResource `json:"resources,omitempty"`
}

// KeyResource is a service, or one function of it (Function != "").
type KeyResource struct {
	Service  string `json:"service"`
	Function string `json:"function,omitempty"`
}

// AccessKey is an access key as the management API shows it: never its
// secret, but once, when it is created.
type AccessKey struct {
	AccessKeyID     string    `json:"accessKeyId"`
	AccessKeySecret string    `json:"accessKeySecret,omitempty"`
	Description     string    `json:"description,omitempty"`
	Scope           KeyScope  `json:"scope"`
	CreatedTime     time.Time `json:"createdTime"`
	// ExpiresTime is when the key stops working; zero: never.
	ExpiresTime time.Time `json:"expiresTime,omitzero"`
}

// Action is what a request does to a resource.
type Action int

const (
	// ActionInvoke runs a function: an HTTP trigger call or
	// InvokeFunction.
	ActionInvoke Action = iota
	// ActionManage reads or changes configuration, logs, instances.
	ActionManage
	// ActionManageKeys creates, lists or deletes access keys.
	ActionManageKeys
	// ActionOperate reads how the platform itself runs (the cluster's
	// nodes and JetStream): the operator's, only the admin key's.
	ActionOperate
)

// Allow reports, as FC's 403 AccessDenied, why p may not do action on
// service/function; nil when it may. An empty service is an
// account-wide resource (the list of services, custom domains, images),
// which a resource-scoped key never reaches; an empty function is the
// service itself.
func (p Principal) Allow(action Action, service, function string) error {
	if p.Admin {
		return nil
	}
	switch {
	case action == ActionManageKeys:
		return Errorf(CodeAccessDenied, "access key '%s' may not manage access keys: only the admin key may", p.KeyID)
	case action == ActionOperate:
		return Errorf(CodeAccessDenied, "access key '%s' may not read the cluster's status: only the admin key may", p.KeyID)
	case action == ActionManage && p.Scope.InvokeOnly:
		return Errorf(CodeAccessDenied, "access key '%s' is invoke-only: it may not make management calls", p.KeyID)
	case len(p.Scope.Resources) == 0:
		return nil
	case service == "":
		return Errorf(CodeAccessDenied, "access key '%s' is limited to some services and may not access account-wide resources", p.KeyID)
	}
	for _, r := range p.Scope.Resources {
		if r.Service == service && (r.Function == "" || r.Function == function) {
			return nil
		}
	}
	what := "service '" + service + "'"
	if function != "" {
		what = "function '" + service + "/" + function + "'"
	}
	return Errorf(CodeAccessDenied, "access key '%s' may not access %s", p.KeyID, what)
}
