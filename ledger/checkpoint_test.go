package ledger_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/note"

	"github.com/auditshot/auditshot/ledger"
)

// The golden log key. TEST ONLY: it signs testdata/checkpoint and is public
// in this file; no deployment may use it.
const (
	goldenOrigin = "auditshot.test/golden"
	goldenSKey   = "PRIVATE+KEY+auditshot.test/golden+3bd87a71+AYItgEJBZzTX4BluT0HwCJcKiNw3XjukaRWNOz/21mJu"
	goldenVKey   = "auditshot.test/golden+3bd87a71+Aeylzuz8oN/vIa2IFIjd9/w7vdAVg6ogGn6m2UZDFq0P"
)

type keyPair struct {
	signer   note.Signer
	verifier note.Verifier
	vkey     string
}

func mustKey(tb testing.TB, name string) keyPair {
	tb.Helper()
	skey, vkey, err := ledger.GenerateKey(name)
	if err != nil {
		tb.Fatal(err)
	}
	return mustKeyPair(tb, skey, vkey)
}

func mustKeyPair(tb testing.TB, skey, vkey string) keyPair {
	tb.Helper()
	s, err := ledger.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := ledger.NewVerifier(vkey)
	if err != nil {
		tb.Fatal(err)
	}
	return keyPair{s, v, vkey}
}

func goldenKey(tb testing.TB) keyPair { return mustKeyPair(tb, goldenSKey, goldenVKey) }

func testCheckpoint() ledger.Checkpoint {
	return ledger.Checkpoint{Origin: goldenOrigin, Size: 12345, Hash: ledger.LeafHash([]byte("root"))}
}

func mustSign(tb testing.TB, cp ledger.Checkpoint, signers ...note.Signer) []byte {
	tb.Helper()
	msg, err := ledger.SignCheckpoint(cp, signers...)
	if err != nil {
		tb.Fatal(err)
	}
	return msg
}

func TestCheckpoint_RoundTrip(t *testing.T) {
	k := goldenKey(t)
	for _, cp := range []ledger.Checkpoint{
		testCheckpoint(),
		{Origin: goldenOrigin, Size: 0, Hash: ledger.EmptyTreeHash()},
		{Origin: goldenOrigin, Size: 1, Hash: ledger.Hash{1}, Extensions: []string{"— time 2026-03-14T15:09:26Z", "x"}},
	} {
		msg := mustSign(t, cp, k.signer)
		got, n, err := ledger.OpenCheckpoint(msg, goldenOrigin, note.VerifierList(k.verifier))
		if err != nil {
			t.Fatalf("OpenCheckpoint: %v", err)
		}
		if diff := cmp.Diff(got, cp); diff != "" {
			t.Errorf("OpenCheckpoint (-got +want):\n%s", diff)
		}
		if len(n.Sigs) != 1 || n.Sigs[0].Name != goldenOrigin || len(n.UnverifiedSigs) != 0 {
			t.Errorf("signatures: %+v, unverified %+v", n.Sigs, n.UnverifiedSigs)
		}
	}
}

func TestCheckpoint_Text(t *testing.T) {
	cp := ledger.Checkpoint{Origin: "example.com/log", Size: 7, Hash: ledger.Hash{}, Extensions: []string{"ext one"}}
	want := "example.com/log\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next one\n"
	got, err := ledger.FormatCheckpoint(cp)
	if err != nil || string(got) != want {
		t.Fatalf("FormatCheckpoint = %q, %v; want %q", got, err, want)
	}
	back, err := ledger.ParseCheckpoint(got)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(back, cp); diff != "" {
		t.Fatalf("ParseCheckpoint (-got +want):\n%s", diff)
	}
}

func TestFormatCheckpoint_Invalid(t *testing.T) {
	for name, cp := range map[string]ledger.Checkpoint{
		"NoOrigin":          {Size: 1},
		"NewlineInOrigin":   {Origin: "a\nb"},
		"NegativeSize":      {Origin: "o", Size: -1},
		"EmptyExtension":    {Origin: "o", Extensions: []string{""}},
		"NewlineInExt":      {Origin: "o", Extensions: []string{"a\n\nb"}},
		"ControlInExt":      {Origin: "o", Extensions: []string{"a\tb"}},
		"InvalidUTF8Origin": {Origin: "o\xff"},
	} {
		if _, err := ledger.FormatCheckpoint(cp); !errors.Is(err, ledger.ErrInvalidCheckpoint) {
			t.Errorf("%s: FormatCheckpoint error %v, want ErrInvalidCheckpoint", name, err)
		}
		if _, err := ledger.SignCheckpoint(cp, goldenKey(t).signer); !errors.Is(err, ledger.ErrInvalidCheckpoint) {
			t.Errorf("%s: SignCheckpoint error %v, want ErrInvalidCheckpoint", name, err)
		}
	}
	if _, err := ledger.SignCheckpoint(testCheckpoint()); err == nil {
		t.Error("SignCheckpoint with no signer: no error")
	}
}

func TestParseCheckpoint_Rejects(t *testing.T) {
	h := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	for name, text := range map[string]string{
		"Empty":        "",
		"NoNewline":    "o\n1\n" + h,
		"LeadingZero":  "o\n01\n" + h + "\n",
		"PlusSign":     "o\n+1\n" + h + "\n",
		"Negative":     "o\n-1\n" + h + "\n",
		"Huge":         "o\n9223372036854775808\n" + h + "\n",
		"ShortHash":    "o\n1\nAAAA\n",
		"BadBase64":    "o\n1\n" + strings.Replace(h, "=", "", 1) + "\n",
		"StrayBits":    "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",
		"EmptyOrigin":  "\n1\n" + h + "\n",
		"ExtNoNewline": "o\n1\n" + h + "\next",
		"EmptyExtLine": "o\n1\n" + h + "\n\next\n",
	} {
		if _, err := ledger.ParseCheckpoint([]byte(text)); !errors.Is(err, ledger.ErrInvalidCheckpoint) {
			t.Errorf("%s: ParseCheckpoint error %v, want ErrInvalidCheckpoint", name, err)
		}
	}
}

func TestOpenCheckpoint(t *testing.T) {
	log, other, witness := goldenKey(t), mustKey(t, "auditshot.test/other"), mustKey(t, "witness.test/w1")
	trusted := note.VerifierList(log.verifier)
	cp := testCheckpoint()
	signed := mustSign(t, cp, log.signer)

	t.Run("OK", func(t *testing.T) {
		if _, _, err := ledger.OpenCheckpoint(signed, goldenOrigin, trusted); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrWrongOrigin", func(t *testing.T) {
		_, _, err := ledger.OpenCheckpoint(signed, "auditshot.test/other-tenant", trusted)
		if !errors.Is(err, ledger.ErrWrongOrigin) {
			t.Fatalf("error %v, want ErrWrongOrigin", err)
		}
	})
	t.Run("ResignedByAnotherKey", func(t *testing.T) {
		msg := mustSign(t, cp, other.signer)
		_, _, err := ledger.OpenCheckpoint(msg, goldenOrigin, trusted)
		if !errors.Is(err, ledger.ErrUnverifiedCheckpoint) || !strings.Contains(err.Error(), "auditshot.test/other+") {
			t.Fatalf("error %v, want ErrUnverifiedCheckpoint naming the other key", err)
		}
	})
	t.Run("ImpostorKeyWithLogName", func(t *testing.T) {
		impostor := mustKey(t, goldenOrigin) // same name, another key
		msg := mustSign(t, cp, impostor.signer)
		if _, _, err := ledger.OpenCheckpoint(msg, goldenOrigin, trusted); !errors.Is(err, ledger.ErrUnverifiedCheckpoint) {
			t.Fatalf("error %v, want ErrUnverifiedCheckpoint", err)
		}
	})
	t.Run("UnknownExtraSignatureIgnored", func(t *testing.T) {
		msg := mustSign(t, cp, log.signer, witness.signer)
		got, n, err := ledger.OpenCheckpoint(msg, goldenOrigin, trusted)
		if err != nil {
			t.Fatal(err)
		}
		if got.Size != cp.Size || len(n.Sigs) != 1 || len(n.UnverifiedSigs) != 1 || n.UnverifiedSigs[0].Name != "witness.test/w1" {
			t.Fatalf("got %+v, sigs %+v, unverified %+v", got, n.Sigs, n.UnverifiedSigs)
		}
		// Witness first makes no difference.
		msg = mustSign(t, cp, witness.signer, log.signer)
		if _, _, err := ledger.OpenCheckpoint(msg, goldenOrigin, trusted); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("AnyTrustedKey", func(t *testing.T) {
		msg := mustSign(t, cp, other.signer)
		if _, _, err := ledger.OpenCheckpoint(msg, goldenOrigin, note.VerifierList(log.verifier, other.verifier)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("TamperedSize", func(t *testing.T) {
		msg := bytes.Replace(signed, []byte("\n12345\n"), []byte("\n12346\n"), 1)
		if _, _, err := ledger.OpenCheckpoint(msg, goldenOrigin, trusted); !errors.Is(err, ledger.ErrBadSignature) {
			t.Fatalf("error %v, want ErrBadSignature", err)
		}
	})
	t.Run("TamperedRoot", func(t *testing.T) {
		text, _ := ledger.FormatCheckpoint(cp)
		cp2 := cp
		cp2.Hash = flip(cp.Hash)
		text2, _ := ledger.FormatCheckpoint(cp2)
		msg := bytes.Replace(signed, text, text2, 1)
		if _, _, err := ledger.OpenCheckpoint(msg, goldenOrigin, trusted); !errors.Is(err, ledger.ErrBadSignature) {
			t.Fatalf("error %v, want ErrBadSignature", err)
		}
	})
	t.Run("TamperedSignature", func(t *testing.T) {
		n, err := note.Open(signed, trusted)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := base64.StdEncoding.DecodeString(n.Sigs[0].Base64)
		if err != nil {
			t.Fatal(err)
		}
		sig[len(sig)-1] ^= 1
		msg := bytes.Replace(signed, []byte(n.Sigs[0].Base64), []byte(base64.StdEncoding.EncodeToString(sig)), 1)
		_, _, err = ledger.OpenCheckpoint(msg, goldenOrigin, trusted)
		if !errors.Is(err, ledger.ErrBadSignature) || !strings.Contains(err.Error(), "auditshot.test/golden+3bd87a71") {
			t.Fatalf("error %v, want ErrBadSignature naming the key", err)
		}
	})
	t.Run("AddedExtensionLine", func(t *testing.T) {
		text, _ := ledger.FormatCheckpoint(cp)
		msg := bytes.Replace(signed, text, append(bytes.Clone(text), "injected\n"...), 1)
		if _, _, err := ledger.OpenCheckpoint(msg, goldenOrigin, trusted); !errors.Is(err, ledger.ErrBadSignature) {
			t.Fatalf("error %v, want ErrBadSignature", err)
		}
	})
	t.Run("Unsigned", func(t *testing.T) {
		text, _ := ledger.FormatCheckpoint(cp)
		if _, _, err := ledger.OpenCheckpoint(text, goldenOrigin, trusted); !errors.Is(err, ledger.ErrInvalidCheckpoint) {
			t.Fatalf("error %v, want ErrInvalidCheckpoint", err)
		}
	})
	t.Run("NilVerifiers", func(t *testing.T) {
		if _, _, err := ledger.OpenCheckpoint(signed, goldenOrigin, nil); !errors.Is(err, ledger.ErrUnverifiedCheckpoint) {
			t.Fatalf("error %v, want ErrUnverifiedCheckpoint", err)
		}
	})
	t.Run("NonCanonicalText", func(t *testing.T) {
		text, _ := ledger.FormatCheckpoint(cp)
		msg, err := note.Sign(&note.Note{Text: strings.Replace(string(text), "\n12345\n", "\n012345\n", 1)}, log.signer)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ledger.OpenCheckpoint(msg, goldenOrigin, trusted); !errors.Is(err, ledger.ErrInvalidCheckpoint) {
			t.Fatalf("error %v, want ErrInvalidCheckpoint", err)
		}
	})
	t.Run("TooLarge", func(t *testing.T) {
		big := cp
		big.Extensions = []string{strings.Repeat("x", ledger.MaxCheckpointSize)}
		msg := mustSign(t, big, log.signer)
		if _, _, err := ledger.OpenCheckpoint(msg, goldenOrigin, trusted); !errors.Is(err, ledger.ErrInvalidCheckpoint) {
			t.Fatalf("error %v, want ErrInvalidCheckpoint", err)
		}
	})
}

func TestKeys(t *testing.T) {
	for _, name := range []string{"", "a b", "a+b", "a\nb", "\xff"} {
		if _, _, err := ledger.GenerateKey(name); err == nil {
			t.Errorf("GenerateKey(%q): no error", name)
		}
	}
	if _, err := ledger.NewSigner(goldenVKey); err == nil || strings.Contains(err.Error(), "Aeyl") {
		t.Errorf("NewSigner(vkey): error %v, want one without the key", err)
	}
	if _, err := ledger.NewVerifier("nonsense"); err == nil {
		t.Error("NewVerifier(nonsense): no error")
	}
	if _, err := ledger.NewVerifiers(goldenVKey, "nonsense"); err == nil {
		t.Error("NewVerifiers with a bad key: no error")
	}
	vs, err := ledger.NewVerifiers(goldenVKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ledger.OpenCheckpoint(mustSign(t, testCheckpoint(), goldenKey(t).signer), goldenOrigin, vs); err != nil {
		t.Fatal(err)
	}

	fp, err := ledger.KeyFingerprint(goldenVKey)
	if err != nil {
		t.Fatal(err)
	}
	// The fingerprint extends the key hash in the verifier key.
	if len(fp) != 64 || !strings.HasPrefix(fp, "3bd87a71") {
		t.Fatalf("KeyFingerprint = %s, want 64 hex digits starting with the key hash 3bd87a71", fp)
	}
	k := mustKey(t, "x.test/log")
	fp2, err := ledger.KeyFingerprint(k.vkey)
	if err != nil {
		t.Fatal(err)
	}
	if fp2 == fp || !strings.Contains(k.vkey, "+"+fp2[:8]+"+") {
		t.Fatalf("KeyFingerprint(%s) = %s", k.vkey, fp2)
	}
	if _, err := ledger.KeyFingerprint("nonsense"); err == nil {
		t.Error("KeyFingerprint(nonsense): no error")
	}
}
