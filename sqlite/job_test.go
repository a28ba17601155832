package sqlite_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/sqlite"
)

func TestJobs(t *testing.T) {
	setup := func(t *testing.T) *sqlite.DB {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		MustCreateTenant(t, db, "other")
		return db
	}
	t.Run("OK", func(t *testing.T) {
		db := setup(t)
		j := &auditshot.Job{TenantID: "acme", Kind: auditshot.JobScreenshot, Actor: "key1",
			Status:  auditshot.JobFailed, // CreateJob queues it whatever it says
			Request: json.RawMessage(`{"url":"https://example.com/"}`),
			Webhook: &auditshot.WebhookState{URL: "https://hooks.example/done"}}
		if err := db.CreateJob(t.Context(), j); err != nil {
			t.Fatal(err)
		}
		if j.ID == "" || j.Status != auditshot.JobQueued || j.CreatedAt.IsZero() || !j.UpdatedAt.Equal(j.CreatedAt) {
			t.Fatalf("CreateJob left %+v", j)
		}
		got, err := db.FindJob(t.Context(), "acme", j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, j); diff != "" {
			t.Errorf("FindJob (-got +want):\n%s", diff)
		}

		done := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
		next := done.Add(time.Minute)
		j.Status, j.FinishedAt = auditshot.JobSucceeded, &done
		j.Result = json.RawMessage(`{"capture_id":"c1"}`)
		j.Webhook.Attempts, j.Webhook.NextAttempt, j.Webhook.LastError = 1, &next, "503 Service Unavailable"
		created := j.UpdatedAt
		if err := db.UpdateJob(t.Context(), j); err != nil {
			t.Fatal(err)
		}
		if !j.UpdatedAt.After(created) {
			t.Errorf("UpdatedAt %v is not after %v", j.UpdatedAt, created)
		}
		got, err = db.FindJob(t.Context(), "acme", j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, j); diff != "" {
			t.Errorf("FindJob after update (-got +want):\n%s", diff)
		}

		j.Status, j.Result = auditshot.JobFailed, nil
		j.Error = &auditshot.JobError{Code: auditshot.ETIMEOUT, Message: "the page did not load"}
		if err := db.UpdateJob(t.Context(), j); err != nil {
			t.Fatal(err)
		}
		got, err = db.FindJob(t.Context(), "acme", j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, j); diff != "" {
			t.Errorf("FindJob after failure (-got +want):\n%s", diff)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		db := setup(t)
		j := &auditshot.Job{TenantID: "acme", Kind: auditshot.JobPDF}
		if err := db.CreateJob(t.Context(), j); err != nil {
			t.Fatal(err)
		}
		_, err := db.FindJob(t.Context(), "other", j.ID)
		wantCode(t, err, auditshot.ENOTFOUND)
		_, err = db.FindJob(t.Context(), "acme", "nope")
		wantCode(t, err, auditshot.ENOTFOUND)
		stolen := *j
		stolen.TenantID, stolen.Status = "other", auditshot.JobFailed
		wantCode(t, db.UpdateJob(t.Context(), &stolen), auditshot.ENOTFOUND)
		if got, err := db.FindJob(t.Context(), "acme", j.ID); err != nil || got.Status != auditshot.JobQueued {
			t.Errorf("after another tenant's update: %+v, %v", got, err)
		}
		wantCode(t, db.CreateJob(t.Context(), &auditshot.Job{TenantID: "nobody", Kind: auditshot.JobPDF}), auditshot.ENOTFOUND)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		db := setup(t)
		for _, j := range []*auditshot.Job{
			{TenantID: "acme"},
			{TenantID: "acme", Kind: auditshot.JobPDF, ID: "Bad ID"},
			{TenantID: "acme", Kind: auditshot.JobPDF, Request: json.RawMessage(`{`)},
		} {
			wantCode(t, db.CreateJob(t.Context(), j), auditshot.EINVALID)
		}
		j := &auditshot.Job{TenantID: "acme", Kind: auditshot.JobPDF}
		if err := db.CreateJob(t.Context(), j); err != nil {
			t.Fatal(err)
		}
		j.Status = "paused"
		wantCode(t, db.UpdateJob(t.Context(), j), auditshot.EINVALID)
		j.Status, j.Result = auditshot.JobSucceeded, json.RawMessage(`not json`)
		wantCode(t, db.UpdateJob(t.Context(), j), auditshot.EINVALID)
	})
	t.Run("ErrConflict", func(t *testing.T) {
		db := setup(t)
		if err := db.CreateJob(t.Context(), &auditshot.Job{TenantID: "acme", ID: "job-1", Kind: auditshot.JobPDF}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, db.CreateJob(t.Context(), &auditshot.Job{TenantID: "acme", ID: "job-1", Kind: auditshot.JobPDF}), auditshot.ECONFLICT)
		// Ids are per tenant.
		if err := db.CreateJob(t.Context(), &auditshot.Job{TenantID: "other", ID: "job-1", Kind: auditshot.JobPDF}); err != nil {
			t.Errorf("another tenant's job-1: %v", err)
		}
	})
}

func TestPendingJobs(t *testing.T) {
	db := MustOpenDB(t)
	MustCreateTenant(t, db, "acme")
	MustCreateTenant(t, db, "other")
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	// Each job is created, then updated to the state it ends in.
	for _, j := range []*auditshot.Job{
		{ID: "queued", TenantID: "acme", Status: auditshot.JobQueued},
		{ID: "running", TenantID: "other", Status: auditshot.JobRunning},
		{ID: "done", TenantID: "acme", Status: auditshot.JobSucceeded},
		{ID: "retry-due", TenantID: "other", Status: auditshot.JobFailed,
			Webhook: &auditshot.WebhookState{URL: "https://h.example", Attempts: 1, NextAttempt: &at}},
		{ID: "delivered", TenantID: "acme", Status: auditshot.JobSucceeded,
			Webhook: &auditshot.WebhookState{URL: "https://h.example", Attempts: 1, DeliveredAt: &at}},
		{ID: "delivered-stale-next", TenantID: "acme", Status: auditshot.JobSucceeded,
			Webhook: &auditshot.WebhookState{URL: "https://h.example", Attempts: 2, DeliveredAt: &at, NextAttempt: &at}},
		{ID: "given-up", TenantID: "acme", Status: auditshot.JobSucceeded,
			Webhook: &auditshot.WebhookState{URL: "https://h.example", Attempts: 9, LastError: "timeout"}},
		{ID: "queued-later", TenantID: "acme", Status: auditshot.JobQueued},
	} {
		status := j.Status
		j.Kind = auditshot.JobScreenshot
		if err := db.CreateJob(t.Context(), j); err != nil {
			t.Fatal(err)
		}
		j.Status = status
		if err := db.UpdateJob(t.Context(), j); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := db.PendingJobs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range jobs {
		got = append(got, j.TenantID+"/"+j.ID)
	}
	want := []string{"acme/queued", "other/running", "other/retry-due", "acme/queued-later"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("PendingJobs (-got +want):\n%s", diff)
	}
	if w := jobs[2].Webhook; w == nil || w.NextAttempt == nil || !w.NextAttempt.Equal(at) {
		t.Errorf("retry-due webhook = %+v", w)
	}

	// Once delivered, the job is no longer pending.
	j := jobs[2]
	j.Webhook.DeliveredAt, j.Webhook.NextAttempt = &at, nil
	if err := db.UpdateJob(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	if jobs, err = db.PendingJobs(t.Context()); err != nil || len(jobs) != 3 {
		t.Errorf("after delivery %d pending jobs, %v; want 3", len(jobs), err)
	}
}
