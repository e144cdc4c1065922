package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Known answers from Tahoe-LAFS's own CHK vectors (the full set of 120 is
// checked by shared/chk's TestTahoeVectors): plaintext is the seed repeated
// to the length, the convergence secret is "aaaaaaaaaaaaaaaa".
var capVectors = []struct {
	seed   string
	length int
	k, n   int
	want   string
}{
	{"YQ==", 56, 3, 10, "URI:CHK:hah7mxwfpqemm7icdh3hwsa5fa:6epvxt2uxh42obpnfn4wkrplqml7voh7aqpnqnapu7ffcyn2hk3q:3:10:56"},
	{"YQ==", 1024, 3, 10, "URI:CHK:dx7tvyr2fc4u7lxjc6kehq2svq:tiy4qh2g6lqejxcaym3rr7ymkdkinn4qised6kgxloj7sptsqu4a:3:10:1024"},
	{"uqWglk0zIPvAxqkiFARTyFE+okq4/QV3A0gEqWckgJY=", 2097151, 1, 1, "URI:CHK:6kccrgbtmmprqe4jcfi7vf6v74:wpivl2evi25yfl4tzbbj6vp6nzk4vxl6lbongkac7vl3escvopsa:1:1:2097151"},
	{"YQ==", 56, 1, 1, "URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56"},
}

func captureStdout(t *testing.T, f func() error) (string, error) {
	t.Helper()
	old := os.Stdout
	r, w, _ := os.Pipe()
	os.Stdout = w
	err := f()
	w.Close()
	os.Stdout = old
	out, _ := io.ReadAll(r)
	return string(out), err
}

func TestCapMatchesTahoe(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("aaaaaaaaaaaaaaaa\n"), 0o600)
	for i, v := range capVectors {
		seed, _ := base64.StdEncoding.DecodeString(v.seed)
		data := bytes.Repeat(seed, v.length/len(seed)+1)[:v.length]
		file := filepath.Join(dir, "f"+strconv.Itoa(i))
		os.WriteFile(file, data, 0o600)
		out, err := captureStdout(t, func() error {
			return dispatch(context.Background(), []string{"cap", "--convergence-secret-file", secret,
				"--k", strconv.Itoa(v.k), "--n", strconv.Itoa(v.n), "--segment-size", "131072", file})
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(out); got != v.want {
			t.Errorf("vector %d: got %s, want %s", i, got, v.want)
		}
	}
}

func TestCapErrors(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("s"), 0o600)
	file := filepath.Join(dir, "f")
	os.WriteFile(file, []byte(strings.Repeat("x", 100)), 0o600)
	for _, args := range [][]string{
		{"cap", "--convergence-secret-file", secret, "--k", "4", "--n", "3", file},
		{"cap", "--convergence-secret-file", secret, "--n", "300", file},
		{"cap", "--convergence-secret-file", secret, filepath.Join(dir, "missing")},
		{"cap", "--convergence-secret-file", secret, dir},
		{"cap", "--node", filepath.Join(dir, "no-node"), file},
	} {
		if err := dispatch(context.Background(), args); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
