// Package e2e holds tests that drive the built syncd binary.
package e2e
