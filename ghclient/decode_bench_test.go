package ghclient

import (
	"bytes"
	"fmt"
	"os"
	"testing"
)

// mintReply500 is a mint reply naming 500 repositories, each a copy of the
// full repository object GitHub sends (testdata/repository.json, 6.4 KB, as
// the emulator renders it), with its own id and name: 3.3 MB.
func mintReply500(tb testing.TB) []byte {
	tb.Helper()
	repo, err := os.ReadFile("testdata/repository.json")
	if err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString(`{"token":"ghs_16C7e42F292c6912E7710c838347Ae178B4a","expires_at":"2026-03-01T13:00:00Z",` +
		`"permissions":{"contents":"read","metadata":"read"},"repository_selection":"selected","repositories":[`)
	for i := range 500 {
		if i > 0 {
			b.WriteByte(',')
		}
		obj := bytes.Replace(repo, []byte(`"id":2001`), fmt.Appendf(nil, `"id":%d`, 10_000+i), 1)
		obj = bytes.ReplaceAll(obj, []byte(`"name":"api"`), fmt.Appendf(nil, `"name":"repo-%03d"`, i))
		b.Write(obj)
	}
	b.WriteString("]}")
	return b.Bytes()
}

func BenchmarkDecodeMintReply500(b *testing.B) {
	body := mintReply500(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var m mintReply
		if err := m.decodeBody(body); err != nil || len(m.Repositories) != 500 {
			b.Fatalf("%v, %d repositories", err, len(m.Repositories))
		}
	}
}
