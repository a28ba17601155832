package auditshot_test

import (
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
)

func TestParseAPIKey(t *testing.T) {
	id, secret, err := auditshot.ParseAPIKey("ask_k1a2b3_0123456789abcdef0123")
	if err != nil || id != "k1a2b3" || secret != "0123456789abcdef0123" {
		t.Fatalf("got %q %q %v", id, secret, err)
	}
	for _, bad := range []string{"", "ask_", "ask_id", "ask__0123456789abcdef", "ask_id_short", "sk_id_0123456789abcdef", "ask_id_0123456789abcdef 0"} {
		_, _, err := auditshot.ParseAPIKey(bad)
		if auditshot.ErrorCode(err) != auditshot.EUNAUTHORIZED {
			t.Errorf("%q: %v, want unauthorized", bad, err)
		}
		if err != nil && bad != "" && len(bad) > 8 && strings.Contains(err.Error(), bad) {
			t.Errorf("%q: the error echoes the key", bad)
		}
	}
}

func TestAPIKey_ScopesAndSecret(t *testing.T) {
	k := &auditshot.APIKey{Scopes: []auditshot.Scope{auditshot.ScopeAudit}, SecretHash: auditshot.HashSecret("s3cret-s3cret-s3cret")}
	if !k.Has(auditshot.ScopeRead) || !k.Has(auditshot.ScopeAudit) || k.Has(auditshot.ScopeWrite) || k.Has(auditshot.ScopeCapture) || k.Has(auditshot.ScopeAdmin) {
		t.Errorf("audit key scopes wrong")
	}
	admin := &auditshot.APIKey{Scopes: []auditshot.Scope{auditshot.ScopeAdmin}}
	for _, s := range []auditshot.Scope{auditshot.ScopeCapture, auditshot.ScopeWrite, auditshot.ScopeRead, auditshot.ScopeAudit} {
		if !admin.Has(s) {
			t.Errorf("admin lacks %s", s)
		}
	}
	if !k.Matches("s3cret-s3cret-s3cret") || k.Matches("s3cret-s3cret-s3creT") || k.Matches("") {
		t.Errorf("secret matching wrong")
	}
	if k.SecretHash == "s3cret-s3cret-s3cret" || len(k.SecretHash) != 64 {
		t.Errorf("secret hash %q", k.SecretHash)
	}
}
