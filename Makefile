# Build and release syncd. Needs Go, git, tar and sha256sum.
#
#   make build                  ./bin/syncd, static (CGO_ENABLED=0)
#   make release VERSION=v1.2.3 dist/: linux amd64 and arm64 archives + SHA256SUMS
#   make image VERSION=v1.2.3   the container image (needs a Docker engine)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
DIST    ?= dist
IMAGE   ?= ghcr.io/coworkdocs/syncd
PLATFORMS ?= linux/amd64 linux/arm64

GO      ?= go
PKG      = github.com/coworkdocs/syncd/cmd/syncd
LDFLAGS  = -s -w -X main.Version=$(VERSION) -X main.Commit=$(COMMIT) -X main.Date=$(DATE)
GOBUILD  = CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)'

.PHONY: build release image test clean

build:
	$(GOBUILD) -o bin/syncd ./cmd/syncd

# One archive per platform, each holding the binary, the README, the
# example config and the systemd units; SHA256SUMS covers the archives.
release:
	rm -rf $(DIST) && mkdir -p $(DIST)
	set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; name=syncd_$(VERSION)_$${os}_$${arch}; \
		mkdir -p $(DIST)/$$name; \
		GOOS=$$os GOARCH=$$arch $(GOBUILD) -o $(DIST)/$$name/syncd ./cmd/syncd; \
		cp README.md configs/syncd.example.yaml deploy/systemd/syncd.service 'deploy/systemd/syncd-backfill@.service' $(DIST)/$$name/; \
		tar -C $(DIST) --owner=0 --group=0 --numeric-owner -czf $(DIST)/$$name.tar.gz $$name; \
		rm -rf $(DIST)/$$name; \
	done
	cd $(DIST) && sha256sum *.tar.gz > SHA256SUMS

image:
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) --build-arg DATE=$(DATE) -t $(IMAGE):$(VERSION) .

test:
	$(GO) vet ./... && $(GO) test -race ./...

clean:
	rm -rf bin $(DIST)
