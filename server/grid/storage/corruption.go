package storage

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/communitycube/cube/server/grid/storage/container"
	"github.com/communitycube/cube/server/grid/storage/wire"
)

// CorruptionReport is a client's claim that a share it read was corrupt.
type CorruptionReport struct {
	Time         time.Time
	Kind         string // "immutable" or "mutable"
	StorageIndex wire.StorageIndex
	ShareNumber  uint16
	Reason       string
}

func (s *Server) corruptHandler(kind container.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rq *request) error {
		// Accept reports for any existing share of the right kind, even one
		// we cannot parse (that is exactly when a report is most useful).
		c, err := s.backend.Open(rq.si, rq.shnum)
		if err != nil {
			return err
		}
		k, err := container.DetectFileKind(c)
		c.Close()
		if err != nil {
			return err
		}
		if k != kind && k != container.KindUnknown {
			return errorf(http.StatusNotFound, "no %s share %d", kind, rq.shnum)
		}
		body, err := readCBOR(w, r, wire.MaxCorruptRequestSize)
		if err != nil {
			return err
		}
		adv, err := wire.DecodeCorruptionAdvice(body)
		if err != nil {
			return badRequest(err)
		}
		s.recordCorruption(CorruptionReport{
			Time: s.now().UTC(), Kind: kind.String(), StorageIndex: rq.si, ShareNumber: rq.shnum, Reason: adv.Reason,
		})
		w.WriteHeader(http.StatusOK)
		return nil
	}
}

// recordCorruption logs a report and stores it under
// <StateDir>/corruption-advisories in Tahoe's report format, one file per
// report, for administrators. Storing is best effort: a report never
// fails the request, and none is written when space is short.
func (s *Server) recordCorruption(rep CorruptionReport) {
	reason := rep.Reason
	if len(reason) > 200 {
		reason = reason[:200] + "…"
	}
	s.log.Warn("client reports share corruption",
		"kind", rep.Kind, "si", rep.StorageIndex.String(), "shnum", rep.ShareNumber, "reason", reason)

	text := fmt.Sprintf("report: Share Corruption\ntype: %s\nstorage_index: %s\nshare_number: %d\n\n%s\n\n",
		rep.Kind, rep.StorageIndex, rep.ShareNumber, rep.Reason)
	if int64(len(text)) > s.diskSpace() && !s.cfg.ReadOnly {
		s.log.Warn("not storing corruption report: no space")
		return
	}
	// Tahoe's naming: <ISO time without colons>--<si>-<shnum>.
	base := fmt.Sprintf("%s--%s-%d", rep.Time.Format("2006-01-02T150405.000000"), rep.StorageIndex, rep.ShareNumber)
	for i := 0; i < 100; i++ {
		name := base
		if i > 0 {
			name += "." + strconv.Itoa(i)
		}
		f, err := os.OpenFile(filepath.Join(s.corruptDir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err == nil {
			_, err = f.WriteString(text)
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			s.log.Error("storing corruption report failed", "err", err)
		}
		return
	}
}

// CorruptionReports returns the stored corruption reports, oldest first.
func (s *Server) CorruptionReports() ([]CorruptionReport, error) {
	ents, err := os.ReadDir(s.corruptDir)
	if err != nil {
		return nil, err
	}
	var out []CorruptionReport
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		rep, err := readCorruptionReport(filepath.Join(s.corruptDir, e.Name()))
		if err != nil {
			continue
		}
		out = append(out, rep)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

func readCorruptionReport(path string) (CorruptionReport, error) {
	var rep CorruptionReport
	f, err := os.Open(path)
	if err != nil {
		return rep, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		rep.Time = st.ModTime().UTC()
	}
	name := filepath.Base(path)
	if stamp, _, ok := strings.Cut(name, "--"); ok {
		if t, err := time.Parse("2006-01-02T150405.000000", stamp); err == nil {
			rep.Time = t
		}
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	var body []string
	inBody := false
	for sc.Scan() {
		line := sc.Text()
		if inBody {
			body = append(body, line)
			continue
		}
		if line == "" {
			inBody = true
			continue
		}
		k, v, _ := strings.Cut(line, ": ")
		switch k {
		case "type":
			rep.Kind = v
		case "storage_index":
			rep.StorageIndex, err = wire.ParseStorageIndex(v)
			if err != nil {
				return rep, err
			}
		case "share_number":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > wire.MaxShareNumber {
				return rep, fmt.Errorf("bad share number in %s", name)
			}
			rep.ShareNumber = uint16(n)
		}
	}
	rep.Reason = strings.TrimRight(strings.Join(body, "\n"), "\n")
	return rep, sc.Err()
}
