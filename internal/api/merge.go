package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/openfc/openfc/internal/fc"
)

// mergeBody implements FC's partial update: every top-level field present
// in the request body replaces the current value as a whole (maps and
// nested objects included); absent fields keep their value. cur and out
// are pointers to the same type.
func (a *API) mergeBody(r *http.Request, cur, out any) error {
	var patch map[string]rawRef
	if err := a.decode(r, &patch); err != nil {
		return err
	}
	return mergePatch(patch, cur, out)
}

// rawRef is a json.RawMessage that points into the body it was decoded
// from instead of copying it (a function's code is most of its body). The
// body must outlive it; the handlers keep both until they return.
type rawRef []byte

// UnmarshalJSON keeps b: encoding/json's Unmarshal passes a slice of its
// input.
func (r *rawRef) UnmarshalJSON(b []byte) error {
	*r = b
	return nil
}

// mergePatch applies a decoded partial update (see mergeBody).
func mergePatch(patch map[string]rawRef, cur, out any) error {
	b, err := json.Marshal(cur)
	if err != nil {
		return fmt.Errorf("encoding current value: %w", err)
	}
	merged := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &merged); err != nil {
		return fmt.Errorf("decoding current value: %w", err)
	}
	for k, v := range patch {
		merged[k] = json.RawMessage(v)
	}
	b, err = json.Marshal(merged)
	if err != nil {
		return fmt.Errorf("encoding merged value: %w", err)
	}
	return unmarshalBody(b, out)
}

func isNotEmpty(err error) bool { return errors.Is(err, fc.ErrNotEmpty) }
