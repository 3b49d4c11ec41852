package ghclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// repositoryPages is a GitHub serving an installation's repositories, 100
// a page, each page after delay. claimedLast and claimedTotal, when set,
// replace what rel="last" and total_count say; cursor links pages by an
// opaque cursor instead of a page number.
type repositoryPages struct {
	total                     int
	delay                     time.Duration
	claimedLast, claimedTotal int
	cursor                    bool
}

func (rp repositoryPages) handler(w http.ResponseWriter, r *http.Request) {
	time.Sleep(rp.delay)
	q := r.URL.Query()
	n := max(pageNumber(q), 1)
	if rp.cursor {
		n, _ = strconv.Atoi(strings.TrimPrefix(q.Get("after"), "cursor"))
		n++
	}
	last := (rp.total + 99) / 100
	repos := []map[string]any{}
	for id := (n-1)*100 + 1; id <= min(n*100, rp.total); id++ {
		repos = append(repos, map[string]any{"id": id, "name": fmt.Sprintf("repo-%d", id), "full_name": fmt.Sprintf("o/repo-%d", id)})
	}
	base := "http://" + r.Host + r.URL.Path + "?per_page=100&"
	claimedLast := cmpOr(rp.claimedLast, last)
	switch {
	case rp.cursor && n < last:
		w.Header().Set("Link", fmt.Sprintf(`<%safter=cursor%d>; rel="next"`, base, n))
	case n < last:
		w.Header().Set("Link", fmt.Sprintf(`<%spage=%d>; rel="next", <%spage=%d>; rel="last"`, base, n+1, base, claimedLast))
	}
	body, _ := json.Marshal(map[string]any{"total_count": cmpOr(rp.claimedTotal, rp.total), "repositories": repos})
	writeJSON(w, http.StatusOK, string(body))
}

func cmpOr(claimed, truth int) int {
	if claimed != 0 {
		return claimed
	}
	return truth
}

// listAll lists the repositories of rp, checking they are all there, in
// order, and returns how many requests it took.
func listAll(t *testing.T, rp repositoryPages) int {
	t.Helper()
	h := newHarness(t, rp.handler)
	repos, err := h.client.ListInstallationRepositories(context.Background(), "ghs_list")
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != rp.total {
		t.Fatalf("%d repositories listed; want %d", len(repos), rp.total)
	}
	for i, repo := range repos {
		if repo.ID != int64(i+1) {
			t.Fatalf("repository %d has ID %d: a page is missing, repeated or out of order", i, repo.ID)
		}
	}
	return h.attempts()
}

// An installation's pages are fetched several at a time: 30 pages that
// take 200 ms each are listed in far less than the 6 s they take one
// after another.
func TestRepositoryPagesAreFetchedSeveralAtATime(t *testing.T) {
	start := time.Now()
	if n := listAll(t, repositoryPages{total: 2950, delay: 200 * time.Millisecond}); n != 30 {
		t.Errorf("%d requests for 30 pages", n)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("listing 30 pages of 200 ms each took %v", took)
	}
}

// What GitHub claims of the listing's length only plans it: every page
// is listed once, in order, whatever total_count and rel="last" say, and
// a lie costs at most a few requests.
func TestRepositoryListingIgnoresLyingCounts(t *testing.T) {
	for name, tc := range map[string]struct {
		rp          repositoryPages
		maxRequests int
	}{
		"total_count far too high": {repositoryPages{total: 250, claimedTotal: 1_000_000}, 3},
		"total_count far too low":  {repositoryPages{total: 2500, claimedTotal: 1}, 25},
		"total_count negative":     {repositoryPages{total: 250, claimedTotal: -5}, 3},
		"last far too high":        {repositoryPages{total: 250, claimedLast: 1_000_000}, 3 + pageFetchers - 1},
		"last too low":             {repositoryPages{total: 2500, claimedLast: 2}, 25},
		"last before this page":    {repositoryPages{total: 2500, claimedLast: -1}, 25},
		"pages by cursor":          {repositoryPages{total: 2500, cursor: true}, 25},
	} {
		t.Run(name, func(t *testing.T) {
			if n := listAll(t, tc.rp); n > tc.maxRequests {
				t.Errorf("%d requests; want at most %d", n, tc.maxRequests)
			}
		})
	}
}

// A page fetched ahead that the previous page does not link to is
// dropped: the listing follows GitHub's next links, not its own guesses.
func TestRepositoryListingFollowsTheNextLinks(t *testing.T) {
	rp := repositoryPages{total: 1000}
	// Page 3 links to page 5: page 4 is never part of the listing.
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "3" {
			base := "http://" + r.Host + r.URL.Path + "?per_page=100&"
			w.Header().Set("Link", fmt.Sprintf(`<%spage=5>; rel="next", <%spage=10>; rel="last"`, base, base))
			writeJSON(w, http.StatusOK, `{"total_count":1000,"repositories":[{"id":1000003,"name":"three","full_name":"o/three"}]}`)
			return
		}
		rp.handler(w, r)
	})
	repos, err := h.client.ListInstallationRepositories(context.Background(), "ghs_list")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, repo := range repos {
		if repo.ID > 300 && repo.ID <= 400 {
			t.Fatalf("repository %d of page 4, which no next link names, was listed", repo.ID)
		}
		names = append(names, repo.Name)
	}
	if len(repos) != 200+1+600 || names[200] != "three" {
		t.Fatalf("%d repositories; want pages 1, 2, 3 (one), 5 to 10", len(repos))
	}
}

// One failed page fails the listing: a partial list would let a pattern
// miss repositories, or match nothing and read as "none".
func TestRepositoryListingFailsWithAnyPage(t *testing.T) {
	rp := repositoryPages{total: 1000}
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "4" {
			githubError(w, http.StatusNotFound, "Not Found")
			return
		}
		rp.handler(w, r)
	})
	if repos, err := h.client.ListInstallationRepositories(context.Background(), "ghs_list"); err == nil || repos != nil {
		t.Fatalf("a listing with a failed page returned %d repositories, %v", len(repos), err)
	}
}

// Pages that never end stop at the bound, however far rel="last" points.
func TestRepositoryListingBounded(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		n := max(pageNumber(r.URL.Query()), 1)
		base := "http://" + r.Host + r.URL.Path + "?per_page=100&"
		w.Header().Set("Link", fmt.Sprintf(`<%spage=%d>; rel="next", <%spage=99999999>; rel="last"`, base, n+1, base))
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"repositories":[{"id":%d,"name":"r%d","full_name":"o/r%d"}]}`, n, n, n))
	})
	_, err := h.client.ListInstallationRepositories(context.Background(), "ghs_list")
	if err == nil || !strings.Contains(err.Error(), "more than 500 pages") {
		t.Fatalf("endless pages: %v", err)
	}
	if n := h.attempts(); n != maxRepositoryPages {
		t.Errorf("%d requests; want %d", n, maxRepositoryPages)
	}
}

// A page fetched ahead past the listing's end is no part of it, and
// neither is its failure: a proxy that answers 404 past the last page, or
// repositories removed since the first page, must not fail a listing that
// following the next links completes.
func TestRepositoryListingIgnoresPagesPastItsEnd(t *testing.T) {
	rp := repositoryPages{total: 250, claimedLast: 40}
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		if pageNumber(r.URL.Query()) > 3 {
			githubError(w, http.StatusNotFound, "Not Found")
			return
		}
		rp.handler(w, r)
	})
	repos, err := h.client.ListInstallationRepositories(context.Background(), "ghs_list")
	if err != nil || len(repos) != 250 {
		t.Fatalf("%d repositories, %v; want the 250 of the 3 pages the next links chain", len(repos), err)
	}
}

// Links that keep breaking the chain the listing planned (each names its
// next page with a query of its own) cost at most one wave's worth of
// pages fetched ahead, not one per page: after the first break, pages are
// fetched one at a time.
func TestRepositoryListingStopsFetchingAheadAfterABreak(t *testing.T) {
	const pages = 30
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		n := max(pageNumber(r.URL.Query()), 1)
		if n < pages {
			base := "http://" + r.Host + r.URL.Path + "?per_page=100&"
			w.Header().Set("Link", fmt.Sprintf(`<%spage=%d&from=%d>; rel="next", <%spage=9999>; rel="last"`, base, n+1, n, base))
		}
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"repositories":[{"id":%d,"name":"r%d","full_name":"o/r%d"}]}`, n, n, n))
	})
	repos, err := h.client.ListInstallationRepositories(context.Background(), "ghs_list")
	if err != nil || len(repos) != pages {
		t.Fatalf("%d repositories, %v; want %d", len(repos), err, pages)
	}
	if n := h.attempts(); n > pages+pageFetchers-1 {
		t.Errorf("%d requests for %d pages; want at most %d", n, pages, pages+pageFetchers-1)
	}
}
