package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ConfigFile is the node's configuration inside its data directory, written
// by `cube create-node` and `cube create-introducer` and read by `cube run`.
// A directory without one is an all-in-one node with DefaultConfig.
const ConfigFile = "node.json"

// Config of a node: which roles it runs and where it listens. See docs/grid.md.
type NodeConfig struct {
	Nickname string `json:"nickname,omitempty"`
	// Listen is the TLS listener of the grid roles (storage, introducer,
	// helper), host:port. An all-in-one node listens on loopback only, on a
	// port the system picks.
	Listen string `json:"listen,omitempty"`
	// Advertise is the host:port other nodes use to reach Listen, when it
	// differs (e.g. Listen 0.0.0.0:3457, Advertise 192.168.1.20:3457).
	Advertise string `json:"advertise,omitempty"`

	Web        *WebConfig        `json:"web,omitempty"`
	Storage    *StorageConfig    `json:"storage,omitempty"`
	Helper     *HelperConfig     `json:"helper,omitempty"`
	Introducer *IntroducerConfig `json:"introducer,omitempty"`

	// Introducers are the NURLs of the introducers this node announces its
	// services to and learns the grid from.
	Introducers []string `json:"introducers,omitempty"`
	// Encoding is what this node's uploads use.
	Encoding Encoding `json:"encoding"`
}

// WebConfig turns on the web app and JSON API.
type WebConfig struct {
	Addr       string `json:"addr"`
	TLSCert    string `json:"tls_cert,omitempty"`
	TLSKey     string `json:"tls_key,omitempty"`
	ACMEDomain string `json:"acme_domain,omitempty"`
	ACMEEmail  string `json:"acme_email,omitempty"`
}

// StorageConfig turns on the storage server.
type StorageConfig struct {
	// ReservedSpace is kept free on the disk, e.g. "1GiB" or "500MB".
	ReservedSpace string `json:"reserved_space,omitempty"`
	ReadOnly      bool   `json:"read_only,omitempty"`
	// Expire configures the lease-expiry crawler; nil keeps shares forever.
	Expire *ExpireConfig `json:"expire,omitempty"`
}

// ExpireConfig says when shares whose leases have run out are deleted.
type ExpireConfig struct {
	// Mode is "age" (a lease lasts its own duration, or Override if set) or
	// "cutoff-date" (leases renewed before CutoffDate are expired).
	Mode       string `json:"mode"`
	Override   string `json:"override_lease_duration,omitempty"` // e.g. "720h"
	CutoffDate string `json:"cutoff_date,omitempty"`             // 2006-01-02
	// Interval between crawls, e.g. "1h".
	Interval string `json:"interval,omitempty"`
}

// HelperConfig turns on the helper.
type HelperConfig struct {
	// MaxConcurrent bounds simultaneous upload sessions (0: the helper's default).
	MaxConcurrent int `json:"max_concurrent,omitempty"`
}

// IntroducerConfig turns on the introducer.
type IntroducerConfig struct{}

// Encoding parameters of uploads: any K of N shares rebuild a file, and an
// upload succeeds only if its shares reach Happy distinct servers.
type Encoding struct {
	K           int   `json:"k"`
	Happy       int   `json:"happy"`
	N           int   `json:"n"`
	SegmentSize int64 `json:"segment_size"`
}

// DefaultEncoding is 3-of-10 with happiness 7, as in Tahoe-LAFS, and 1 MiB
// segments (Tahoe uses 128 KiB; see upload.DefaultSegmentSize).
var DefaultEncoding = Encoding{K: 3, Happy: 7, N: 10, SegmentSize: 1 << 20}

// DefaultConfig is an all-in-one node: every role, the web app on
// 127.0.0.1:8080, and the grid on loopback only.
func DefaultConfig() NodeConfig {
	host, _ := os.Hostname()
	return NodeConfig{
		Nickname:   host,
		Listen:     "127.0.0.1:0",
		Web:        &WebConfig{Addr: "127.0.0.1:8080"},
		Storage:    &StorageConfig{},
		Helper:     &HelperConfig{},
		Introducer: &IntroducerConfig{},
		Encoding:   DefaultEncoding,
	}
}

// LoadConfig reads DIR/node.json; without one it returns DefaultConfig.
func LoadConfig(dir string) (NodeConfig, error) {
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultConfig(), nil
	}
	if err != nil {
		return NodeConfig{}, err
	}
	var c NodeConfig
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return NodeConfig{}, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if c.Encoding == (Encoding{}) {
		c.Encoding = DefaultEncoding
	}
	if err := c.Validate(); err != nil {
		return NodeConfig{}, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	return c, nil
}

// Validate checks the configuration and says what is wrong in a sentence.
func (c NodeConfig) Validate() error {
	e := c.Encoding
	if e.K < 1 || e.N > 256 || e.K > e.N || e.Happy < e.K || e.Happy > e.N {
		return fmt.Errorf("encoding: need 1 <= k <= happy <= n <= 256 (got k=%d happy=%d n=%d)", e.K, e.Happy, e.N)
	}
	if e.SegmentSize < 1 || e.SegmentSize > 128<<20 {
		return fmt.Errorf("encoding: segment_size must be 1 byte to 128 MiB (got %d)", e.SegmentSize)
	}
	needListen := c.Storage != nil || c.Helper != nil || c.Introducer != nil
	if needListen {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return fmt.Errorf("listen: %q is not host:port (storage, helper and introducer need it)", c.Listen)
		}
	}
	if c.Advertise != "" {
		if _, _, err := net.SplitHostPort(c.Advertise); err != nil {
			return fmt.Errorf("advertise: %q is not host:port", c.Advertise)
		}
	}
	if c.Storage != nil {
		if _, err := ParseSize(c.Storage.ReservedSpace); err != nil {
			return fmt.Errorf("storage.reserved_space: %w", err)
		}
		if x := c.Storage.Expire; x != nil {
			switch x.Mode {
			case "age", "cutoff-date":
			default:
				return fmt.Errorf("storage.expire.mode must be \"age\" or \"cutoff-date\" (got %q)", x.Mode)
			}
			if x.Override != "" {
				if _, err := time.ParseDuration(x.Override); err != nil {
					return fmt.Errorf("storage.expire.override_lease_duration: %w", err)
				}
			}
			if x.Mode == "cutoff-date" {
				if _, err := time.Parse("2006-01-02", x.CutoffDate); err != nil {
					return fmt.Errorf("storage.expire.cutoff_date: want YYYY-MM-DD: %w", err)
				}
			}
			if x.Interval != "" {
				if _, err := time.ParseDuration(x.Interval); err != nil {
					return fmt.Errorf("storage.expire.interval: %w", err)
				}
			}
		}
	}
	if c.Web != nil {
		if _, _, err := net.SplitHostPort(c.Web.Addr); err != nil && c.Web.ACMEDomain == "" {
			return fmt.Errorf("web.addr: %q is not host:port", c.Web.Addr)
		}
		if (c.Web.TLSCert == "") != (c.Web.TLSKey == "") {
			return errors.New("web: tls_cert and tls_key (--tls-cert, --tls-key) go together")
		}
	}
	for _, n := range c.Introducers {
		if !strings.HasPrefix(n, "pb://") {
			return fmt.Errorf("introducers: %q is not a NURL (pb://...)", n)
		}
	}
	return nil
}

// SaveConfig writes DIR/node.json atomically.
func SaveConfig(dir string, c NodeConfig) error {
	if err := c.Validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ConfigFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, ConfigFile))
}

// ParseSize reads sizes like "0", "1500", "10MB", "1GiB", "2.5G" (decimal
// units are powers of 1000, binary ones of 1024; a bare "K/M/G/T" is decimal).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') && s[i-1] != '.' {
		i--
	}
	num, unit := s[:i], strings.ToUpper(strings.TrimSpace(s[i:]))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size (e.g. 500MB, 1GiB)", s)
	}
	mult := map[string]float64{"": 1, "B": 1,
		"K": 1e3, "KB": 1e3, "M": 1e6, "MB": 1e6, "G": 1e9, "GB": 1e9, "T": 1e12, "TB": 1e12,
		"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q", s, unit)
	}
	return int64(v * mult), nil
}
