package httpapi

import (
	"net/url"
	"testing"
)

// TestLedgerURL: a page link of one section of the ledger page keeps the
// other section's page and the access log's filter.
func TestLedgerURL(t *testing.T) {
	for _, c := range []struct {
		query, param, value, anchor, want string
	}{
		{"", "before", "40", "hist-h", "/ui/ledger?before=40#hist-h"},
		{"before=40", "before", "", "hist-h", "/ui/ledger#hist-h"},
		{"key=ask_1&access_before=900&old=3", "before", "40", "hist-h", "/ui/ledger?access_before=900&before=40&key=ask_1#hist-h"},
		{"before=40&run=r-1", "access_before", "77", "access-h", "/ui/ledger?access_before=77&before=40&run=r-1#access-h"},
		{"before=40&run=r-1&access_before=77", "access_before", "", "access-h", "/ui/ledger?before=40&run=r-1#access-h"},
		{"key=a%26b", "access_before", "5", "access-h", "/ui/ledger?access_before=5&key=a%26b#access-h"},
	} {
		q, err := url.ParseQuery(c.query)
		if err != nil {
			t.Fatal(err)
		}
		if got := ledgerURL(q, c.param, c.value, c.anchor); got != c.want {
			t.Errorf("ledgerURL(%q, %s=%q) = %q, want %q", c.query, c.param, c.value, got, c.want)
		}
	}
}
