package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// The access-keys API is an openfc extension under /2016-08-15/access-keys
// (FC manages keys in RAM, elsewhere): POST creates a key and shows its
// secret once, GET lists or reads keys without secrets, DELETE removes
// one. Only the admin key may call it (fc.ActionManageKeys, routeScope).

// AccessKeys manages the stored access keys (auth.Keys).
type AccessKeys interface {
	// Create makes a key with spec's description, scope and expiry and
	// returns it with its secret.
	Create(ctx context.Context, spec fc.AccessKey) (fc.AccessKey, error)
	// List returns every stored key, without secrets, sorted by ID.
	List(ctx context.Context) ([]fc.AccessKey, error)
	// Get returns a key without its secret; AccessKeyNotFound when absent.
	Get(ctx context.Context, id string) (fc.AccessKey, error)
	// Delete removes a key; AccessKeyNotFound when absent.
	Delete(ctx context.Context, id string) error
}

// Bounds of a create request.
const (
	maxKeyRequestBytes = 64 << 10
	maxKeyDescription  = 256
	maxKeyResources    = 100
)

func (a *API) keyRoutes(h func(pattern string, fn handlerFunc)) {
	h("POST "+keysPath, a.createKey)
	h("GET "+keysPath, a.listKeys)
	h("GET "+keysPath+"/{accessKeyId}", a.getKey)
	h("DELETE "+keysPath+"/{accessKeyId}", a.deleteKey)
}

// keyStore returns the key manager, or why there is none.
func (a *API) keyStore() (AccessKeys, error) {
	if a.opts.Keys == nil {
		return nil, fc.Errorf(fc.CodeServiceUnavailable, "access keys are not available on this server")
	}
	return a.opts.Keys, nil
}

// createKeyRequest is the body of POST /access-keys.
type createKeyRequest struct {
	Description string `json:"description"`
	InvokeOnly  bool   `json:"invokeOnly"`
	// Resources are "service" or "service/function" (fc.ParseKeyResource).
	Resources []string `json:"resources"`
	// ExpiresIn is a Go duration ("720h"); empty: the key never expires.
	ExpiresIn string `json:"expiresIn"`
}

// spec validates the request into the key to create, naming the bad
// field.
func (req *createKeyRequest) spec(now time.Time) (fc.AccessKey, error) {
	k := fc.AccessKey{Description: req.Description, Scope: fc.KeyScope{InvokeOnly: req.InvokeOnly}}
	if n := len([]rune(req.Description)); n > maxKeyDescription {
		return k, fc.Errorf(fc.CodeInvalidArgument, "description is %d characters long; at most %d are allowed", n, maxKeyDescription)
	}
	if len(req.Resources) > maxKeyResources {
		return k, fc.Errorf(fc.CodeInvalidArgument, "resources has %d entries; at most %d are allowed", len(req.Resources), maxKeyResources)
	}
	for i, s := range req.Resources {
		res, err := fc.ParseKeyResource("resources["+strconv.Itoa(i)+"]", s)
		if err != nil {
			return k, err
		}
		k.Scope.Resources = append(k.Scope.Resources, res)
	}
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			return k, fc.Errorf(fc.CodeInvalidArgument, "expiresIn %q is not a positive duration such as \"720h\" or \"30m\"", req.ExpiresIn)
		}
		k.ExpiresTime = now.Add(d).UTC()
	}
	return k, nil
}

func (a *API) createKey(r *http.Request, _ string) (int, any, http.Header, error) {
	keys, err := a.keyStore()
	if err != nil {
		return 0, nil, nil, err
	}
	var req createKeyRequest
	if err := decodeStrict(r.Body, &req); err != nil {
		return 0, nil, nil, err
	}
	spec, err := req.spec(a.opts.Now())
	if err != nil {
		return 0, nil, nil, err
	}
	k, err := keys.Create(r.Context(), spec)
	if err != nil {
		return 0, nil, nil, err
	}
	a.log.Info("access key created", "key_id", k.AccessKeyID, "by_key_id", principalFrom(r.Context()).KeyID,
		"invoke_only", k.Scope.InvokeOnly, "resources", req.Resources, "expires", k.ExpiresTime)
	// The body holds the secret: no cache may keep it.
	return http.StatusCreated, k, http.Header{"Cache-Control": {"no-store"}}, nil
}

func (a *API) listKeys(r *http.Request, _ string) (int, any, http.Header, error) {
	keys, err := a.keyStore()
	if err != nil {
		return 0, nil, nil, err
	}
	p, err := parsePage(r)
	if err != nil {
		return 0, nil, nil, err
	}
	all, err := keys.List(r.Context())
	if err != nil {
		return 0, nil, nil, err
	}
	items, next := paginate(p, all, func(k fc.AccessKey) string { return k.AccessKeyID })
	return http.StatusOK, map[string]any{"accessKeys": items, "nextToken": next}, nil, nil
}

func (a *API) getKey(r *http.Request, _ string) (int, any, http.Header, error) {
	keys, err := a.keyStore()
	if err != nil {
		return 0, nil, nil, err
	}
	k, err := keys.Get(r.Context(), r.PathValue("accessKeyId"))
	if err != nil {
		return 0, nil, nil, err
	}
	return http.StatusOK, k, nil, nil
}

func (a *API) deleteKey(r *http.Request, _ string) (int, any, http.Header, error) {
	keys, err := a.keyStore()
	if err != nil {
		return 0, nil, nil, err
	}
	id := r.PathValue("accessKeyId")
	if err := keys.Delete(r.Context(), id); err != nil {
		return 0, nil, nil, err
	}
	a.log.Info("access key deleted", "key_id", id, "by_key_id", principalFrom(r.Context()).KeyID)
	return http.StatusNoContent, nil, nil, nil
}

// decodeStrict reads a small JSON object into v, refusing fields v does
// not have: "expires" for "expiresIn" must not quietly make a key that
// never expires. An empty body is an empty object.
func decodeStrict(body io.Reader, v any) error {
	b, err := io.ReadAll(io.LimitReader(body, maxKeyRequestBytes+1))
	if err != nil {
		return fc.Errorf(fc.CodeInvalidArgument, "reading request body: %v", err)
	}
	if len(b) > maxKeyRequestBytes {
		return fc.Errorf(fc.CodeInvalidArgument, "the request body is larger than %d bytes", maxKeyRequestBytes)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON object")
	}
	if err == nil {
		return nil
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fc.Errorf(fc.CodeInvalidArgument, "unknown field %s", field)
	}
	if uerr := unmarshalBody(b, v); uerr != nil {
		return uerr
	}
	return fc.Errorf(fc.CodeInvalidArgument, "the request body is not valid JSON: %v", err)
}
