package ghclient

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

const (
	// Paging bounds (100 items a page), so that a misbehaving server
	// cannot keep a listing going forever: 10,000 installations, 50,000
	// repositories.
	maxInstallationPages = 100
	maxRepositoryPages   = 500
	// pageFetchers is how many pages of an installation's repositories are
	// fetched at once: a listing of maxRepositoryPages pages, one after
	// another, would outlast a Vault request whenever GitHub takes more
	// than a fifth of a second per page.
	pageFetchers = 8
)

// page is one page of a listing: its items and its rel="next" and
// rel="last" links ("" when absent), or why it could not be read.
type page[T any] struct {
	items      []T
	next, last string
	err        error
}

// collectPages sends r and follows each reply's rel="next" link, gathering
// the items of every page (at most maxPages). The listing ends only at a
// page without a next link. When the links number the pages (page=N, as
// GitHub's do) and rel="last" says more are to come, up to fetchers of the
// coming pages are fetched at once, each checked against the previous
// page's next link. So rel="last" (like total_count, which is not read)
// only plans the work: links that lie cost at most fetchers-1 requests
// too many in all, or the speed-up, never a page.
func collectPages[P, T any](ctx context.Context, c *Client, r *request, maxPages, fetchers int, what string, items func(*P) []T) ([]T, error) {
	current := fetchPage(ctx, c, r, items)
	if current.err != nil {
		return nil, current.err
	}
	all := current.items
	for n := 1; current.next != ""; {
		if n == maxPages {
			return nil, fmt.Errorf("GitHub lists more than %d pages of %s", maxPages, what)
		}
		wave, err := c.nextPages(r, current.next, current.last, n, min(fetchers, maxPages-n))
		if err != nil {
			return nil, err
		}
		// Pages count in the order the next links chain them; a page
		// fetched ahead that its predecessor does not link to is dropped,
		// and so is its failure. After such a break the listing goes on
		// one page at a time: links that keep breaking the plan must not
		// cost a wave per page.
		for i, p := range fetchPages(ctx, c, wave, items) {
			if p.err != nil {
				return nil, p.err
			}
			all, current, r = append(all, p.items...), p, wave[i]
			n++
			if i+1 < len(wave) && !c.linksTo(r, p.next, wave[i+1]) {
				fetchers = 1
				break
			}
		}
	}
	return all, nil
}

// fetchPage sends r and decodes one page.
func fetchPage[P, T any](ctx context.Context, c *Client, r *request, items func(*P) []T) page[T] {
	var batch P
	header, err := c.do(ctx, r, &batch)
	if err != nil {
		return page[T]{err: err}
	}
	links := header.Values("Link")
	return page[T]{items: items(&batch), next: linkTarget(links, "next"), last: linkTarget(links, "last")}
}

// fetchPages fetches the pages of wave at once. A failure does not cancel
// the others: whether it counts depends on the pages before it.
func fetchPages[P, T any](ctx context.Context, c *Client, wave []*request, items func(*P) []T) []page[T] {
	pages := make([]page[T], len(wave))
	var wg sync.WaitGroup
	for i, r := range wave {
		wg.Go(func() { pages[i] = fetchPage(ctx, c, r, items) })
	}
	wg.Wait()
	return pages
}

// nextPages builds the requests for the pages after page n: the one its
// next link names and, when that link numbers it n+1 and its last link a
// later page, those that follow, room in all at most.
func (c *Client) nextPages(prev *request, next, last string, n, room int) ([]*request, error) {
	r, err := c.followLink(prev, next)
	if err != nil {
		return nil, err
	}
	wave := []*request{r}
	u, err := url.Parse(r.url)
	if err != nil || pageNumber(u.Query()) != n+1 {
		return wave, nil //nolint:nilerr // a link without a page number is followed one page at a time
	}
	final := 0
	if l, err := url.Parse(last); err == nil {
		final = pageNumber(l.Query())
	}
	for k := n + 2; k <= min(final, n+room); k++ {
		q := u.Query()
		q.Set("page", strconv.Itoa(k))
		ahead := *r
		ahead.url = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: q.Encode()}).String()
		wave = append(wave, &ahead)
	}
	return wave, nil
}

// pageNumber is a link's page parameter, or 0.
func pageNumber(q url.Values) int {
	n, err := strconv.Atoi(q.Get("page"))
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// linksTo reports whether link, a next link of prev's page, names the
// page that want fetched: the same path and the same query parameters.
func (c *Client) linksTo(prev *request, link string, want *request) bool {
	if link == "" {
		return false
	}
	r, err := c.followLink(prev, link)
	if err != nil {
		return false
	}
	got, err1 := url.Parse(r.url)
	wanted, err2 := url.Parse(want.url)
	return err1 == nil && err2 == nil && got.Path == wanted.Path &&
		maps.EqualFunc(got.Query(), wanted.Query(), slices.Equal)
}

// followLink builds the request for a pagination link. The link must stay on
// the API host: the request carries the App's JWT, which must not be handed
// to whatever host a reply names. It is sent to the base URL's own host
// and port, as the operator wrote them.
func (c *Client) followLink(prev *request, link string) (*request, error) {
	if len(link) > maxBaseURLBytes {
		return nil, fmt.Errorf("refusing a GitHub pagination link of %d bytes", len(link))
	}
	u, err := url.Parse(prev.url)
	if err == nil {
		u, err = u.Parse(link)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid GitHub pagination link: %w", err)
	}
	if originOf(u) != c.origin {
		return nil, fmt.Errorf("refusing to follow GitHub pagination link to %s://%s: not the API host", u.Scheme, u.Host)
	}
	u.Host = c.base.Host
	path := strings.TrimPrefix(u.Path, c.base.Path)
	return &request{
		method: prev.method,
		url:    u.String(),
		path:   path,
		route:  routeOf(prev.method, path),
		token:  prev.token,
	}, nil
}

// linkTarget returns the target of the link with relation rel in RFC 8288
// Link header values, as GitHub writes them: <https://…?page=2>;
// rel="next", <…>; rel="last". The values are read in place: a header of
// a million commas must not become a slice of a million strings.
func linkTarget(values []string, rel string) string {
	for _, v := range values {
		for link := range strings.SplitSeq(v, ",") {
			target, params, ok := strings.Cut(link, ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for param := range strings.SplitSeq(params, ";") {
				name, value, _ := strings.Cut(strings.TrimSpace(param), "=")
				if strings.EqualFold(name, "rel") && hasToken(strings.Trim(value, `"`), rel) {
					return target[1 : len(target)-1]
				}
			}
		}
	}
	return ""
}

// hasToken reports whether the space-separated list holds tok.
func hasToken(list, tok string) bool {
	for f := range strings.FieldsSeq(list) {
		if strings.EqualFold(f, tok) {
			return true
		}
	}
	return false
}
