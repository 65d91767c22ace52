// Command genrule writes the PrometheusRule of the prometheus-operator
// component from the Prometheus rules file; run by go generate ./deploy.
package main

import (
	"fmt"
	"os"

	"github.com/coworkdocs/syncd/deploy"
)

func main() {
	rules, err := os.ReadFile(deploy.RulesPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "genrule:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(deploy.PrometheusRulePath, deploy.PrometheusRule(rules), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "genrule:", err)
		os.Exit(1)
	}
}
