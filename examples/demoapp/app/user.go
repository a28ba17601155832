package app

import (
	"crypto/subtle"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Permission keys. The permissions page shows each as a checkbox with id
// "perm-" + key.
const (
	PermAdmin          = "admin"           // change users' permissions
	PermRefunds        = "refunds"         // issue refunds
	PermApproveRefunds = "approve-refunds" // approve pending refunds
	PermExport         = "export"          // export customers as CSV
	PermValidation     = "validation"      // run data validation
)

// Permission describes one permission key.
type Permission struct {
	Key, Label, Description string
}

var permissions = []Permission{
	{PermAdmin, "Administrator", "Manage users and change their permissions"},
	{PermRefunds, "Issue refunds", "Submit refunds against customer orders"},
	{PermApproveRefunds, "Approve refunds", "Approve pending refunds for payout"},
	{PermExport, "Export data", "Download customer data as CSV"},
	{PermValidation, "Run data validation", "Run validation checks on imported records"},
}

// User is a console user. Username is its id in URLs.
type User struct {
	Username string
	Name     string
	Role     string
	Status   string
	Perms    map[string]bool
	password string
}

// Can reports whether u holds the permission.
func (u User) Can(perm string) bool { return u.Perms[perm] }

// PermLabels returns the labels of u's permissions, in display order.
func (u User) PermLabels() []string {
	var out []string
	for _, p := range permissions {
		if u.Perms[p.Key] {
			out = append(out, p.Label)
		}
	}
	return out
}

func (u *User) clone() User {
	c := *u
	c.Perms = maps.Clone(u.Perms)
	return c
}

// AuditEntry records a permission change.
type AuditEntry struct {
	At     time.Time
	Actor  string
	Target string
	Text   string
}

func (s *store) findUser(name string) *User {
	for _, u := range s.users {
		if u.Username == name {
			return u
		}
	}
	return nil
}

// user returns the user; ENOTFOUND if there is none.
func (s *store) user(name string) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.findUser(name)
	if u == nil {
		return User{}, errorf(ENOTFOUND, "User %q not found.", name)
	}
	return u.clone(), nil
}

func (s *store) authenticate(name, password string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.findUser(name)
	if u == nil || subtle.ConstantTimeCompare([]byte(u.password), []byte(password)) != 1 {
		return User{}, false
	}
	return u.clone(), true
}

func (s *store) listUsers() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, len(s.users))
	for i, u := range s.users {
		out[i] = u.clone()
	}
	return out
}

// setPermissions replaces target's permissions and records the change in
// the audit trail. It reports whether anything changed. Returns ENOTFOUND
// if there is no such user and EINVALID for an unknown permission.
func (s *store) setPermissions(actor, target string, keys []string) (bool, error) {
	next := make(map[string]bool)
	for _, k := range keys {
		if !slices.ContainsFunc(permissions, func(p Permission) bool { return p.Key == k }) {
			return false, errorf(EINVALID, "Unknown permission %q.", k)
		}
		next[k] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.findUser(target)
	if u == nil {
		return false, errorf(ENOTFOUND, "User %q not found.", target)
	}
	var granted, revoked []string
	for _, p := range permissions {
		switch {
		case next[p.Key] && !u.Perms[p.Key]:
			granted = append(granted, p.Label)
		case !next[p.Key] && u.Perms[p.Key]:
			revoked = append(revoked, p.Label)
		}
	}
	if len(granted)+len(revoked) == 0 {
		return false, nil
	}
	u.Perms = next
	var parts []string
	if len(granted) > 0 {
		parts = append(parts, "granted "+strings.Join(granted, ", "))
	}
	if len(revoked) > 0 {
		parts = append(parts, "revoked "+strings.Join(revoked, ", "))
	}
	s.audit = append(s.audit, AuditEntry{At: s.now(), Actor: actor, Target: target, Text: strings.Join(parts, "; ")})
	return true, nil
}

// auditFor returns the audit entries about target, newest first.
func (s *store) auditFor(target string) []AuditEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []AuditEntry
	for _, e := range slices.Backward(s.audit) {
		if e.Target == target {
			out = append(out, e)
		}
	}
	return out
}

func (a *App) getUsers(w http.ResponseWriter, r *http.Request, me User) error {
	return a.render(w, http.StatusOK, "users", page{Title: "Users", Nav: "users", User: &me, Data: a.store.listUsers()})
}

type permissionsData struct {
	Target      User
	Permissions []Permission
	CanEdit     bool
	Saved       string // "1" after a change, "0" after a save without changes
	Audit       []AuditEntry
}

func (a *App) getPermissions(w http.ResponseWriter, r *http.Request, me User) error {
	target, err := a.store.user(r.PathValue("id"))
	if err != nil {
		return err
	}
	d := permissionsData{
		Target: target, Permissions: permissions, CanEdit: me.Can(PermAdmin),
		Saved: r.URL.Query().Get("saved"), Audit: a.store.auditFor(target.Username),
	}
	return a.render(w, http.StatusOK, "permissions", page{Title: "Permissions · " + target.Username, Nav: "users", User: &me, Data: d})
}

func (a *App) postPermissions(w http.ResponseWriter, r *http.Request, me User) error {
	if !me.Can(PermAdmin) {
		return errorf(EFORBIDDEN, "You need the Administrator permission to change permissions.")
	}
	if err := r.ParseForm(); err != nil {
		return errorf(EINVALID, "Malformed form.")
	}
	id := r.PathValue("id")
	changed, err := a.store.setPermissions(me.Username, id, r.PostForm["perm"])
	if err != nil {
		return err
	}
	saved := "0"
	if changed {
		saved = "1"
	}
	a.log.Info("permissions saved", "actor", me.Username, "target", id, "changed", changed)
	http.Redirect(w, r, "/users/"+id+"/permissions?saved="+saved, http.StatusSeeOther)
	return nil
}
