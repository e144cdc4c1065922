package httpapi

import (
	"net/url"
	"strconv"
)

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func itoa(n int) string { return strconv.Itoa(n) }
