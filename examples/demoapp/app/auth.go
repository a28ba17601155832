package app

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "acme_session"

// sessions maps random tokens to usernames.
type sessions struct {
	rand io.Reader
	mu   sync.Mutex
	m    map[string]string
}

func newSessions(rand io.Reader) *sessions {
	return &sessions{rand: rand, m: make(map[string]string)}
}

func (s *sessions) create(username string) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("session token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[token] = username
	return token, nil
}

func (s *sessions) lookup(token string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.m[token]
	return u, ok
}

func (s *sessions) remove(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, token)
}

func (s *sessions) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = make(map[string]string)
}

// currentUser returns the user of the request's session. In open mode it
// is always alice.
func (a *App) currentUser(r *http.Request) (User, bool) {
	if a.cfg.Open {
		u, err := a.store.user("alice")
		return u, err == nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return User{}, false
	}
	name, ok := a.sessions.lookup(c.Value)
	if !ok {
		return User{}, false
	}
	u, err := a.store.user(name)
	return u, err == nil
}

type loginData struct {
	Username string
	Next     string
	Error    string
}

func (a *App) getLogin(w http.ResponseWriter, r *http.Request) error {
	return a.render(w, http.StatusOK, "login", page{Title: "Sign in", Data: loginData{Next: safeNext(r.URL.Query().Get("next"))}})
}

func (a *App) postLogin(w http.ResponseWriter, r *http.Request) error {
	username := strings.TrimSpace(r.PostFormValue("username"))
	next := safeNext(r.PostFormValue("next"))
	u, ok := a.store.authenticate(username, r.PostFormValue("password"))
	if !ok {
		d := loginData{Username: username, Next: next, Error: "Invalid username or password."}
		return a.render(w, http.StatusUnauthorized, "login", page{Title: "Sign in", Data: d})
	}
	token, err := a.sessions.create(u.Username)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil {
		a.sessions.remove(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// safeNext returns next if it is a local path, else /customers, so the
// login form cannot redirect to another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/login") {
		return "/customers"
	}
	return next
}
