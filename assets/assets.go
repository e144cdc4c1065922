// Package assets holds the static files the node serves under /web/: icons,
// the stylesheet, the upload worker and its page half. They are embedded in
// the cube binary, so a node needs nothing from anywhere else.
package assets

import "embed"

// FS is the tree of static files; paths are relative (e.g. "cube.css").
//
//go:embed *.css *.svg *.png *.js
var FS embed.FS
