# The commands a developer and CI use. Everything they need is installed by
# the targets themselves: Go modules by the go tool, Azurite from npm
# (pinned) by scripts/azurite.sh.

GO       ?= go
BIN      := bin/handler
DIST     := dist/app
PKGS     := ./...
# Tests that need Azurite fail instead of skipping when this is set, so a
# missing emulator can never turn into a quietly green run.
export AZURITE_REQUIRED := 1
# Likewise the browser tests fail instead of skipping when Chromium is
# missing (make test installs it first, with scripts/chromium.sh).
export BROWSER_REQUIRED := 1
# Every build and test compiles with the flags of the shipped binary (static,
# no local paths), so the handler that the end-to-end tests build reuses the
# packages the test build already compiled: the Graph SDK is compiled once.
export CGO_ENABLED := 0
export GOFLAGS := -trimpath

.PHONY: all build stage package azurite azurite-stop chromium test demo serve screenshots render fuzz bench lint imports clean

all: build

# bin/handler is the development build: the shipped handler plus the
# development kit (the synthetic tenant of GRAPH_MODE=demo and the demo tour).
build:
	$(GO) build -tags devkit -o $(BIN) .

# dist/app is what the Functions host expects at the root of the zip:
# host.json, one folder per function, and the handler executable.
stage:
	rm -rf $(DIST)
	mkdir -p $(DIST)
	GOOS=linux GOARCH=amd64 $(GO) build -ldflags "-s -w" -o $(DIST)/handler .
	chmod 0755 $(DIST)/handler
	cp host.json $(DIST)/
	cp -R functions/. $(DIST)/
	@echo "staged $(DIST): $$(ls $(DIST) | tr '\n' ' ')"

package: stage
	rm -f dist/app.zip
	cd $(DIST) && zip -q -r -X ../app.zip .
	@echo "dist/app.zip: $$(du -h dist/app.zip | cut -f1)"

azurite:
	scripts/azurite.sh start

azurite-stop:
	scripts/azurite.sh stop

# Chromium for the browser tests and make screenshots: Debian's package,
# installed once when no chromium is on PATH (or CHROME_PATH names one).
chromium:
	@scripts/chromium.sh >/dev/null

test: azurite chromium imports
	$(GO) vet $(PKGS)
	$(GO) vet -tags devkit .
	$(GO) test -count=1 -timeout 30m $(PKGS)

# The demo's settings: Azurite, the synthetic tenant, mail to the outbox.
DEMO_ENV := AzureWebJobsStorage=UseDevelopmentStorage=true ADMINS=admin@central-it.example.gov \
	GRAPH_MODE=demo MAIL_MODE=outbox CENTRAL_IT_EMAIL=licensing@central-it.example.gov \
	AUTH_ALLOW_ANONYMOUS=false LOG_LEVEL=warn
demo: azurite build
	$(DEMO_ENV) $(BIN) demo

# The demo, then its handler stays up with the web pages at
# http://127.0.0.1:7071 and the harness's local sign-in, until Ctrl-C.
serve: azurite build
	$(DEMO_ENV) $(BIN) demo --serve 127.0.0.1:7071

# PNGs of every page in out/screenshots/ (desktop, and the intake form and
# an agency's overview at a phone's 390 px), taken by headless Chromium
# through the harness; not part of make test.
screenshots: azurite chromium
	SCREENSHOTS=out/screenshots $(GO) test -count=1 -run '^TestScreenshots$$' -timeout 20m .

# PNG pages of a demo agency's report and the enterprise summary in
# out/render/ (installs LibreOffice and poppler-utils when missing; not part
# of make test).
render: demo
	scripts/render.sh

# A minute of coverage-guided fuzzing of the intake decoder (JSON and
# multipart); findings land in handlers/testdata/fuzz.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzIntake -fuzztime 60s -fuzzminimizetime 2s ./handlers/

# Figures are printed, never asserted: these machines are shared and noisy.
# BENCH_USERS sets the tenant sizes of the snapshot benchmark, REPORT_USERS
# the users of the report benchmarks (200 agencies). The spreadsheet
# reader's benchmarks (ReadBomb, ReadLargestAccepted, ReadWorkbook in
# shared/xlsx) print the peak heap and resident set of an import, one and
# three at once. The provisioning benchmark prints, for a cold run, a run
# after a fifth of 100,000 group members changed and a run after no change,
# the changes, write and read requests, time and memory (in memory, and a
# smaller tenant on Azurite). The renewals benchmarks time a reminder run
# over 1,000 ledger lines and 60 subscriptions once everything was sent, and
# a true-up worksheet drawn from a year of daily snapshots of 200 agencies.
# SnapshotMillion reads a million users with 500 ms Graph pages, in one
# invocation and as split work (segments, a sign-in pass at the same time,
# the merge): wall times, their ratio, the longest piece, CPU and peak RSS.
BENCH_USERS ?= 100000,1000000
REPORT_USERS ?= 1000000
bench: azurite
	REPORT_BENCH_USERS=$(REPORT_USERS) PAYROLL_BENCH_USERS=$(REPORT_USERS) \
		$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x -timeout 60m ./shared/xlsx/ ./shared/usage/
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./handlers/ ./shared/graph/ ./shared/skucatalog/
	$(GO) test -run '^$$' -bench StartToReady -benchtime 20x .
	SNAPSHOT_BENCH_USERS=$(BENCH_USERS) $(GO) test -run '^$$' -bench 'Snapshot$$|IntakeLoad' -benchtime 1x -timeout 60m .
	BENCH_USERS=1000000 $(GO) test -run '^$$' -bench SnapshotMillion -benchtime 1x -timeout 120m .
	$(GO) test -run '^$$' -bench Provisioning -benchmem -benchtime 1x -timeout 60m .
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 5x ./shared/renewals/

lint: imports
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
		if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags devkit .

imports:
	scripts/check-imports.sh

clean:
	rm -rf bin dist out
