package ghemu

import (
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"time"
)

// adminPrefix is where the control API for out-of-process users lives. It
// is not GitHub's: it is never recorded, delayed, faulted or authenticated,
// and it answers only loopback clients.
const adminPrefix = "/_emulator/"

// Stats summarises what the emulator has served.
type Stats struct {
	Requests int `json:"requests"`
	// Endpoints counts requests by route, such as
	// "POST /app/installations/{installation_id}/access_tokens"; requests
	// that matched no route count as "unrouted".
	Endpoints      map[string]int `json:"endpoints"`
	FaultsInjected int            `json:"faults_injected"`
	TokensMinted   int            `json:"tokens_minted"`
	LiveTokens     int            `json:"live_tokens"`
	// Connections counts TCP connections accepted since New.
	Connections int64 `json:"connections"`
	// TLSHandshakes counts the handshakes the StartTLS listener completed
	// since New: a client that reuses connections adds about one per
	// connection it keeps, not one per request.
	TLSHandshakes int64 `json:"tls_handshakes"`
	// TLSRequestsHTTP2 and TLSRequestsHTTP1 count API requests over TLS
	// since New, by the protocol the client negotiated.
	TLSRequestsHTTP2 int64 `json:"tls_requests_http2"`
	TLSRequestsHTTP1 int64 `json:"tls_requests_http1"`
}

// Stats returns counts since the last ResetRequests (tokens and TLS
// counts since New).
func (s *Server) Stats() Stats {
	s.rec.mu.Lock()
	st := Stats{
		Requests:       len(s.rec.requests),
		Endpoints:      maps.Clone(s.rec.byRoute),
		FaultsInjected: s.rec.injected,
	}
	s.rec.mu.Unlock()
	s.mu.RLock()
	st.TokensMinted = len(s.tokens)
	s.mu.RUnlock()
	st.LiveTokens = s.LiveTokens()
	st.Connections = s.connections.Load()
	st.TLSHandshakes = s.tls.handshakes.Load()
	st.TLSRequestsHTTP2 = s.tls.http2.Load()
	st.TLSRequestsHTTP1 = s.tls.http1.Load()
	return st
}

func (s *Server) adminRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_emulator/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET /_emulator/tokens/{value}", func(w http.ResponseWriter, r *http.Request) {
		info, ok := s.Token(r.PathValue("value"))
		if !ok {
			writeAPIError(w, errNotFound)
			return
		}
		writeJSON(w, http.StatusOK, info)
	})
	mux.HandleFunc("POST /_emulator/latency", adminSetting(func(v struct {
		MS         int64  `json:"ms"`
		PathPrefix string `json:"path_prefix"`
	}) {
		if v.PathPrefix != "" {
			s.SetLatencyFor(v.PathPrefix, time.Duration(v.MS)*time.Millisecond)
			return
		}
		s.SetLatency(time.Duration(v.MS) * time.Millisecond)
	}))
	mux.HandleFunc("POST /_emulator/clock-skew", adminSetting(func(v struct {
		Seconds int64 `json:"seconds"`
	}) {
		s.SetClockSkew(time.Duration(v.Seconds) * time.Second)
	}))
	mux.HandleFunc("POST /_emulator/fail", adminSetting(func(v struct {
		N int `json:"n"`
		Fault
	}) {
		s.FailNext(max(v.N, 1), v.Fault)
	}))
	mux.HandleFunc("POST /_emulator/edit-reply", adminSetting(func(v struct {
		N int `json:"n"`
		ReplyEdit
	}) {
		s.EditNextReply(max(v.N, 1), v.ReplyEdit)
	}))
	mux.HandleFunc("POST /_emulator/reset-requests", func(w http.ResponseWriter, _ *http.Request) {
		s.ResetRequests()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeAPIError(w, errNotFound) })
	return mux
}

// adminSetting decodes a JSON body into T, applies it and answers 204.
func adminSetting[T any](apply func(T)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var v T
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			writeAPIError(w, errBadJSON)
			return
		}
		apply(v)
		w.WriteHeader(http.StatusNoContent)
	}
}

// serveAdmin answers the control API for loopback clients only, and 404s
// everyone else as if it did not exist.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		writeAPIError(w, errNotFound)
		return
	}
	s.admin.ServeHTTP(w, r)
}
