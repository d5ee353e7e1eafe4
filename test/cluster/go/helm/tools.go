//go:build tools

// Keeps helm's command package in this module's dependency graph.
package helm

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
