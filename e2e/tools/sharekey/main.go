// Command sharekey lets e2e/shares.spec.ts check what revoking a share
// does to the keys, which the browser keeps out of reach of the test:
//
//	go run ./e2e/tools/sharekey save --server URL --user bob --password-file F --name FILE --out KEYS
//
// opens, as the recipient, the boxes of what is shared with them, keeps
// the keys in KEYS (hex, by node id) and checks each shared folder's key
// opens its child FILE (the key is the real one), and
//
//	go run ./e2e/tools/sharekey check --server URL --user alice --password-file F --path /FOLDER/FILE --keys KEYS
//
// as the owner, finds the file and tries to reach its current version
// with the saved keys: unwrapping the file's key (a shared folder's key
// opens its children's) or opening the version directly (a shared file's
// key). It prints {"opened": false} when no saved key opens it.
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/drive"
	"github.com/communitycube/cube/shared/vault"
)

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: sharekey save|check [flags]")
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	server := fs.String("server", "", "node URL")
	user := fs.String("user", "", "user name")
	pwFile := fs.String("password-file", "", "file holding the password")
	name := fs.String("name", "", "save: a file in the shared folder")
	out := fs.String("out", "", "save: where to keep the keys")
	keysFile := fs.String("keys", "", "check: the saved keys")
	p := fs.String("path", "", "check: the file, from the owner's root")
	fs.Parse(os.Args[2:])
	pw, err := os.ReadFile(*pwFile)
	if err != nil {
		log.Fatal(err)
	}
	password := strings.TrimSuffix(string(pw), "\n")
	ctx := context.Background()
	jar, _ := cookiejar.New(nil)
	c := &api.Client{Base: strings.TrimRight(*server, "/"), Transport: api.HTTPTransport{Client: &http.Client{Jar: jar}}}
	if _, err := c.Login(ctx, *user, password); err != nil {
		log.Fatal(err)
	}
	switch os.Args[1] {
	case "save":
		save(ctx, c, password, *name, *out)
	case "check":
		check(ctx, c, password, *p, *keysFile)
	default:
		log.Fatalf("unknown command %q", os.Args[1])
	}
}

func save(ctx context.Context, c *api.Client, password, name, out string) {
	var keys api.Keys
	if err := c.Do(ctx, http.MethodGet, api.Prefix+"keys", nil, &keys); err != nil {
		log.Fatal(err)
	}
	b, err := vault.ParseBundle(keys.Bundle)
	if err != nil {
		log.Fatal(err)
	}
	u, err := b.Unlock(password)
	if err != nil {
		log.Fatal(err)
	}
	var shared []api.SharedItem
	if err := c.Do(ctx, http.MethodGet, api.Prefix+"shared", nil, &shared); err != nil {
		log.Fatal(err)
	}
	saved := map[string]string{}
	found := false
	for _, s := range shared {
		plain, err := u.OpenSealed(s.Box, vault.ShareBoxContext(s.Share, s.Node.ID))
		if err != nil {
			log.Fatal(err)
		}
		var k vault.Key
		copy(k[:], plain)
		saved[s.Node.ID] = hex.EncodeToString(plain)
		if s.Node.Kind != api.KindFolder {
			continue
		}
		var kids api.Children
		if err := c.Do(ctx, http.MethodGet, api.Prefix+"nodes/"+s.Node.ID+"/children", nil, &kids); err != nil {
			log.Fatal(err)
		}
		for _, n := range kids.Items {
			m, err := vault.OpenMeta(k.MetaKey(), vault.MetaSlot(n.ID), n.Meta)
			if err != nil {
				log.Fatal(err)
			}
			fm, err := vault.UnmarshalFileMeta(m)
			if err != nil || fm.Name != name {
				continue
			}
			if _, err := vault.Unwrap(k, n.WrappedKey, vault.NodeKeySlot(n.ID)); err != nil {
				log.Fatal(err)
			}
			found = true
		}
	}
	if !found {
		log.Fatalf("no shared folder holds %q", name)
	}
	data, _ := json.Marshal(saved)
	if err := os.WriteFile(out, data, 0o600); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("{\"saved\": %d}\n", len(saved))
}

func check(ctx context.Context, c *api.Client, password, path, keysFile string) {
	d, _, err := drive.Unlock(ctx, c, password)
	if err != nil {
		log.Fatal(err)
	}
	it, err := d.Resolve(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	if it.Node.Current == nil {
		log.Fatalf("%s has no version", path)
	}
	data, err := os.ReadFile(keysFile)
	if err != nil {
		log.Fatal(err)
	}
	var saved map[string]string
	if err := json.Unmarshal(data, &saved); err != nil {
		log.Fatal(err)
	}
	opened := false
	v := it.Node.Current
	for _, h := range saved {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != vault.KeySize {
			log.Fatal("bad saved key")
		}
		var k vault.Key
		copy(k[:], b)
		// A shared file's own key.
		if _, err := vault.OpenMeta(k.MetaKey(), vault.VersionSlot(it.ID, v.ID), v.Meta); err == nil {
			opened = true
		}
		// A shared folder's key, unwrapping the file's.
		if fk, err := vault.Unwrap(k, it.Node.WrappedKey, vault.NodeKeySlot(it.ID)); err == nil {
			if _, err := vault.OpenMeta(fk.MetaKey(), vault.VersionSlot(it.ID, v.ID), v.Meta); err == nil {
				opened = true
			}
		}
	}
	fmt.Printf("{\"opened\": %v, \"version\": %q}\n", opened, v.ID)
}
