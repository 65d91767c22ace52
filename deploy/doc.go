// Package deploy holds the systemd unit, the Kubernetes manifests and the
// Prometheus rules for syncd; its tests check them with the tools
// operators use (systemd-analyze, kubectl, promtool) and against the
// configuration loader.
package deploy

//go:generate go run ./internal/genrule
