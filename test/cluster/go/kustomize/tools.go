//go:build tools

// Keeps kustomize's command package in this module's dependency graph.
package kustomize

import (
	_ "sigs.k8s.io/kustomize/kustomize/v5"
)
