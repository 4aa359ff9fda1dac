package deploy

import "github.com/openfc/openfc/internal/fc"

// lifecycleHook parses instanceLifecycleConfig.<name>{handler, timeout};
// nil when absent.
func lifecycleHook(lc obj, name string) (*fc.LifecycleHook, error) {
	c, ok, err := lc.checkedObj(name, hookKeys)
	if err != nil || !ok {
		return nil, err
	}
	var h fc.LifecycleHook
	if h.Handler, err = c.str("handler"); err != nil {
		return nil, err
	}
	if h.Timeout, err = c.integer("timeout"); err != nil {
		return nil, err
	}
	return &h, nil
}

// lifecycleInitializer reads FC 3.0's instanceLifecycleConfig.initializer
// {handler, timeout} into f; when set, it overrides initializer and
// initializationTimeout.
func lifecycleInitializer(o obj, f *fc.Function) error {
	lc, ok, err := o.checkedObj("instanceLifecycleConfig", lifecycleKeys)
	if err != nil || !ok {
		return err
	}
	in, ok, err := lc.checkedObj("initializer", hookKeys)
	if err != nil || !ok {
		return err
	}
	handler, err := in.str("handler")
	if err != nil {
		return err
	}
	timeout, err := in.integer("timeout")
	if err != nil {
		return err
	}
	if handler != "" {
		f.Initializer = handler
	}
	if timeout != 0 {
		f.InitializationTimeout = timeout
	}
	return nil
}

// lifecycleHooks reads instanceLifecycleConfig's preStop and preFreeze
// hooks; nil when it sets neither.
func lifecycleHooks(o obj) (*fc.InstanceLifecycleConfig, error) {
	lc, ok, err := o.checkedObj("instanceLifecycleConfig", lifecycleKeys)
	if err != nil || !ok {
		return nil, err
	}
	var hooks fc.InstanceLifecycleConfig
	if hooks.PreStop, err = lifecycleHook(lc, "preStop"); err != nil {
		return nil, err
	}
	if hooks.PreFreeze, err = lifecycleHook(lc, "preFreeze"); err != nil {
		return nil, err
	}
	if hooks.PreStop == nil && hooks.PreFreeze == nil {
		return nil, nil
	}
	return &hooks, nil
}
