# syncd container image: a static binary on distroless, run as nonroot.
#   make image VERSION=v1.2.3
# or
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t ghcr.io/coworkdocs/syncd:v1.2.3 .
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 ... (same args).

FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X main.Version=$VERSION -X main.Commit=$COMMIT -X main.Date=$DATE" \
      -o /out/syncd ./cmd/syncd

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/syncd /usr/local/bin/syncd
USER nonroot:nonroot
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/syncd"]
CMD ["run", "-config", "/etc/syncd/syncd.yaml"]
