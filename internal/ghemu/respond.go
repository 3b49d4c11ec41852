package ghemu

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const docsURL = "https://docs.github.com/rest"

// apiError is a GitHub error reply. It is an error so that it can travel
// through golang-jwt's key function.
type apiError struct {
	status  int
	message string
}

func (e *apiError) Error() string { return e.message }

var errNotFound = &apiError{http.StatusNotFound, "Not Found"}

// writeError sends GitHub's error body. Every error the emulator emits goes
// through here.
func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{
		"message":           message,
		"documentation_url": docsURL,
		"status":            strconv.Itoa(status),
	})
}

func writeAPIError(w http.ResponseWriter, e *apiError) { writeError(w, e.status, e.message) }

// answer sends body with status, or GitHub's error when err is set.
func answer(w http.ResponseWriter, status int, body any, err *apiError) {
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var edit *ReplyEdit
	if rw, ok := w.(*recorder); ok && status/100 == 2 {
		v, edit = rw.edited(v)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if p, ok := v.(preEncoded); ok && edit == nil {
		sendParts(w, status, p.jsonParts())
		return
	}
	body := mustMarshal(v)
	if edit != nil {
		edit.send(w, status, edit.mangle(body))
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func mustMarshal(v any) []byte {
	body, err := json.Marshal(v)
	if err != nil {
		// Only the emulator's own values are marshalled: this is a bug.
		panic(fmt.Sprintf("ghemu: marshal reply: %v", err))
	}
	return body
}

// Pagination limits, as GitHub applies them.
const (
	defaultPerPage = 30
	maxPerPage     = 100
)

// paginate returns the page of items the query asks for and sets GitHub's
// RFC 5988 Link header when there is more than one page.
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T) []T {
	q := r.URL.Query()
	perPage := queryInt(q.Get("per_page"), defaultPerPage)
	if perPage > maxPerPage {
		perPage = maxPerPage
	}
	page := queryInt(q.Get("page"), 1)
	last := max(1, int(math.Ceil(float64(len(items))/float64(perPage))))

	link := func(p int, rel string) string {
		q.Set("page", strconv.Itoa(p))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, exchangeOf(r).urls.api, r.URL.Path, q.Encode(), rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(min(page-1, last), "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}

	start := min((page-1)*perPage, len(items))
	return items[start:min(start+perPage, len(items))]
}

// queryInt parses a positive paging parameter; GitHub ignores bad values.
func queryInt(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return def
	}
	return n
}

// timestamp formats a time as GitHub does: RFC 3339, UTC, whole seconds.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}
