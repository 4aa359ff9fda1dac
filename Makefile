# openfc — common tasks. `make demo` builds, serves, deploys the Express
# example and calls it; `make test` runs every test (unit, race, e2e).

GO      ?= go
BIN     := bin/openfc
NATS    := bin/nats-server
EXAMPLE := examples/express-hello/code

.PHONY: nettools runc build deps npm-deps chromium demo test test-unit test-e2e lint clean bench bench-smoke console-editor console-editor-check

build:
	$(GO) build -o $(BIN) ./cmd/openfc

# Everything the tests need beyond Go, Node.js and Python: the npm
# packages, nats-server (the external-JetStream e2e test), Chromium (the
# browser CORS e2e test), ip and nft (the instance network e2e tests),
# runc (the container sandbox's tests).
deps: npm-deps $(NATS) chromium nettools runc

# npm packages the example and the SDK tests need (from package-lock.json).
npm-deps: $(EXAMPLE)/node_modules/.package-lock.json test/e2e/sdk/node_modules/.package-lock.json

# The nats-server go.mod already pins (the embedded server's version), so
# no system package is needed.
$(NATS): go.mod go.sum
	$(GO) build -o $@ github.com/nats-io/nats-server/v2

# Install Chromium, iproute2 and nftables as root with apt-get, else print
# the command to run.
chromium:
	@./scripts/ensure-tool.sh "the browser CORS e2e test" chromium OPENFC_E2E_CHROMIUM chromium chromium-browser google-chrome google-chrome-stable

nettools:
	@./scripts/ensure-tool.sh "the instance network e2e tests" iproute2 - ip
	@./scripts/ensure-tool.sh "the instance network e2e tests" nftables - nft

runc:
	@./scripts/ensure-tool.sh "the container sandbox tests" runc - runc

$(EXAMPLE)/node_modules/.package-lock.json: $(EXAMPLE)/package-lock.json
	cd $(EXAMPLE) && npm ci --no-audit --no-fund

test/e2e/sdk/node_modules/.package-lock.json: test/e2e/sdk/package-lock.json
	cd test/e2e/sdk && npm ci --no-audit --no-fund

# The console's editor (CodeMirror 6) is one committed ES module,
# internal/console/assets/vendor/codemirror.js, so that running or testing
# the console needs no build step. console-editor rebuilds it from the
# versions internal/console/editor/package-lock.json pins;
# console-editor-check (CI) rebuilds it and fails if the committed bundle
# differs.
EDITOR := internal/console/editor

console-editor:
	@command -v npm >/dev/null || { echo "npm is required to build the console's editor bundle (apt-get install npm)" >&2; exit 1; }
	cd $(EDITOR) && npm ci --no-audit --no-fund --ignore-scripts && node build.mjs

console-editor-check: console-editor
	@git diff --exit-code --stat -- internal/console/assets/vendor/ || { echo "internal/console/assets/vendor/ is not what $(EDITOR) builds: run make console-editor and commit it" >&2; exit 1; }

demo: build $(EXAMPLE)/node_modules/.package-lock.json
	./scripts/demo.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# The short fuzz runs are bounded by a count of executions (about 4 s each
# here), not by time: with a duration, Go 1.26's fuzz coordinator can
# report "context deadline exceeded" as a failure at the deadline
# (golang/go#75804, fixed in Go 1.27).
# OPENFC_FC2_SDK_DIR lets pkg/fcsign compare its string-to-sign with the
# official Node SDK's.
test-unit: npm-deps
	OPENFC_FC2_SDK_DIR=$(CURDIR)/test/e2e/sdk $(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test/e2e)
	# The gateway's tests again with the front door on the fast HTTP/1.1 server (issue 20).
	OPENFC_HTTP1_SERVER=fast $(GO) test -race -count=1 ./internal/gateway
	# Allocation bounds need a build without -race (it makes sync.Pool drop items).
	$(GO) test -count=1 -run 'Allocs$$' ./internal/gateway ./internal/upstream ./internal/route ./internal/auth
	$(GO) test -run '^$$' -fuzz '^FuzzParseProxyPath$$' -fuzztime 150000x ./internal/route
	$(GO) test -run '^$$' -fuzz '^FuzzParseTriggerHost$$' -fuzztime 100000x ./internal/route
	$(GO) test -run '^$$' -fuzz '^FuzzWriteHead$$' -fuzztime 50000x ./internal/gateway
	$(GO) test -run '^$$' -fuzz '^FuzzResponseFilter$$' -fuzztime 50000x ./internal/gateway
	$(GO) test -run '^$$' -fuzz '^FuzzFastServer$$' -fuzztime 5000x ./internal/gateway
	$(GO) test -run '^$$' -fuzz '^FuzzRemoveHopHeaders$$' -fuzztime 50000x ./internal/upstream
	$(GO) test -run '^$$' -fuzz '^FuzzTokenLookup$$' -fuzztime 50000x ./internal/auth
	$(GO) test -run '^$$' -fuzz '^FuzzParseAuthorization$$' -fuzztime 50000x ./pkg/fcsign

# The e2e suite runs against each front-door HTTP/1.1 server
# (--http1-server), both runs at once (scripts/test-e2e.sh); either
# failing fails the target, with its output shown whole. E2E_RUN narrows
# every run to a -run pattern, E2E_SERVERS the servers run against.
E2E_RUN     ?=
E2E_SERVERS ?= nethttp fast

test-e2e: deps
	GO='$(GO)' E2E_RUN='$(E2E_RUN)' ./scripts/test-e2e.sh $(E2E_SERVERS)

# deps first: a missing tool stops the run before it starts, not after.
test: deps lint test-unit test-e2e

# Benchmarks (bench/README.md): direct vs nginx vs httputil.ReverseProxy vs
# openfc, cold start, scale-out, memory, h2c vs HTTP/1.1. The full run
# takes a few minutes; the smoke run (a few seconds per scenario) proves
# the harness works.
bench:
	./bench/install-deps.sh && $(GO) run ./bench

bench-smoke:
	./bench/install-deps.sh && $(GO) run ./bench -smoke

clean:
	rm -rf bin
