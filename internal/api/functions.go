package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/openfc/openfc/internal/codezip"
	"github.com/openfc/openfc/internal/fc"
)

// functionInput is a create or update body: the function plus its code.
type functionInput struct {
	fc.Function
	Code *fc.FunctionCode `json:"code,omitempty"`
}

func functionNotFound(service, name string) *fc.Error {
	return fc.Errorf(fc.CodeFunctionNotFound, "function '%s' does not exist in service '%s'", name, service)
}

// prepareCode validates the code of a create/update and stores it (a
// no-op when it is stored already). It holds the package against
// collection until done is called, once the function write referencing it
// has been tried: done(false) tells the collector that the write failed,
// so that an upload nothing references goes again.
func (a *API) prepareCode(ctx context.Context, code *fc.FunctionCode, fn *fc.Function) (done func(written bool), err error) {
	if a.opts.CodeReceived != nil {
		defer a.opts.CodeReceived()
	}
	if code.OSSBucketName != "" || code.OSSObjectName != "" {
		return nil, fc.Errorf(fc.CodeInvalidArgument, "code.ossBucketName/code.ossObjectName are not supported by openfc; send code.zipFile")
	}
	zipBytes := code.ZipFile // decoded from base64 by decode
	if len(zipBytes) == 0 {
		return nil, fc.Errorf(fc.CodeInvalidArgument, "code.zipFile is required")
	}
	info, err := codezip.Check(zipBytes, a.lim)
	if err != nil {
		return nil, err
	}
	if err := requireCommand(fn, info.HasBootstrap); err != nil {
		return nil, err
	}
	sum := codezip.Checksum(zipBytes)
	release := a.holdCode(sum)
	if err := a.opts.Store.PutCode(ctx, sum, bytes.NewReader(zipBytes)); err != nil {
		release()
		a.releasedCode(ctx, sum)
		return nil, fmt.Errorf("storing code package: %w", err)
	}
	fn.CodeChecksum = sum
	fn.CodeSize = int64(len(zipBytes))
	return func(written bool) {
		release()
		if !written {
			a.releasedCode(ctx, sum)
		}
	}, nil
}

// holdCode keeps sum from collection (Options.Code) until release.
func (a *API) holdCode(sum string) (release func()) {
	if a.opts.Code == nil {
		return func() {}
	}
	return a.opts.Code.Hold(sum)
}

// releasedCode tells the collector that a write stopped referencing sum.
// It runs even when the request is gone: the write is done either way.
func (a *API) releasedCode(ctx context.Context, sum string) {
	if a.opts.Code != nil && sum != "" {
		a.opts.Code.Released(context.WithoutCancel(ctx), sum)
	}
}

// requireCommand enforces design §6: customRuntimeConfig.command, else an
// executable bootstrap at the code root. A built-in runtime's handler is
// started by openfc's bootstrap for the language.
func requireCommand(fn *fc.Function, hasBootstrap bool) error {
	if c := fn.CustomRuntimeConfig; c != nil && len(c.Command) > 0 || fc.IsBuiltinRuntime(fn.Runtime) {
		return nil
	}
	if hasBootstrap {
		return nil
	}
	return fc.Errorf(fc.CodeInvalidArgument, "customRuntimeConfig.command is required when the code has no executable 'bootstrap' file at its root")
}

func (a *API) createFunction(r *http.Request, _ string) (int, any, http.Header, error) {
	service := r.PathValue("service")
	var in functionInput
	if err := a.decode(r, &in); err != nil {
		return 0, nil, nil, err
	}
	fn := in.Function
	fn.ServiceName = service
	if err := a.validateFunction(&fn); err != nil {
		return 0, nil, nil, err
	}
	ctx := r.Context()
	if _, _, err := a.opts.Store.GetService(ctx, service); err != nil {
		return 0, nil, nil, storeErr(err, serviceNotFound(service), nil)
	}
	if _, _, err := a.opts.Store.GetFunction(ctx, service, fn.FunctionName); err == nil {
		return 0, nil, nil, fc.Errorf(fc.CodeFunctionAlreadyExists, "function '%s' already exists in service '%s'", fn.FunctionName, service)
	}
	if err := checkCodePresence(&fn, in.Code != nil, false); err != nil {
		return 0, nil, nil, err
	}
	done := func(bool) {}
	if in.Code != nil {
		var err error
		if done, err = a.prepareCode(ctx, in.Code, &fn); err != nil {
			return 0, nil, nil, err
		}
	}
	fn.FunctionID = newID()
	fn.CreatedTime = a.now()
	fn.LastModifiedTime = fn.CreatedTime
	rev, err := a.opts.Store.CreateFunction(ctx, service, &fn)
	done(err == nil)
	if err != nil {
		return 0, nil, nil, storeErr(err, serviceNotFound(service),
			fc.Errorf(fc.CodeFunctionAlreadyExists, "function '%s' already exists in service '%s'", fn.FunctionName, service))
	}
	return http.StatusOK, &fn, etag(rev), nil
}

func (a *API) getFunction(r *http.Request, _ string) (int, any, http.Header, error) {
	service, qualifier, err := a.splitQualifier(r.PathValue("service"))
	if err != nil {
		return 0, nil, nil, err
	}
	name := r.PathValue("function")
	if qualifier != fc.LATEST {
		// A version's snapshot (an alias's main version): immutable, so
		// no ETag to update against.
		fn, _, err := a.opts.Store.ResolveFunction(service, qualifier, name, 1)
		if err != nil {
			return 0, nil, nil, err
		}
		return http.StatusOK, fn, nil, nil
	}
	fn, rev, err := a.opts.Store.GetFunction(r.Context(), service, name)
	if err != nil {
		return 0, nil, nil, a.functionErr(r.Context(), err, service, name)
	}
	return http.StatusOK, fn, etag(rev), nil
}

func (a *API) listFunctions(r *http.Request, _ string) (int, any, http.Header, error) {
	service, qualifier, err := a.splitQualifier(r.PathValue("service"))
	if err != nil {
		return 0, nil, nil, err
	}
	p, err := parsePage(r)
	if err != nil {
		return 0, nil, nil, err
	}
	if _, _, err := a.opts.Store.GetService(r.Context(), service); err != nil {
		return 0, nil, nil, storeErr(err, serviceNotFound(service), nil)
	}
	var all []*fc.Function
	if qualifier == fc.LATEST {
		all, err = a.opts.Store.ListFunctions(r.Context(), service)
	} else {
		all, err = a.opts.Store.VersionFunctions(service, qualifier) // a version's snapshot
	}
	if err != nil {
		return 0, nil, nil, err
	}
	items, next := paginate(p, all, func(f *fc.Function) string { return f.FunctionName })
	return http.StatusOK, map[string]any{"functions": items, "nextToken": next}, nil, nil
}

// decodeFunctionPatch reads an update body: the partial update of the
// function, and its code when present. The code (up to MaxCodeSize in
// base64) is decoded on its own, straight from the body, rather than
// copied and re-encoded through mergePatch with the rest.
func (a *API) decodeFunctionPatch(r *http.Request) (map[string]rawRef, *fc.FunctionCode, error) {
	var patch map[string]rawRef
	if err := a.decode(r, &patch); err != nil {
		return nil, nil, err
	}
	var code *fc.FunctionCode
	if raw, ok := patch["code"]; ok {
		delete(patch, "code")
		if err := unmarshalBody(raw, &code); err != nil {
			return nil, nil, err
		}
	}
	return patch, code, nil
}

func (a *API) updateFunction(r *http.Request, _ string) (int, any, http.Header, error) {
	service, name := r.PathValue("service"), r.PathValue("function")
	ctx := r.Context()
	rev, err := ifMatch(r)
	if err != nil {
		return 0, nil, nil, err
	}
	cur, curRev, err := a.opts.Store.GetFunction(ctx, service, name)
	if err != nil {
		return 0, nil, nil, a.functionErr(ctx, err, service, name)
	}
	if rev != 0 && rev != curRev {
		return 0, nil, nil, fc.Errorf(fc.CodePreconditionFailed, "the resource being modified has been changed")
	}
	patch, code, err := a.decodeFunctionPatch(r)
	if err != nil {
		return 0, nil, nil, err
	}
	var in functionInput
	if err := mergePatch(patch, &functionInput{Function: *cur}, &in); err != nil {
		return 0, nil, nil, err
	}
	in.Code = code
	fn := in.Function
	if fn.FunctionName != name {
		return 0, nil, nil, fc.Errorf(fc.CodeInvalidArgument, "functionName %q in the body does not match the path's %q", fn.FunctionName, name)
	}
	fn.ServiceName = service
	fn.FunctionID, fn.CreatedTime, fn.LastModifiedTime = cur.FunctionID, cur.CreatedTime, a.now()
	fn.CodeChecksum, fn.CodeSize = cur.CodeChecksum, cur.CodeSize
	if err := a.validateFunction(&fn); err != nil {
		return 0, nil, nil, err
	}
	if err := checkCodePresence(&fn, in.Code != nil, cur.CodeChecksum != ""); err != nil {
		return 0, nil, nil, err
	}
	done := func(bool) {}
	switch {
	case fn.IsContainer():
		// Its image is its code: code kept from a custom runtime is
		// released below, as any replaced code is.
		fn.CodeChecksum, fn.CodeSize = "", 0
	case in.Code != nil:
		if done, err = a.prepareCode(ctx, in.Code, &fn); err != nil {
			return 0, nil, nil, err
		}
	default:
		if err := a.checkStoredBootstrap(ctx, &fn); err != nil {
			return 0, nil, nil, err
		}
	}
	newRev, err := a.opts.Store.UpdateFunction(ctx, service, &fn, curRev)
	done(err == nil)
	if err != nil {
		return 0, nil, nil, a.functionErr(ctx, err, service, name)
	}
	if a.opts.FunctionChanged != nil {
		a.opts.FunctionChanged(service, name) // first: the old instances are retired before their code is released
	}
	if cur.CodeChecksum != fn.CodeChecksum {
		a.releasedCode(ctx, cur.CodeChecksum) // the write replaced revision curRev: nothing else changed the code meanwhile
	}
	return http.StatusOK, &fn, etag(newRev), nil
}

// validateFunction checks fn (fc.ValidateFunction) and, for a built-in
// runtime, that this node has its interpreter.
func (a *API) validateFunction(fn *fc.Function) error {
	if err := fc.ValidateFunction(fn); err != nil {
		return err
	}
	if !fc.IsBuiltinRuntime(fn.Runtime) || a.opts.CheckRuntime == nil {
		return nil
	}
	if err := a.opts.CheckRuntime(fn.Runtime); err != nil {
		return fc.Errorf(fc.CodeInvalidArgument, "%w", err)
	}
	return nil
}

// checkCodePresence enforces who has code: a custom-container function
// runs its image and takes no code (FC 3.0: code or customContainerConfig,
// never both); any other function needs code, sent now or stored
// (hasStored) from before.
func checkCodePresence(fn *fc.Function, sent, hasStored bool) error {
	switch {
	case fn.IsContainer() && sent:
		return fc.Errorf(fc.CodeInvalidArgument, "code is not used by a %s function: it runs customContainerConfig.image; remove code", fc.RuntimeCustomContainer)
	case !fn.IsContainer() && !sent && !hasStored:
		return fc.Errorf(fc.CodeInvalidArgument, "code is required for runtime %q: send code.zipFile (base64 of a zip)", fn.Runtime)
	}
	return nil
}

// checkStoredBootstrap applies requireCommand to an update that keeps the
// stored code.
func (a *API) checkStoredBootstrap(ctx context.Context, fn *fc.Function) error {
	if c := fn.CustomRuntimeConfig; c != nil && len(c.Command) > 0 || fc.IsBuiltinRuntime(fn.Runtime) {
		return nil
	}
	rc, err := a.opts.Store.GetCode(ctx, fn.CodeChecksum)
	if err != nil {
		return fmt.Errorf("reading stored code: %w", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("reading stored code: %w", err)
	}
	info, err := codezip.Check(b, a.lim)
	if err != nil {
		return err
	}
	return requireCommand(fn, info.HasBootstrap)
}

func (a *API) deleteFunction(r *http.Request, _ string) (int, any, http.Header, error) {
	service, name := r.PathValue("service"), r.PathValue("function")
	rev, err := ifMatch(r)
	if err != nil {
		return 0, nil, nil, err
	}
	// The function as it is now: preconditions first (a stale etag is 412
	// even with triggers left), and the code the delete releases.
	cur, curRev, err := a.opts.Store.GetFunction(r.Context(), service, name)
	if err != nil {
		return 0, nil, nil, a.functionErr(r.Context(), err, service, name)
	}
	if rev != 0 && curRev != rev {
		return 0, nil, nil, fc.Errorf(fc.CodePreconditionFailed, "the resource being modified has been changed")
	}
	if err := a.opts.Store.DeleteFunction(r.Context(), service, name, rev); err != nil {
		if isNotEmpty(err) {
			return 0, nil, nil, fc.Errorf(fc.CodeFunctionNotEmpty, "function '%s' has active triggers", name)
		}
		return 0, nil, nil, a.functionErr(r.Context(), err, service, name)
	}
	if a.opts.FunctionChanged != nil {
		a.opts.FunctionChanged(service, name) // first: the instances are retired before their code is released
	}
	// Without If-Match an update may have slipped in since cur was read;
	// the code it wrote is then left to the collector's next pass.
	a.releasedCode(r.Context(), cur.CodeChecksum)
	return http.StatusNoContent, nil, nil, nil
}

// invoke serves POST …/invocations: a synchronous event invocation.
func (a *API) invoke(w http.ResponseWriter, r *http.Request, reqID string) {
	service, qualifier, err := a.splitQualifier(r.PathValue("service"))
	if err != nil {
		a.writeErr(w, r, reqID, err)
		return
	}
	name := r.PathValue("function")
	if _, err := fc.ParseInvocationType(r.Header); err != nil {
		a.writeErr(w, r, reqID, err) // refused before the function is looked up, as FC does
		return
	}
	// The gateway resolves the qualifier again for the call (an alias
	// picks a version per call); this lookup only refuses what is missing.
	fn, _, err := a.opts.Store.ResolveFunction(service, qualifier, name, 1)
	if err != nil {
		a.writeErr(w, r, reqID, err)
		return
	}
	a.opts.Invoker.Invoke(w, r, reqID, fn, qualifier)
}
