# ntp-optimizer — plain Makefile. `make help` lists the targets.

GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
# urfave_cli_no_docs leaves urfave/cli's markdown/man generator out of the
# binary (it costs every start); the man page is written by hand and
# embedded ("ntp-optimizer man").
BUILDTAGS ?= urfave_cli_no_docs
# The one build definition: "make build" and the .deb (scripts/deb.sh runs
# "make build") use it. -buildvcs=auto (go's default) wins over a
# GOFLAGS=-buildvcs=false in the environment, so "ntp-optimizer version" and
# "go version -m" show the commit.
GOBUILDFLAGS = -trimpath -buildvcs=auto -tags '$(BUILDTAGS)' -ldflags '$(LDFLAGS)'
# make install / uninstall: PREFIX for the binary, units, man page and
# completions; DESTDIR a staging root. The configuration goes to
# /etc/ntp-optimizer whatever the PREFIX (the program reads it there).
PREFIX    ?= /usr/local
FUZZTIME  ?= 10s
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

export CGO_ENABLED ?= 0

.PHONY: all help build test test-deps lint fuzz bench soak demo install uninstall deb clean

all: build

help:
	@echo "make build   build bin/ntp-optimizer and bin/ntplab"
	@echo "make test    install test dependencies (chrony, a Debian 13 chroot with chronyd 4.6) and run all tests with -race"
	@echo "make lint    go vet and staticcheck"
	@echo "make fuzz    run each Fuzz target for FUZZTIME (default $(FUZZTIME))"
	@echo "make bench   run the benchmarks; each figure is printed as a ratio to its floor or baseline; then the soak"
	@echo "make soak    180 simulated days of timer runs per timeline (outages, deaths, pools, ...), with the figures"
	@echo "make demo    the whole job on a simulated server lab and a sandboxed chronyd, no internet needed"
	@echo "make install install binary, systemd units, man page, completions and default config (PREFIX=$(PREFIX), DESTDIR)"
	@echo "make uninstall remove what make install installed but the configuration (PREFIX, DESTDIR)"
	@echo "make deb     build dist/ntp-optimizer_<version>_<arch>.deb"

build:
	@mkdir -p $(BIN)
	$(GO) build $(GOBUILDFLAGS) -o $(BIN)/ ./cmd/...

# Tests need chronyd (Debian 12's 4.3 on the host, Debian 13's 4.6 in a
# chroot); test-deps installs them when running as root and says how otherwise.
test: test-deps
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m ./...

test-deps:
	@scripts/test-deps.sh

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

bench: build test-deps
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 30m ./...
	@$(MAKE) --no-print-directory soak

# The soak in full: every timeline over SOAK_DAYS simulated days (a short
# version runs in `make test`).
SOAK_DAYS ?= 180
soak:
	$(GO) test -count=1 -run '^TestSoak$$' -v ./agent -soak.days $(SOAK_DAYS) | grep -E 'soak_test.go:[0-9]+: |^(ok|FAIL|---)'

# The whole job on a simulated server lab and a sandboxed chronyd (root).
demo: build
	@BIN=$(BIN) scripts/demo.sh

install: build
	@BIN='$(BIN)' PREFIX='$(PREFIX)' DESTDIR='$(DESTDIR)' scripts/install.sh

uninstall:
	@PREFIX='$(PREFIX)' DESTDIR='$(DESTDIR)' scripts/install.sh --uninstall

deb:
	@scripts/deb.sh dist

clean:
	rm -rf $(BIN) dist
