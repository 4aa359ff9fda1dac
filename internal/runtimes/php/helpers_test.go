package php

import (
	"testing"

	"github.com/openfc/openfc/internal/runtimes/bootstraptest"
)

// testToken is the instance secret the tests give the bootstrap.
const testToken = bootstraptest.Token

// instance is a bootstrap started by a test.
type instance = bootstraptest.Instance

// phpBin is the interpreter the tests run.
func phpBin(t *testing.T) string {
	t.Helper()
	return bootstraptest.Interpreter(t, Runtime{}.interpreter())
}

// start runs bootstrap.php on the handlers in testdata with FC's environment
// plus env (KEY=value), and waits until it listens.
func start(t *testing.T, handler string, env ...string) *instance {
	t.Helper()
	return bootstraptest.Start(t, phpBin(t), "bootstrap.php", handler, env...)
}
