// Package deploy turns a Serverless Devs s.yaml into a deploy plan: the
// services, functions (with their local code directories) and HTTP triggers
// that `openfc deploy` creates. It only reads and checks the file; zipping the
// code and calling the management API are the CLI's job.
//
// Two component formats are understood, in one file or mixed:
//
//   - fc3 (FC 3.0, edition 3.0.0): `resources: <key>: {component: fc3, props:
//     {functionName, runtime, code, ...}}`. FC 3.0 has no services, so every
//     fc3 function goes into one service named by the file's top-level `name`.
//   - fc (FC 2.0, edition 1.0.0 under `services:`, or edition 3.0.0 under
//     `resources:`): `props: {service: {...}, function: {...}, triggers: [...]}`.
//     Entries naming the same service are merged into one ServicePlan.
//
// The component may carry an owner and a version: `devsapp/fc3`, `fc3@dev`,
// `devsapp/fc@0.1.2`. Resources of other components are skipped with a notice.
//
// # Fields read
//
// The keys of every block openfc deploys (fc3 props, fc props, service,
// function, trigger, HTTP trigger config, customRuntimeConfig, health
// checks, lifecycle hooks, code mappings, custom domains and their routes)
// are checked against the keys the Serverless Devs components know (see
// keys.go). An unknown key is an error naming the closest known key when
// one is close ("timout" → "timeout"), so that a typo is not silently
// dropped. FC settings openfc does not apply (vpcConfig, logConfig,
// nasConfig, role, tracingConfig, layers, ...) are accepted with one Notice
// each, so that real files still deploy. `actions`, `extend`, `template`
// get a Notice too; `customDomain` (fc3) and `customDomains` (fc) are
// deployed (domain.go), but for FC's generated "auto" domain (a Notice). The top
// level and the resource entries are not checked.
//
// Top level: name (only when there are fc3 resources), vars, resources,
// services. edition and access are not checked.
//
// fc3 props: region, functionName*, runtime*, code* (a path, or {src}),
// handler, description, memorySize, timeout, instanceConcurrency, caPort,
// customRuntimeConfig{command, args, port}, environmentVariables, initializer,
// initializationTimeout, instanceLifecycleConfig.initializer{handler, timeout},
// triggers[{triggerName*, triggerType*, description, qualifier,
// triggerConfig{authType, methods, disableURLInternet, authConfig}}].
//
// fc props: region, service{name*, description, internetAccess},
// function{name*, runtime*, codeUri* or code* (a path, or {src}), handler,
// description, memorySize, timeout, instanceConcurrency, caPort, instanceType,
// customRuntimeConfig{command, args, port}, environmentVariables,
// initializer, initializationTimeout}, triggers[{name*, type*, description,
// qualifier, config{authType, methods, disableURLInternet, authConfig,
// qualifier}}].
//
// Fields marked * are required. HTTP triggers also need methods, as in FC.
// The runtime must be one openfc runs (fc.ValidateRuntime): a custom one,
// custom-container, or a built-in one (nodejs*, python3*), whose handler
// style is FC 3.0's event from fc3 and FC 2.0's HTTP handler from fc.
//
// ParseFile, which reads the file from disk, also checks that each code
// path is a directory, and adds a Notice when a code directory has a
// package.json listing dependencies but no node_modules: openfc uploads the
// directory as it is, as FC's own tools do.
//
// # Variables
//
// Scalar values that openfc reads may contain `${env(NAME)}`, `${env('NAME')}`,
// `${env('NAME', 'default')}`, `${env.NAME}` and `${vars.path}` (from the
// top-level `vars:` mapping; a value that is exactly `${vars.x}` may name a
// mapping or a list). An environment variable that is unset or empty is an
// error unless a default is given. Any other `${...}` (`${config(...)}`,
// `${resources.x.output}`, `${this.name}`, ...) is an "unsupported variable"
// error. Ignored fields are not expanded, so they cannot fail.
//
// # Errors
//
// Every error about the file's content is an *Error naming the file, the
// line and the field, e.g.
//
//	s.yaml:12: resources.web.props.memorySize: expected an integer, got "big"
//
// Errors from fc.ValidateFunction, fc.ValidateTrigger and fc.ValidateService
// point at the line of the block they are about (fc.ValidateRuntime's at
// the runtime's line) and unwrap to the *fc.Error.
package deploy
