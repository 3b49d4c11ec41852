package ghclient

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestNewBaseURL(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.base.String(); got != DefaultBaseURL {
		t.Errorf("default base URL = %q, want %q", got, DefaultBaseURL)
	}

	for _, raw := range []string{
		"api.github.com",
		"ftp://github.example.com/api/v3",
		"https://",
		"https:///api/v3",
		"://github.example.com",
		"https://user:secret@github.example.com/api/v3",
		"https://github.example.com/api/v3?x=1",
		"https://github.example.com/api/v3#top",
	} {
		if _, err := New(Config{BaseURL: raw}); err == nil {
			t.Errorf("New accepted base URL %q", raw)
		}
	}
}

func TestNewRequiresIssuerWithKey(t *testing.T) {
	if _, err := New(Config{PrivateKey: testKey()}); err == nil {
		t.Fatal("New accepted a private key with neither App ID nor client ID")
	}
}

func TestGHESBaseURLKeepsPath(t *testing.T) {
	for _, suffix := range []string{"/api/v3", "/api/v3/"} {
		t.Run(suffix, func(t *testing.T) {
			h := newHarness(t, status(http.StatusCreated, tokenJSON),
				func(c *Config) { c.BaseURL += suffix })
			ctx := context.Background()
			if _, err := h.client.CreateInstallationToken(ctx, 7, TokenRequest{}); err != nil {
				t.Fatal(err)
			}
			if got := h.seen()[0].RequestURI; got != "/api/v3/app/installations/7/access_tokens" {
				t.Errorf("request URI = %q, want /api/v3/app/installations/7/access_tokens", got)
			}
		})
	}
}

func TestHeadersOnEveryRequest(t *testing.T) {
	for _, tc := range []struct {
		userAgent, want string
	}{
		{"", DefaultUserAgent},
		{"vault/1.21 plugin/0.1", "vault/1.21 plugin/0.1"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.Method == http.MethodDelete:
					w.WriteHeader(http.StatusNoContent)
				case r.Method == http.MethodPost:
					writeJSON(w, http.StatusCreated, tokenJSON)
				case r.URL.Path == "/app/installations":
					writeJSON(w, http.StatusOK, `[]`)
				default:
					writeJSON(w, http.StatusOK, `{"id":1}`)
				}
			}, func(c *Config) { c.UserAgent = tc.userAgent })
			ctx := context.Background()
			calls := []func() error{
				func() error { _, err := h.client.FindInstallationByOwner(ctx, "octo"); return err },
				func() error { _, err := h.client.FindInstallationByOwner(ctx, "octo"); return err },
				func() error { _, err := h.client.ListInstallations(ctx); return err },
				func() error { _, err := h.client.CreateInstallationToken(ctx, 1, TokenRequest{}); return err },
				func() error { return h.client.RevokeInstallationToken(ctx, "ghs_x") },
			}
			for _, call := range calls {
				if err := call(); err != nil {
					t.Fatal(err)
				}
			}
			reqs := h.seen()
			if len(reqs) != len(calls) {
				t.Fatalf("%d requests, want %d", len(reqs), len(calls))
			}
			for _, r := range reqs {
				for name, want := range map[string]string{
					"Accept":               "application/vnd.github+json",
					"X-Github-Api-Version": "2022-11-28",
					"User-Agent":           tc.want,
				} {
					if got := r.Header.Get(name); got != want {
						t.Errorf("%s %s: %s = %q, want %q", r.Method, r.RequestURI, name, got, want)
					}
				}
				if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
					t.Errorf("%s %s: Authorization is not a bearer credential", r.Method, r.RequestURI)
				}
				wantType := ""
				if r.Method == http.MethodPost {
					wantType = "application/json"
				}
				if got := r.Header.Get("Content-Type"); got != wantType {
					t.Errorf("%s %s: Content-Type = %q, want %q", r.Method, r.RequestURI, got, wantType)
				}
			}
		})
	}
}

func TestNewHTTPClient(t *testing.T) {
	c := NewHTTPClient()
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport is %T", c.Transport)
	}
	if c.Timeout != 60*time.Second || tr.TLSHandshakeTimeout != 10*time.Second ||
		tr.ResponseHeaderTimeout != 30*time.Second || tr.MaxIdleConnsPerHost != 128 ||
		tr.MaxIdleConns != 256 || !tr.ForceAttemptHTTP2 || tr.Proxy == nil || tr.DialContext == nil {
		t.Errorf("unexpected HTTP client settings: timeout %v, transport %+v", c.Timeout, tr)
	}
}

// Repository must keep only what the plugin needs from GitHub's ~6 KB objects.
func TestRepositoryKeepsOnlyIdentifiers(t *testing.T) {
	var names []string
	typ := reflect.TypeFor[Repository]()
	for i := range typ.NumField() {
		names = append(names, typ.Field(i).Name)
	}
	if want := []string{"ID", "Name", "FullName"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("Repository fields = %v, want %v", names, want)
	}
}
