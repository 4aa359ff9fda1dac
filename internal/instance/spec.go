package instance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/images"
	"github.com/openfc/openfc/internal/sandbox"
)

// This file says what an instance runs: the sandbox Spec of a function,
// from its code (custom runtimes) or its image (custom containers).

// ImageSource provides the images of custom-container functions
// (images.Store).
type ImageSource interface {
	// Image returns ref's image, unpacked on this node, getting it first
	// if needed (auth nil: the operator's docker config, else anonymous).
	// Its layers stay (are not collected) until release is called: the
	// manager calls it once the instance using them has stopped.
	Image(ctx context.Context, ref string, auth *images.Auth) (img *images.Image, release func(), err error)
}

// ImageFunc adapts a function, such as (*images.Store).Get, to
// ImageSource.
type ImageFunc func(ctx context.Context, ref string, auth *images.Auth) (*images.Image, func(), error)

// Image calls f.
func (f ImageFunc) Image(ctx context.Context, ref string, auth *images.Auth) (*images.Image, func(), error) {
	return f(ctx, ref, auth)
}

// codeMount is where the code of a custom runtime is inside a container
// (FC's code directory, FC_FUNC_CODE_PATH).
const codeMount = "/code"

// defaultPath is the PATH of an image that sets none (Docker's).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// spec returns what instance in of fn runs (without its Output), holding
// its code or image until release is called, and a warning for the
// function's log (a built-in runtime's interpreter older than asked). It
// sets in.token for a built-in runtime.
func (m *Manager) spec(ctx context.Context, fn *fc.Function, qualifier string, in *inst) (sandbox.Spec, string, func(), error) {
	spec := sandbox.Spec{ID: in.id, Port: fn.Port(), PortEnv: portEnv(fn), Net: m.netSpec(fn), MemoryMB: fn.MemorySize}
	if fn.IsContainer() {
		spec, release, err := m.imageSpec(ctx, fn, qualifier, spec)
		return spec, "", release, err
	}
	dir, release, err := m.opts.Code.CodeDir(ctx, fn.CodeChecksum)
	if err != nil {
		return spec, "", nil, fc.Errorf(fc.CodeFunctionNotStarted, "The function cannot be started: code package %s: %w", fn.CodeChecksum, err)
	}
	spec.Dir, spec.Command = dir, command(fn)
	base := map[string]string{"PATH": os.Getenv("PATH"), "HOME": os.TempDir(), "LANG": "C.UTF-8"}
	codePath := dir
	if m.opts.RuntimesInContainers {
		// The host's root, read-only, with the code at /code, its
		// working directory; /tmp is the container's own.
		spec.Root = &sandbox.RootFS{}
		base["HOME"], codePath = "/tmp", codeMount
	}
	var extra []string
	warning := ""
	if fc.IsBuiltinRuntime(fn.Runtime) {
		if spec.Command, extra, warning, err = m.builtinLaunch(fn, codePath, in, spec.Root); err != nil {
			release()
			return spec, "", nil, err
		}
	}
	spec.Env = m.env(fn, qualifier, in.id, base, codePath, extra)
	return spec, warning, release, nil
}

// imageSpec fills in spec for a custom-container function: its image's
// layers, user and working directory, and the image's command unless the
// function overrides it.
func (m *Manager) imageSpec(ctx context.Context, fn *fc.Function, qualifier string, spec sandbox.Spec) (sandbox.Spec, func(), error) {
	ref := fn.CustomContainerConfig.Image
	if m.opts.Images == nil {
		return spec, nil, fc.Errorf(fc.CodeFunctionNotStarted, "The function cannot be started: image %s: no image store on this node", ref)
	}
	var auth *images.Auth
	if user, password := fn.CustomContainerConfig.Credentials(); user != "" || password != "" {
		auth = &images.Auth{Username: user, Password: password}
	}
	img, release, err := m.opts.Images.Image(ctx, ref, auth)
	if err != nil {
		return spec, nil, fc.Errorf(fc.CodeFunctionNotStarted, "The function cannot be started: image %s: %w", ref, err)
	}
	spec.Command = containerCommand(fn.CustomContainerConfig, img.Config)
	if len(spec.Command) == 0 {
		release()
		return spec, nil, fc.Errorf(fc.CodeFunctionNotStarted,
			"The function cannot be started: image %s has no ENTRYPOINT or CMD, and customContainerConfig sets no command", ref)
	}
	spec.Root = &sandbox.RootFS{Layers: img.Layers, User: img.Config.User, WorkingDir: img.Config.WorkingDir}
	base := map[string]string{}
	for _, kv := range img.Config.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			base[k] = v
		}
	}
	if _, ok := base["PATH"]; !ok {
		base["PATH"] = defaultPath
	}
	// An image has no code directory: no FC_FUNC_CODE_PATH.
	spec.Env = m.env(fn, qualifier, spec.ID, base, "", nil)
	return spec, release, nil
}

// containerCommand is argv of a container: the entrypoint (the function's
// command, else the image's ENTRYPOINT) followed by the arguments (the
// function's args, else the image's CMD). As in Docker, a new entrypoint
// drops the image's CMD.
func containerCommand(c *fc.CustomContainerConfig, img images.Config) []string {
	entry, args := img.Entrypoint, img.Cmd
	if len(c.Command) > 0 {
		entry, args = c.Command, nil
	}
	if len(c.Args) > 0 {
		args = c.Args
	}
	return slices.Concat(entry, args)
}

// startError is the error of a sandbox that could not start in.
func startError(err error, in *inst) error {
	if errors.Is(err, sandbox.ErrNoRuntime) {
		return &fc.Error{Code: fc.CodeFunctionNotStarted, Err: err,
			Message: "The function cannot be started: runc is not installed on this node (apt-get install runc)"}
	}
	return fc.Errorf(fc.CodeFunctionNotStarted, "The CA's http server cannot be started: %v. Logs : %s", err, in.tail.String())
}

// exitError is how in's process exited, as the request in flight learns
// it: an *fc.Error when the manager can say more than the exit status (a
// container killed by its memory limit).
func exitError(in *inst) error {
	err := in.sb.ExitErr()
	if errors.Is(err, sandbox.ErrOutOfMemory) {
		return &fc.Error{Code: fc.CodeFunctionCrashed, Err: err,
			Message: fmt.Sprintf("Function ran out of memory (memorySize %d MB): instance %s was killed by its memory limit before completing the request",
				in.p.fn.MemorySize, in.id)}
	}
	return err
}

// netSpec is the network fn's instances get: internet access as its
// function and service say (fc.InternetAccess), DNS from its customDNS.
func (m *Manager) netSpec(fn *fc.Function) sandbox.NetSpec {
	var svc *fc.Service
	if m.opts.LookupService != nil {
		svc, _ = m.opts.LookupService(fn.ServiceName)
	}
	ns := sandbox.NetSpec{NoInternet: !fc.InternetAccess(svc, fn)}
	ns.Nameservers, ns.Searches, ns.Options = fn.CustomDNS.ResolvConf()
	return ns
}

// env builds the instance environment: base (a minimal one, or the
// image's), the user's variables, a built-in runtime's (extra, KEY=value),
// then FC's variables (which the user cannot override). codePath is
// FC_FUNC_CODE_PATH; "" leaves it out.
func (m *Manager) env(fn *fc.Function, qualifier, id string, base map[string]string, codePath string, extra []string) []string {
	vars := base
	for k, v := range fn.EnvironmentVariables {
		vars[k] = v
	}
	for _, kv := range extra {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	for k, v := range map[string]string{
		"FC_FUNCTION_NAME":        fn.FunctionName,
		"FC_SERVICE_NAME":         fn.ServiceName,
		"FC_FUNCTION_HANDLER":     fn.Handler,
		"FC_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemorySize),
		"FC_INSTANCE_ID":          id,
		"FC_REGION":               m.opts.Region,
		"FC_ACCOUNT_ID":           m.opts.AccountID,
		"FC_QUALIFIER":            qualifier,
		"FC_VERSION_ID":           qualifier,
		"FC_TIMEOUT":              strconv.Itoa(fn.Timeout),
	} {
		vars[k] = v
	}
	if codePath != "" {
		vars["FC_FUNC_CODE_PATH"] = codePath
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

// portEnv names the variables that tell an instance its port (the
// sandbox decides it: the CAPort in a namespace of its own, another in
// the host network): FC's, and PORT, which web frameworks read, unless
// the function sets PORT itself.
func portEnv(fn *fc.Function) []string {
	names := []string{"FC_SERVER_PORT", "FC_CUSTOM_LISTEN_PORT"}
	if _, set := fn.EnvironmentVariables["PORT"]; !set {
		names = append(names, "PORT")
	}
	return names
}

// command returns argv: customRuntimeConfig.command + args, else FC's
// convention, an executable bootstrap at the code root.
func command(fn *fc.Function) []string {
	if c := fn.CustomRuntimeConfig; c != nil && len(c.Command) > 0 {
		return append(append([]string{}, c.Command...), c.Args...)
	}
	return []string{"./bootstrap"}
}
