package main

import (
	"io"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/coworkdocs/syncd/internal/config"
)

// newLogger builds the process logger from log.level and log.format.
// JSON for journald/Kubernetes log shippers, console for people.
func newLogger(c config.Log, w io.Writer) *zap.Logger {
	level := zapcore.InfoLevel
	_ = level.Set(c.Level)
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "ts"
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if c.Format == "console" {
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	} else {
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level)
	return zap.New(core)
}
