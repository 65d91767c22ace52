package main

import "github.com/coworkdocs/syncd/internal/config"

// stateNeedsSecrets are the state subcommands that talk to an API.
var stateNeedsSecrets = map[string]bool{"rebuild": true}

// loadStateConfig loads the configuration for `syncd state SUB`. Only the
// subcommands that talk to an API resolve the secrets: ls, show, backup,
// retry and forget read or write the state file alone, so they work from a
// shell on a host whose secrets exist only inside the service (systemd
// LoadCredential, where ${CREDENTIALS_DIRECTORY} is the unit's own).
func loadStateConfig(path, sub string) (*config.Config, error) {
	return config.LoadWith(path, config.LoadOptions{SkipSecrets: !stateNeedsSecrets[sub]})
}
