package introducer

import (
	"fmt"
)

// HTTP paths of the introducer protocol. The handler expects full paths,
// so mount it at PathPrefix without stripping.
const (
	PathPrefix        = "/introducer/v1/"
	PathAnnounce      = PathPrefix + "announce"
	PathAnnouncements = PathPrefix + "announcements"
)

const mediaTypeCBOR = "application/cbor"

// MaxAnnouncementsPerRequest bounds one POST: a node has at most one
// announcement per service, and there are three services.
const MaxAnnouncementsPerRequest = 16

// maxAnnounceBody bounds a POST body: the announcements plus a little
// CBOR framing.
const maxAnnounceBody = MaxAnnouncementsPerRequest*(MaxAnnouncementSize+8) + 64

// Per-announcement results of a POST.
const (
	resultAccepted  = "accepted"  // new or newer: stored
	resultRefreshed = "refreshed" // identical to the stored one: TTL restarted
	resultStale     = "stale"     // older than (or conflicting with) the stored one
	resultFull      = "full"      // the table has no room for another node
)

// Wire keys of the protocol messages (announcements have their own).
const (
	kAnnouncements = "announcements"
	kResults       = "results"
	kStatus        = "status"
	kCurrent       = "current"
	kCounter       = "counter"
	kChanged       = "changed"
)

type announceResult struct {
	status  string
	current []byte // the stored announcement, with resultStale
}

func encodeAnnounceRequest(anns [][]byte) []byte {
	return marshal(map[string]any{kAnnouncements: nonNilList(anns)})
}

func nonNilList(b [][]byte) [][]byte {
	if b == nil {
		return [][]byte{} // an empty array, not CBOR null
	}
	return b
}

// decodeAnnounceRequest returns the raw announcements of a POST body; each
// is decoded and verified by the caller.
func decodeAnnounceRequest(data []byte) ([][]byte, error) {
	m, err := decodeMessage(reqDecMode, data, kAnnouncements)
	if err != nil {
		return nil, err
	}
	list, ok := m[kAnnouncements].([]any)
	if !ok || len(list) == 0 || len(list) > MaxAnnouncementsPerRequest {
		return nil, malformed("%q must be an array of 1 to %d byte strings", kAnnouncements, MaxAnnouncementsPerRequest)
	}
	out := make([][]byte, len(list))
	for i, v := range list {
		if out[i], ok = v.([]byte); !ok {
			return nil, malformed("%q must be an array of byte strings", kAnnouncements)
		}
	}
	return out, nil
}

func encodeAnnounceResponse(rs []announceResult) []byte {
	list := make([]map[string]any, len(rs))
	for i, r := range rs {
		list[i] = map[string]any{kStatus: r.status}
		if r.current != nil {
			list[i][kCurrent] = r.current
		}
	}
	return marshal(map[string]any{kResults: list})
}

func decodeAnnounceResponse(data []byte, n int) ([]announceResult, error) {
	m, err := decodeMessage(respDecMode, data, kResults)
	if err != nil {
		return nil, err
	}
	list, ok := m[kResults].([]any)
	if !ok || len(list) != n {
		return nil, malformed("%q must have one entry per announcement", kResults)
	}
	out := make([]announceResult, n)
	for i, v := range list {
		im, ok := v.(map[any]any)
		if !ok {
			return nil, malformed("result is not a map")
		}
		keys := []string{kStatus}
		if _, ok := im[kCurrent]; ok {
			keys = append(keys, kCurrent)
		}
		f, err := checkKeys(im, keys)
		if err != nil {
			return nil, err
		}
		if out[i].status, ok = f[kStatus].(string); !ok {
			return nil, malformed("%q must be a text string", kStatus)
		}
		if c, ok := f[kCurrent]; ok {
			if out[i].current, ok = c.([]byte); !ok {
				return nil, malformed("%q must be a byte string", kCurrent)
			}
		}
	}
	return out, nil
}

// snapshot is the body of a GET announcements response.
type snapshot struct {
	counter uint64
	changed bool
	anns    [][]byte
}

func encodeSnapshot(s snapshot) []byte {
	return marshal(map[string]any{kCounter: s.counter, kChanged: s.changed, kAnnouncements: nonNilList(s.anns)})
}

func decodeSnapshot(data []byte) (snapshot, error) {
	var s snapshot
	m, err := decodeMessage(respDecMode, data, kCounter, kChanged, kAnnouncements)
	if err != nil {
		return s, err
	}
	var ok1, ok2, ok3 bool
	s.counter, ok1 = m[kCounter].(uint64)
	s.changed, ok2 = m[kChanged].(bool)
	list, ok3 := m[kAnnouncements].([]any)
	if !ok1 || !ok2 || !ok3 {
		return s, malformed("wrong field types in announcements response")
	}
	if !s.changed && len(list) > 0 {
		return s, malformed("unchanged response carries announcements")
	}
	s.anns = make([][]byte, len(list))
	for i, v := range list {
		var ok bool
		if s.anns[i], ok = v.([]byte); !ok {
			return s, malformed("%q must be an array of byte strings", kAnnouncements)
		}
	}
	return s, nil
}

// Requests are small; responses list a whole table.
var (
	reqDecMode  = newDecMode(MaxAnnouncementsPerRequest)
	respDecMode = newDecMode(1 << 20)
)

func decodeMessage(dm interface{ Unmarshal([]byte, any) error }, data []byte, keys ...string) (map[string]any, error) {
	var generic any
	if err := dm.Unmarshal(data, &generic); err != nil {
		return nil, malformed("%v", err)
	}
	m, ok := generic.(map[any]any)
	if !ok {
		return nil, malformed("message is not a CBOR map")
	}
	f, err := checkKeys(m, keys)
	if err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	return f, nil
}
