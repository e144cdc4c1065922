# CommunityCube. `make run` and `make test` install what they lack themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := build

export PATH := $(CURDIR)/.tools/go/bin:/usr/local/go/bin:$(HOME)/go/bin:$(PATH)
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
WASM    := bin/web/app.wasm
DIST    := server/web/dist
ADDR    ?= 127.0.0.1:8080
DATA    ?= ./data

.PHONY: grid build run test test-go test-wasm test-e2e bench bench-go bench-e2e deps go-toolchain chromium node-deps fmt vet clean wasm

build: go-toolchain wasm bin/cube

# The browser bundle: UI and engine, no server code (separate main package).
wasm: go-toolchain
	@mkdir -p bin/web
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="$(LDFLAGS)" -o $(WASM) ./cmd/cubeweb
	$(GO) run ./server/web/precompress $(WASM) $(DIST)

# The node embeds the precompressed bundle, so `wasm` must come first.
bin/cube: wasm FORCE
	$(GO) build -trimpath -ldflags="$(LDFLAGS)" -o bin/cube ./cmd/cube

FORCE:

run: build
	./bin/cube run --addr $(ADDR) --data $(DATA)

# A demo grid on loopback: introducer, ten storage nodes, a gateway with the web app.
grid: build
	scripts/grid.sh

test: deps build vet test-go test-wasm test-e2e

vet:
	@test -z "$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files -co --exclude-standard '*.go'); exit 1; }
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./app/... ./wasm/... ./cmd/cubeweb ./shared/...

test-go:
	CUBE_BIN=$(CURDIR)/bin/cube $(GO) test ./...

# Packages that run in the browser are also tested under wasm (with Node.js).
test-wasm:
	PATH="$$($(GO) env GOROOT)/lib/wasm:$$PATH" GOOS=js GOARCH=wasm $(GO) test ./shared/... ./wasm/... ./app/...

test-e2e: deps bin/cube
	npx playwright test

bench: deps build bench-go bench-e2e

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x ./...

bench-e2e:
	CUBE_BENCH=1 npx playwright test --project bench

deps: go-toolchain chromium node-deps

go-toolchain:
	@scripts/ensure-go.sh

chromium:
	@scripts/ensure-chromium.sh

node-deps: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	@scripts/ensure-node.sh
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	@touch $@

fmt:
	gofmt -w $$(git ls-files -co --exclude-standard '*.go')

clean:
	rm -rf bin test-results playwright-report e2e/.tmp
	find $(DIST) -type f ! -name README.md -delete
