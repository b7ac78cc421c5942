// Package examples holds the runnable example configurations. The YAML
// files are embedded so that rccserver starts on them when no file is given.
package examples

import "embed"

// FS holds every example YAML file, e.g. station.yaml (the demo users,
// stations, licences, trunk and dial plan).
//
//go:embed *.yaml
var FS embed.FS
