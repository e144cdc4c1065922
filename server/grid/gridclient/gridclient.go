// Package gridclient is how a local program (the `cube` CLI) reaches a grid:
// through a node it shares a machine with (its data directory), or through
// an introducer's NURL. It stores files (through a helper when there is one,
// else directly) and fetches them, with the same formats the node uses.
package gridclient

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/server/grid/gbs"
	"github.com/communitycube/cube/server/grid/helper"
	"github.com/communitycube/cube/server/grid/introducer"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/server/grid/upload"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/nurl"
)

// Grid is access to a grid: its storage servers, maybe a helper, the
// encoding to use, and this client's secrets.
type Grid struct {
	Broker   broker.Broker
	Helper   *nurl.NURL // nil: upload directly
	Encoding upload.Params
	// Convergence is the secret mixed into convergent keys; LeaseSecret
	// derives the leases of uploads.
	Convergence []byte
	LeaseSecret broker.LeaseSecret
	close       func()
}

// Close releases connections.
func (g *Grid) Close() {
	if g.close != nil {
		g.close()
	}
}

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NodeFiles names what OpenNode reads in a node's directory.
type NodeFiles struct {
	NURLs       string // private/nurls.json, written by the running node
	Convergence string // private/convergence
	LeaseSecret string // private/lease-secret
}

// OpenNode reaches the grid the way the running node in dir does: it asks
// the node (over its control NURL) for the servers it knows and its helper,
// and uses the node's own secrets, so its uploads are the node's.
func OpenNode(ctx context.Context, dir string) (*Grid, error) {
	f := NodeFiles{
		NURLs:       filepath.Join(dir, "private", "nurls.json"),
		Convergence: filepath.Join(dir, "private", "convergence"),
		LeaseSecret: filepath.Join(dir, "private", "lease-secret"),
	}
	var nurls struct{ Control string }
	b, err := os.ReadFile(f.NURLs)
	if err != nil {
		return nil, fmt.Errorf("no running node in %s: start it with `cube run --data %s` (%v)", dir, dir, err)
	}
	if err := json.Unmarshal(b, &nurls); err != nil || nurls.Control == "" {
		return nil, fmt.Errorf("%s: no control address", f.NURLs)
	}
	control, err := nurl.Parse(nurls.Control)
	if err != nil {
		return nil, err
	}
	var list struct {
		Servers []struct {
			ID, Nickname, NURL string
			PermutationSeed    string `json:"permutation_seed"`
			AvailableSpace     int64  `json:"available_space"`
		}
		Helper   string
		Encoding struct {
			K, Happy, N int
			SegmentSize int64 `json:"segment_size"`
		}
	}
	if err := Control(ctx, control, "servers", &list); err != nil {
		return nil, fmt.Errorf("asking the node in %s for its servers: %w", dir, err)
	}
	g := &Grid{Encoding: upload.Params{K: list.Encoding.K, Happy: list.Encoding.Happy, N: list.Encoding.N, MaxSegmentSize: list.Encoding.SegmentSize}}
	if g.Convergence, err = readSecret(f.Convergence); err != nil {
		return nil, err
	}
	ls, err := readSecret(f.LeaseSecret)
	if err != nil {
		return nil, err
	}
	g.LeaseSecret = broker.LeaseSecret(ls)
	var infos []broker.Info
	for _, s := range list.Servers {
		u, err := nurl.Parse(s.NURL)
		if err != nil {
			continue
		}
		seed, err := b32.DecodeString(s.PermutationSeed)
		if err != nil {
			continue
		}
		infos = append(infos, broker.Info{ID: s.ID, Nickname: s.Nickname, PermutationSeed: seed, NURL: u, AvailableSpace: s.AvailableSpace})
	}
	if len(infos) == 0 {
		return nil, fmt.Errorf("the node in %s knows no storage server yet: check its introducers (`cube status --node %s`)", dir, dir)
	}
	st, err := broker.NewStatic(infos, nil)
	if err != nil {
		return nil, err
	}
	g.Broker, g.close = st, st.Close
	if list.Helper != "" {
		h, err := nurl.Parse(list.Helper)
		if err == nil {
			g.Helper = &h
		}
	}
	return g, nil
}

// OpenIntroducer learns the grid from an introducer and uses it directly
// (no helper). Secrets come from the client's config directory, created on
// first use, so that its leases can be renewed later.
func OpenIntroducer(ctx context.Context, introducerNURL, configDir string) (*Grid, error) {
	u, err := nurl.Parse(introducerNURL)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(configDir, 0o700); err != nil {
		return nil, err
	}
	g := &Grid{Encoding: upload.DefaultParams}
	if g.Convergence, err = readOrCreateSecret(filepath.Join(configDir, "convergence")); err != nil {
		return nil, err
	}
	ls, err := readOrCreateSecret(filepath.Join(configDir, "lease-secret"))
	if err != nil {
		return nil, err
	}
	g.LeaseSecret = broker.LeaseSecret(ls)
	sub, err := introducer.NewSubscriber(introducer.SubscriberConfig{Introducers: []nurl.NURL{u}})
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	// Wait for the first answer: it carries the whole table.
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		ch := sub.Changed()
		if anns := sub.Announcements(introducer.ServiceStorage); len(anns) > 0 {
			// Give the other announcements of the same answer a moment.
			time.Sleep(200 * time.Millisecond)
			break
		}
		select {
		case <-ch:
		case <-deadline.C:
			return nil, errors.New("the introducer announced no storage server within 30 s")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var infos []broker.Info
	for _, a := range sub.Announcements(introducer.ServiceStorage) {
		seed, err := b32.DecodeString(a.Storage.PermutationSeed)
		if err != nil {
			continue
		}
		space := int64(a.Storage.AvailableSpace)
		if a.Storage.ReadOnly {
			space = 0
		}
		infos = append(infos, broker.Info{ID: a.NodeID, Nickname: a.Nickname, PermutationSeed: seed, NURL: a.NURL, AvailableSpace: space})
	}
	st, err := broker.NewStatic(infos, nil)
	if err != nil {
		return nil, err
	}
	g.Broker, g.close = st, st.Close
	return g, nil
}

// Control calls a node's control endpoint (what) and decodes the JSON answer.
func Control(ctx context.Context, control nurl.NURL, what string, out any) error {
	tlsConf, err := gbs.PinnedTLSConfig(control.SPKIHash)
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf}, Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+control.Address()+"/control/v1/"+what, nil)
	if err != nil {
		return err
	}
	req.Header.Set(wire.HeaderAuthorization, wire.AuthorizationValue(control.Swissnum))
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("the node does not answer (is it running?): %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the node answered %s", resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out)
}

func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return b32.DecodeString(strings.TrimSpace(string(b)))
}

func readOrCreateSecret(path string) ([]byte, error) {
	if s, err := readSecret(path); err == nil {
		return s, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b32.EncodeToString(b[:])+"\n"), 0o600); err != nil {
		return nil, err
	}
	return b[:], os.Rename(tmp, path)
}

// Put stores size bytes read from r and returns the read cap. The key is
// convergent (Tahoe-style, with g.Convergence) unless randomKey is set.
// Through a helper, only ciphertext leaves this process, resumably; without
// one, the shares go straight to the storage servers.
func (g *Grid) Put(ctx context.Context, r io.ReaderAt, size int64, randomKey bool, progress func(sent, total int64)) (cap.Cap, error) {
	params := upload.ParamsFor(len(g.Broker.Servers()), g.Encoding)
	if size <= chk.LiteralThreshold || g.Helper == nil {
		conv := g.Convergence
		if randomKey {
			conv = nil
		}
		c, _, err := upload.UploadPlaintext(ctx, g.Broker, r, size, params, conv, &upload.Options{LeaseSecret: g.LeaseSecret})
		return c, err
	}
	var key chk.Key
	var err error
	if randomKey {
		key, err = chk.RandomKey()
	} else {
		key, err = chk.ConvergentKey(io.NewSectionReader(r, 0, size), size, g.Convergence, params.Chk())
	}
	if err != nil {
		return nil, err
	}
	ct := EncryptingReaderAt{R: r, Key: key}
	hc, err := helper.NewClient(*g.Helper, nil)
	if err != nil {
		return nil, err
	}
	defer hc.Close()
	si := wire.StorageIndex(chk.StorageIndex(key))
	// No crypttext hash: Upload computes it while sending and gives it to
	// the helper with the finish, and checks the result against it.
	spec := helper.Spec{Size: size, Params: helper.Params(params)}
	placed, err := hc.Upload(ctx, si, ct, spec, func(p helper.Progress) {
		if progress != nil {
			progress(p.Held+p.Sent, p.Size)
		}
	})
	if err != nil {
		return nil, err
	}
	return placed.ReadCap(key), nil
}

// EncryptingReaderAt reads plaintext from R and returns it AES-CTR encrypted
// with Key, at any offset: a resumed upload restarts anywhere in the file.
type EncryptingReaderAt struct {
	R   io.ReaderAt
	Key chk.Key
}

// ReadAt implements io.ReaderAt.
func (e EncryptingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := e.R.ReadAt(p, off)
	chk.NewCTR(e.Key, off).XORKeyStream(p[:n], p[:n])
	return n, err
}
