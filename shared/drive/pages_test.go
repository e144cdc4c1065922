package drive

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/communitycube/cube/shared/api"
)

// pagesOf serves ids 0..n-1 by pages of size, like the node (Next is the
// last id of a full page), and records the cursors it was asked for.
func pagesOf(n, size int, asked *[]string) func(ctx context.Context, after string) (api.Children, error) {
	return func(ctx context.Context, after string) (api.Children, error) {
		*asked = append(*asked, after)
		start := 0
		if after != "" {
			start, _ = strconv.Atoi(after)
			start++
		}
		var c api.Children
		for i := start; i < n && i < start+size; i++ {
			c.Items = append(c.Items, api.Node{ID: strconv.Itoa(i)})
		}
		if start+size < n {
			c.Next = c.Items[len(c.Items)-1].ID
		}
		return c, ctx.Err()
	}
}

func TestPagesAhead(t *testing.T) {
	ctx := context.Background()
	var asked []string
	var got []string
	err := pagesAhead(ctx, pagesOf(25, 10, &asked), func(page []api.Node) error {
		for _, n := range page {
			got = append(got, n.ID)
		}
		return nil
	})
	if err != nil || len(got) != 25 || got[0] != "0" || got[24] != "24" {
		t.Fatalf("err %v, got %v", err, got)
	}
	if len(asked) != 3 || asked[1] != "9" || asked[2] != "19" {
		t.Fatalf("cursors %q", asked)
	}

	// A failing page ends the listing with its error, after the pages before.
	boom := errors.New("boom")
	asked = nil
	pages := 0
	err = pagesAhead(ctx, func(ctx context.Context, after string) (api.Children, error) {
		if after == "9" {
			return api.Children{}, boom
		}
		return pagesOf(25, 10, &asked)(ctx, after)
	}, func([]api.Node) error { pages++; return nil })
	if !errors.Is(err, boom) || pages != 1 {
		t.Fatalf("err %v after %d pages", err, pages)
	}

	// An error of f stops the fetching (no page is asked for after the one
	// fetched ahead) and is returned.
	asked = nil
	err = pagesAhead(ctx, pagesOf(1000, 10, &asked), func([]api.Node) error { return boom })
	if !errors.Is(err, boom) || len(asked) > 3 {
		t.Fatalf("err %v, %d pages asked for", err, len(asked))
	}

	// A node that answers the same cursor again does not make it loop.
	n := 0
	err = pagesAhead(ctx, func(ctx context.Context, after string) (api.Children, error) {
		n++
		return api.Children{Items: []api.Node{{ID: "x"}}, Next: "x"}, nil
	}, func([]api.Node) error { return nil })
	if err != nil || n != 2 {
		t.Fatalf("err %v, %d requests", err, n)
	}
}
