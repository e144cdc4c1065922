//go:build !race

package helper_test

const raceEnabled = false
