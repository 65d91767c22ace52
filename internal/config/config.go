// Package config loads and validates syncd's YAML configuration: ${VAR}
// expansion from the environment, strict keys, *_file secrets, defaults,
// and validation errors that name the key and the file.
package config

import (
	"text/template"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/legal"
	"github.com/coworkdocs/syncd/internal/nexudus"
	syncer "github.com/coworkdocs/syncd/internal/sync"
	"time"
)

// Config is the whole configuration file. Field tags are the YAML keys of
// configs/syncd.example.yaml; defaults are applied by Load.
type Config struct {
	Nexudus  Nexudus  `yaml:"nexudus"`
	CoreData CoreData `yaml:"coredata"`
	State    State    `yaml:"state"`
	Sync     Sync     `yaml:"sync"`
	Audit    Audit    `yaml:"audit"`
	Legal    Legal    `yaml:"legal"`
	HTTP     HTTP     `yaml:"http"`
	Log      Log      `yaml:"log"`

	// Path is the file the configuration was read from.
	Path string `yaml:"-"`
	// SecretsSkipped is set when the file was loaded with
	// LoadOptions.SkipSecrets: the secret fields are empty, and nothing
	// that talks to an API may be built from this Config.
	SecretsSkipped bool `yaml:"-"`
}

type Nexudus struct {
	BaseURL           string        `yaml:"base_url"`
	Auth              string        `yaml:"auth"`
	Username          string        `yaml:"username"`
	UsernameFile      string        `yaml:"username_file"`
	Password          string        `yaml:"password"`
	PasswordFile      string        `yaml:"password_file"`
	Businesses        []int64       `yaml:"businesses"`
	PageSize          int           `yaml:"page_size"`
	RequestsPerMinute int           `yaml:"requests_per_minute"`
	RequestsPerHour   int           `yaml:"requests_per_hour"`
	FilePath          string        `yaml:"file_path"`
	SignedFilePath    string        `yaml:"signed_file_path"`
	MaxFileBytes      int64         `yaml:"max_file_bytes"`
	Timeout           time.Duration `yaml:"timeout"` // stall bound: fails after this long with no progress, never for being slow
	MaxRetries        int           `yaml:"max_retries"`
}

type CoreData struct {
	BaseURL       string           `yaml:"base_url"`
	APIUser       string           `yaml:"api_user"`
	APIUserFile   string           `yaml:"api_user_file"`
	APIKey        string           `yaml:"api_key"`
	APIKeyFile    string           `yaml:"api_key_file"`
	DefaultParent string           `yaml:"default_parent"`
	Parents       map[int64]string `yaml:"parents"`
	Dynatype      string           `yaml:"dynatype"`
	Title         string           `yaml:"title"`
	// TitleTemplate is Title parsed, once, by the validation.
	TitleTemplate *template.Template `yaml:"-"`
	Tags          []string           `yaml:"tags"`
	Timeout       time.Duration      `yaml:"timeout"` // stall bound, as nexudus.timeout; API calls and storage uploads alike
	MaxRetries    int                `yaml:"max_retries"`
}

type State struct {
	Path string `yaml:"path"`
}

type Sync struct {
	Schedule        string        `yaml:"schedule"`
	Lookback        time.Duration `yaml:"lookback"`
	Concurrency     int           `yaml:"concurrency"`
	MaxAttempts     int           `yaml:"max_attempts"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	BackfillWindow  time.Duration `yaml:"backfill_window"`
	TempDir         string        `yaml:"temp_dir"`
	// StuckAfter: a poll running longer than this, or no poll starting
	// for this long, fails /healthz and stops the systemd watchdog pings.
	// 0: max(10 × the schedule's interval, 1h).
	StuckAfter time.Duration `yaml:"stuck_after"`
}

// Audit is the daemon's audit of CoreData (docs/design.md#the-audit).
type Audit struct {
	// Schedule is a cron spec; "" turns the audit off.
	Schedule string `yaml:"schedule"`
	// Repair mirrors again a deleted file and puts a removed tag back.
	Repair bool `yaml:"repair"`
	// RestoreDrift uploads the signed bytes again over a person's version.
	RestoreDrift bool `yaml:"restore_drift"`
}

// Legal is terms acceptances (docs/design.md#guarantee-9).
type Legal struct {
	// Enabled mirrors the acceptances and the texts accepted.
	Enabled bool `yaml:"enabled"`
	// TextTitle and RegisterTitle are Go templates (internal/legal).
	TextTitle     string `yaml:"text_title"`
	RegisterTitle string `yaml:"register_title"`
	// Titles are both templates, parsed by Validate.
	Titles *legal.Titles `yaml:"-"`
}

type HTTP struct {
	Listen string `yaml:"listen"`
}

type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// DefaultPath is where syncd looks when neither -config nor $SYNCD_CONFIG
// names a file.
const DefaultPath = "/etc/syncd/syncd.yaml"

// DefaultTitle is the CoreData title template when coredata.title is unset.
const DefaultTitle = syncer.DefaultTitle

// Defaults returns a Config holding every default of configs/syncd.example.yaml.
func Defaults() Config {
	return Config{
		Nexudus: Nexudus{
			BaseURL:           "https://spaces.nexudus.com",
			Auth:              "oauth2",
			PageSize:          nexudus.DefaultPageSize,
			RequestsPerMinute: nexudus.DefaultRequestsPerMinute,
			RequestsPerHour:   nexudus.DefaultRequestsPerHour,
			FilePath:          nexudus.DefaultFilePath,
			SignedFilePath:    nexudus.DefaultSignedFilePath,
			MaxFileBytes:      nexudus.DefaultMaxFileBytes,
			Timeout:           2 * time.Minute,
			MaxRetries:        nexudus.DefaultMaxRetries,
		},
		CoreData: CoreData{
			Title:      DefaultTitle,
			Tags:       []string{"nexudus"},
			Timeout:    5 * time.Minute,
			MaxRetries: coredata.DefaultMaxRetries,
		},
		State: State{Path: "/var/lib/syncd/state.db"},
		Sync: Sync{
			Schedule:        "@every 5m",
			Lookback:        syncer.DefaultLookback,
			Concurrency:     syncer.DefaultConcurrency,
			MaxAttempts:     syncer.DefaultMaxAttempts,
			ShutdownTimeout: 30 * time.Second,
			BackfillWindow:  7 * 24 * time.Hour,
		},
		Audit: Audit{Schedule: "@daily", Repair: true},
		Legal: Legal{TextTitle: legal.DefaultTextTitle, RegisterTitle: legal.DefaultRegisterTitle},
		HTTP:  HTTP{Listen: "127.0.0.1:9464"},
		Log:   Log{Level: "info", Format: "json"},
	}
}

// ParentFor returns the CoreData parent for a Nexudus location, and false
// when the location has neither its own parent nor a default.
func (c *CoreData) ParentFor(business int64) (string, bool) {
	if p, ok := c.Parents[business]; ok && p != "" {
		return p, true
	}
	if c.DefaultParent != "" {
		return c.DefaultParent, true
	}
	return "", false
}
