package server_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/internal/server"
)

// secretPage is a login form whose password field sits at a known place;
// submitting it (GET) puts the password in the next page's URL, which the
// evidence, the network log and the video's URL overlay would show if the
// secret were not scrubbed everywhere.
const secretPage = `<!doctype html><title>sign in</title>
<style>body{margin:0;background:#fff;font:16px sans-serif} input{position:absolute;left:40px;width:240px;height:32px;font-size:20px;border:1px solid #888;background:#fff;color:#000}</style>
<form action=/welcome>
<input id=user name=user style="top:40px">
<input id=password name=password type=text style="top:100px">
<button id=go style="position:absolute;left:40px;top:160px">Sign in</button>
</form>`

// TestSequence_SecretInNoBlobLogOrResponse types a secret into a form, as a
// flow with video, synchronously and as a job: the page gets it, and it is
// in no answer, no log line, no stored file (blobs, SQLite and its WAL) and
// no pixel: the field is an opaque box in the screenshots and the video.
func TestSequence_SecretInNoBlobLogOrResponse(t *testing.T) {
	var logs syncBuffer
	s := startServer(t, func(c *server.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	key := s.key(t, "default", auditshot.ScopeCapture, auditshot.ScopeWrite, auditshot.ScopeRead)
	const secret = "Sup3r-Secr3t-pw-4f9a"
	received := make(chan string, 4)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			io.WriteString(w, secretPage)
		case "/welcome":
			received <- r.URL.Query().Get("password")
			fmt.Fprintf(w, "<title>welcome</title><h1 id=hello>Welcome %s</h1>", r.URL.Query().Get("user"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer app.Close()

	var run auditshot.Run
	s.must(t, http.StatusCreated, "POST", "/v1/runs", key, map[string]any{"workflow": "sign_in"}).json(t, &run)
	flow := map[string]any{"url": app.URL + "/login", "run_id": run.ID, "video": true, "width": 640, "height": 360,
		"steps": []map[string]any{
			{"action": "fill", "selector": "#user", "value": "ops-bot"},
			{"action": "fill", "selector": "#password", "value": secret, "secret": true},
			{"action": "screenshot", "name": "filled"},
			{"action": "wait", "ms": 600},
			{"action": "click", "selector": "#go"},
			{"action": "assert_text", "selector": "#hello", "text": "Welcome ops-bot"},
		}}
	var answers [][]byte
	var out struct {
		auditshot.Capture
		Steps []struct {
			Status           string
			ScreenshotSHA256 string `json:"screenshot_sha256"`
		}
		Video    *auditshot.Artifact
		Chapters []auditshot.Chapter
	}
	r := s.must(t, http.StatusCreated, "POST", "/v1/sequences", key, flow)
	answers = append(answers, r.Body)
	r.json(t, &out)
	if out.Outcome != auditshot.SequenceSucceeded || out.Video == nil || out.Steps[2].ScreenshotSHA256 == "" {
		t.Fatalf("flow %s: %+v", out.Outcome, out.Steps)
	}
	if got := <-received; got != secret {
		t.Fatalf("the page got password %q", got)
	}

	// The same flow as a job.
	flow["async"] = true
	var job auditshot.Job
	r = s.must(t, http.StatusAccepted, "POST", "/v1/sequences", key, flow)
	answers = append(answers, r.Body)
	r.json(t, &job)
	eventually(t, 60*time.Second, "the job to finish", func() bool {
		r = s.must(t, http.StatusOK, "GET", "/v1/jobs/"+job.ID, key, nil)
		r.json(t, &job)
		return job.Status.Done()
	})
	answers = append(answers, r.Body)
	if job.Status != auditshot.JobSucceeded {
		t.Fatalf("job %+v", job.Error)
	}
	if got := <-received; got != secret {
		t.Fatalf("the job's page got password %q", got)
	}

	// Every answer, including every artifact and the run's proof.
	for _, a := range out.Artifacts {
		answers = append(answers, s.must(t, http.StatusOK, "GET", "/v1/artifacts/"+a.SHA256, key, nil).Body)
	}
	answers = append(answers, s.must(t, http.StatusOK, "GET", "/v1/runs/"+run.ID, key, nil).Body,
		s.must(t, http.StatusOK, "GET", "/v1/runs/"+run.ID+"/proof", key, nil).Body,
		s.must(t, http.StatusOK, "GET", "/v1/captures/"+out.ID, key, nil).Body)
	for i, b := range answers {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("answer %d holds the secret: %.300s", i, b)
		}
	}

	// The field is an opaque box in the screenshot, and in a video frame
	// taken while the flow waited after typing.
	shot := s.must(t, http.StatusOK, "GET", "/v1/artifacts/"+out.Steps[2].ScreenshotSHA256, key, nil).Body
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	wantMasked(t, "screenshot", img, 0)
	mp4 := s.must(t, http.StatusOK, "GET", "/v1/artifacts/"+out.Video.SHA256, key, nil).Body
	dir := t.TempDir()
	video := filepath.Join(dir, "flow.mp4")
	if err := os.WriteFile(video, mp4, 0o644); err != nil {
		t.Fatal(err)
	}
	frame := filepath.Join(dir, "frame.png")
	// The frame at the end of the 600 ms wait: the video shows the page as
	// the screencast delivered it, which under load lags the page (the
	// chromium tests check every frame of a secret fill for text).
	at := float64(out.Chapters[4].OffsetMS-100) / 1000
	if b, err := exec.CommandContext(t.Context(), "ffmpeg", "-v", "error", "-ss", fmt.Sprintf("%.3f", at), "-i", video, "-frames:v", "1", frame).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, b)
	}
	f, err := os.ReadFile(frame)
	if err != nil {
		t.Fatal(err)
	}
	vimg, err := png.Decode(bytes.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	wantMasked(t, "video frame", vimg, 40) // H.264 blurs the edges

	// No log line, and no byte of the data directory.
	if strings.Contains(logs.String(), secret) {
		t.Error("the server's log holds the secret")
	}
	if !strings.Contains(logs.String(), "/v1/sequences") {
		t.Errorf("no log line for the flows: the check above proves nothing")
	}
	s.DB.Close() // flush the WAL so every byte is on disk where we look
	files := 0
	filepath.WalkDir(s.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the secret", path)
		}
		return nil
	})
	if files < 5 {
		t.Errorf("only %d files in the data directory", files)
	}
}

// wantMasked checks that the password field (40,100 240x32 on the page) is
// one dark box: no white field, no glyphs.
func wantMasked(t *testing.T, what string, img image.Image, tol uint32) {
	t.Helper()
	for _, p := range [][2]int{{45, 105}, {80, 116}, {160, 116}, {240, 116}, {275, 128}} {
		r, g, b, _ := img.At(p[0], p[1]).RGBA()
		if r>>8 > tol || g>>8 > tol || b>>8 > tol {
			t.Errorf("%s: the secret field at %v is %d,%d,%d, not masked", what, p, r>>8, g>>8, b>>8)
		}
	}
}
