package httpapi

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/auditshot/auditshot"
)

// sessionCookie names the console's session cookie.
const sessionCookie = "auditshot_session"

// maxSessions bounds the console sessions kept in memory.
const maxSessions = 10_000

// uiViewWindow is how long a session's look at an artifact counts as the
// same look: the further range requests of a video being played (or
// sought) within it are not recorded again.
const uiViewWindow = 10 * time.Minute

// uiSession is a signed-in browser. It is kept in memory, by the SHA-256
// of its cookie's random token, so that the cookie cannot be recovered
// from memory and a session dies with the process.
type uiSession struct {
	hash [32]byte
	// key is the API key signed in with: it is authenticated again (through
	// the key cache) on every request, so revoking it ends the session.
	key     string
	keyID   string
	csrf    string
	created time.Time

	// seen and viewed change; they are guarded by the store's mutex.
	seen   time.Time
	viewed map[string]time.Time // artifact SHA-256 -> when its view was recorded
}

// sessionStore holds the console's sessions.
type sessionStore struct {
	mu sync.Mutex
	m  map[[32]byte]*uiSession
}

func newSessionStore() *sessionStore {
	return &sessionStore{m: map[[32]byte]*uiSession{}}
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session for a key and returns its cookie token.
func (st *sessionStore) create(key *auditshot.APIKey, secret string, now time.Time, idle, maxAge time.Duration) (string, error) {
	token := randomToken()
	sess := &uiSession{hash: sha256.Sum256([]byte(token)), key: secret, keyID: key.ID, csrf: randomToken(),
		created: now, seen: now, viewed: map[string]time.Time{}}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.m) >= maxSessions {
		for h, s := range st.m {
			if expired(s, now, idle, maxAge) {
				delete(st.m, h)
			}
		}
		if len(st.m) >= maxSessions {
			return "", auditshot.Errorf(auditshot.EUNAVAILABLE, "too many console sessions: try again later")
		}
	}
	st.m[sess.hash] = sess
	return token, nil
}

func expired(s *uiSession, now time.Time, idle, maxAge time.Duration) bool {
	return now.Sub(s.seen) >= idle || now.Sub(s.created) >= maxAge
}

// find returns the live session of a cookie token and marks it seen, or
// nil. An expired session is ended.
func (st *sessionStore) find(token string, now time.Time, idle, maxAge time.Duration) *uiSession {
	h := sha256.Sum256([]byte(token))
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.m[h]
	if s == nil {
		return nil
	}
	if expired(s, now, idle, maxAge) {
		delete(st.m, h)
		return nil
	}
	s.seen = now
	return s
}

// end ends a session.
func (st *sessionStore) end(s *uiSession) {
	st.mu.Lock()
	delete(st.m, s.hash)
	st.mu.Unlock()
}

// viewedRecently reports whether the session's view of an artifact was
// recorded within uiViewWindow.
func (st *sessionStore) viewedRecently(s *uiSession, sha string, now time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	at, ok := s.viewed[sha]
	return ok && now.Sub(at) < uiViewWindow && now.Sub(at) >= 0
}

// markViewed notes that the session's view of an artifact was recorded.
func (st *sessionStore) markViewed(s *uiSession, sha string, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(s.viewed) >= 1000 {
		clear(s.viewed)
	}
	s.viewed[sha] = now
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/ui", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode})
}

func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/ui", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode})
}

// loginPage is the data of the sign-in page.
type loginPage struct {
	uiBase
	Next    string
	Error   string
	Notice  string
	Expired bool
}

// safeNext returns where to go after signing in: a console path, never
// another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, "/ui/login") {
		return "/ui/runs"
	}
	return next
}

func (u *ui) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := loginPage{uiBase: u.base(nil, "Sign in", ""), Next: safeNext(q.Get("next"))}
	switch q.Get("reason") {
	case "expired":
		p.Notice = "Your session has ended. Sign in again to continue."
	case "revoked":
		p.Notice = "The API key of your session was revoked. Sign in with a valid key."
	case "signedout":
		p.Notice = "You have signed out."
	}
	u.render(w, r, http.StatusOK, "login", p)
}

// handleLogin exchanges an API key with the audit or read scope for a
// session cookie.
func (u *ui) handleLogin(w http.ResponseWriter, r *http.Request) {
	if err := sameOrigin(r); err != nil {
		u.renderError(w, r, nil, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		u.renderError(w, r, nil, auditshot.Errorf(auditshot.EINVALID, "the form could not be read"))
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	fail := func(status int, msg string) {
		u.render(w, r, status, "login", loginPage{uiBase: u.base(nil, "Sign in", ""), Next: next, Error: msg})
	}
	secret := strings.TrimSpace(r.PostForm.Get("key"))
	if secret == "" {
		fail(http.StatusBadRequest, "Enter an API key.")
		return
	}
	// Every attempt takes a token of the client address's bucket; one
	// with a valid key gives it back, so only failures are limited.
	client := u.s.clientAddr(r)
	if st, ok := u.signIns.take(client, u.s.cfg.UISignInsPerMinute); !ok {
		secs := int(math.Ceil(st.retry.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		u.s.log.Warn("console sign-ins refused", "request_id", requestID(r.Context()), "client", client)
		fail(http.StatusTooManyRequests, fmt.Sprintf("Too many failed sign-ins from your address. Try again in %d seconds.", secs))
		return
	}
	key, err := u.s.keys.authenticate(r.Context(), u.s.cfg.Tenants, secret)
	if err == nil {
		u.signIns.giveBack(client, u.s.cfg.UISignInsPerMinute)
	}
	if err != nil {
		if auditshot.ErrorCode(err) == auditshot.EUNAUTHORIZED || auditshot.ErrorCode(err) == auditshot.EINVALID {
			fail(http.StatusUnauthorized, "That API key is not valid (or it was revoked).")
			return
		}
		u.renderError(w, r, nil, err)
		return
	}
	if info, ok := r.Context().Value(ctxLogInfo).(*logInfo); ok {
		info.tenant, info.key = key.TenantID, key.ID
	}
	if !consoleKey(key) {
		u.renderError(w, r, nil, auditshot.Errorf(auditshot.EFORBIDDEN,
			"the API key %s has neither the audit nor the read scope, which the evidence console needs", key.ID))
		return
	}
	token, err := u.sessions.create(key, secret, u.s.cfg.Now(), u.s.cfg.UISessionIdle, u.s.cfg.UISessionMax)
	if err != nil {
		u.renderError(w, r, nil, err)
		return
	}
	setSessionCookie(w, r, token)
	u.s.log.Info("console sign-in", "request_id", requestID(r.Context()), "tenant", key.TenantID, "key", key.ID)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (u *ui) handleLogout(w http.ResponseWriter, r *http.Request, ur *uiRequest) error {
	u.sessions.end(ur.sess)
	clearSessionCookie(w, r)
	http.Redirect(w, r, "/ui/login?reason=signedout", http.StatusSeeOther)
	return nil
}
