// Package units formats quantities for people, the same way in the browser,
// the CLI and the node's messages.
package units

import "fmt"

// Bytes writes a size in binary units ("512 B", "1.5 MiB"); a negative
// size, which callers use for "not known", is "unknown".
func Bytes(n int64) string {
	if n < 0 {
		return "unknown"
	}
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
