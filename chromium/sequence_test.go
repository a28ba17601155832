package chromium_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/chromium"
	"github.com/auditshot/auditshot/video"
)

// formPage has one element for every kind of step.
const formPage = `<!doctype html><title>form</title>
<style>
body { margin: 0; font: 16px sans-serif; background: #fff; height: 3000px; }
input, select, button, #hover, #keys, #dbl, #late, #bottom { position: absolute; }
#menu { display: none; } #hover:hover #menu { display: block; }
</style>
<input id=amount style="left:20px;top:20px;width:200px;height:30px">
<input id=password style="left:20px;top:70px;width:200px;height:30px;font-size:24px;color:#000;background:#fff;border:1px solid #888">
<select id=currency style="left:20px;top:120px"><option value=usd>USD</option><option value=eur>Euro</option></select>
<input id=agree type=checkbox style="left:20px;top:160px;width:20px;height:20px">
<button id=go style="left:20px;top:200px">Go</button>
<div id=hover style="left:300px;top:20px;width:100px;height:30px;background:#ccc">Menu<div id=menu>Item</div></div>
<div id=keys style="left:300px;top:80px">none</div>
<div id=dbl style="left:300px;top:120px;width:100px;height:30px;background:#ddd">dbl</div>
<div id=late style="left:300px;top:200px"></div>
<div id=bottom style="left:20px;top:2500px">bottom</div>
<script>
const $ = id => document.getElementById(id);
document.addEventListener('keydown', e => { $('keys').textContent = 'key:' + e.key; });
$('dbl').addEventListener('dblclick', () => { $('dbl').textContent = 'double'; });
$('go').addEventListener('click', () => {
  location.href = '/confirm?amount=' + encodeURIComponent($('amount').value) + '&currency=' + $('currency').value + '&agree=' + $('agree').checked;
});
setTimeout(() => { $('late').textContent = 'Ready now'; }, 300);
</script>`

func formServer(t *testing.T) string {
	t.Helper()
	srv := Serve(t, map[string]http.HandlerFunc{
		"/form": HTML(formPage),
		"/confirm": func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			HTML(fmt.Sprintf(`<title>done</title><h1 id=done>Confirmed %s %s agree=%s</h1>`, q.Get("amount"), q.Get("currency"), q.Get("agree")))(w, r)
		},
	})
	return srv.URL
}

var scripts = auditshot.CapturePolicy{Egress: local.Egress, AllowScripts: true}

func MustSequence(tb testing.TB, e *chromium.Engine, o auditshot.SequenceOptions, policy auditshot.CapturePolicy) *auditshot.SequenceResult {
	tb.Helper()
	res, err := e.Sequence(tb.Context(), o, policy)
	if err != nil {
		tb.Fatalf("sequence: %v", err)
	}
	return res
}

func TestSequence_EveryStep(t *testing.T) {
	e := Shared(t)
	base := formServer(t)
	steps := []auditshot.Step{
		{Action: "navigate", URL: base + "/form"},
		{Action: "fill", Selector: "#amount", Value: "42.50"},
		{Action: "select", Selector: "#currency", Value: "Euro"},
		{Action: "check", Selector: "#agree"},
		{Action: "hover", Selector: "#hover"},
		{Action: "assert_visible", Selector: "#menu"},
		{Action: "press", Key: "Enter"},
		{Action: "assert_text", Selector: "#keys", Text: "key:Enter"},
		{Action: "dblclick", Selector: "#dbl"},
		{Action: "assert_text", Selector: "#dbl", Text: "double"},
		{Action: "wait_for", Text: "Ready now"},
		{Action: "wait", MS: 50},
		{Action: "scroll", Selector: "#bottom"},
		{Action: "evaluate", Script: "return scrollY > 1000"},
		{Action: "scroll", Y: -5000},
		{Action: "screenshot", Name: "filled"},
		{Action: "evaluate", Script: "return document.getElementById('amount').value"},
		{Action: "pdf", Name: "form"},
		{Action: "click", Selector: "#go"},
		{Action: "wait_for", URL: "/confirm"},
		{Action: "assert_url", URL: "/confirm?amount=42.50"},
		{Action: "wait_for", Selector: "#done"},
		{Action: "assert_text", Text: "Confirmed 42.50 eur agree=true"},
	}
	res := MustSequence(t, e, auditshot.SequenceOptions{Steps: steps, Width: 800, Height: 600}, scripts)
	for _, r := range res.Steps {
		if r.Status != auditshot.StepOK {
			t.Errorf("step %d %q: %s %s", r.Index, r.Label, r.Status, r.Error)
		}
	}
	if res.Status != auditshot.SequenceSucceeded {
		t.Fatalf("status %s", res.Status)
	}
	if got := res.Steps[13].Result; got != "true" {
		t.Errorf("scroll: evaluate says %s, want true", got)
	}
	if got := res.Steps[16].Result; got != `"42.50"` {
		t.Errorf("evaluate result %s, want \"42.50\"", got)
	}
	shot := res.Steps[15].Screenshot
	if shot == nil || shot.Name != "filled" || shot.Width != 800 || shot.Height != 600 {
		t.Fatalf("screenshot step: %+v", shot)
	}
	SaveArtifact(t, "sequence-filled.png", shot.Data)
	WantColor(t, Decode(t, shot.Data), 330, 35, RGB{0xcc, 0xcc, 0xcc}, 8) // the hover box
	if p := res.Steps[17].Screenshot; p == nil || !bytes.HasPrefix(p.Data, []byte("%PDF")) || p.MediaType != "application/pdf" {
		t.Errorf("pdf step: %+v", p)
	}
	if !strings.Contains(res.Evidence.FinalURL, "/confirm?") || res.Evidence.Title != "done" {
		t.Errorf("final page %q %q", res.Evidence.FinalURL, res.Evidence.Title)
	}
	if !bytes.Contains(res.DOM, []byte("Confirmed 42.50")) {
		t.Error("the DOM snapshot is not the final page")
	}
	if res.Steps[0].Label != "navigate "+base+"/form" || res.Steps[1].Label != "fill #amount" {
		t.Errorf("labels %q, %q", res.Steps[0].Label, res.Steps[1].Label)
	}
	if len(res.Evidence.Network) == 0 || res.Evidence.Network[0].RemoteIP == "" {
		t.Errorf("network log without egress facts: %+v", res.Evidence.Network)
	}
}

func TestSequence_AssertFails(t *testing.T) {
	e := Shared(t)
	base := formServer(t)
	for _, tc := range []struct {
		step auditshot.Step
		want string
	}{
		{auditshot.Step{Action: "assert_text", Text: "no such text", Timeout: 300}, `"no such text" not found`},
		{auditshot.Step{Action: "assert_url", URL: "/elsewhere", Timeout: 300}, `does not contain "/elsewhere"`},
		{auditshot.Step{Action: "assert_visible", Selector: "#menu", Timeout: 300}, "#menu is not visible"},
		{auditshot.Step{Action: "wait_for", Selector: "#never", Timeout: 400}, "#never did not appear within 400 ms"},
	} {
		t.Run(tc.step.Action, func(t *testing.T) {
			start := time.Now()
			res := MustSequence(t, e, auditshot.SequenceOptions{URL: base + "/form", Width: 640, Height: 400, Steps: []auditshot.Step{
				{Action: "fill", Selector: "#amount", Value: "7"},
				tc.step,
				{Action: "click", Selector: "#go"},
			}}, local)
			took := time.Since(start)
			if res.Status != auditshot.SequenceFailed {
				t.Fatalf("status %s", res.Status)
			}
			got := []string{res.Steps[0].Status, res.Steps[1].Status, res.Steps[2].Status}
			if got[0] != "ok" || got[1] != "failed" || got[2] != "skipped" {
				t.Fatalf("statuses %v", got)
			}
			f := res.Steps[1]
			if !strings.Contains(f.Error, tc.want) {
				t.Errorf("error %q, want it to contain %q", f.Error, tc.want)
			}
			if f.Screenshot == nil || f.Screenshot.Name != "failure" || f.Screenshot.Width != 640 {
				t.Fatalf("failure screenshot %+v", f.Screenshot)
			}
			SaveArtifact(t, "sequence-failure-"+tc.step.Action+".png", f.Screenshot.Data)
			Decode(t, f.Screenshot.Data)
			if d := time.Duration(f.DurationMS) * time.Millisecond; d < time.Duration(tc.step.Timeout)*time.Millisecond || d > 3*time.Second {
				t.Errorf("failing step took %v, timeout %d ms", d, tc.step.Timeout)
			}
			if took > 10*time.Second {
				t.Errorf("flow took %v", took)
			}
			if !strings.HasSuffix(res.Evidence.FinalURL, "/form") {
				t.Errorf("final URL %s: a skipped step ran", res.Evidence.FinalURL)
			}
		})
	}
}

func TestSequence_FlowTimeout(t *testing.T) {
	e := Shared(t)
	base := formServer(t)
	start := time.Now()
	res := MustSequence(t, e, auditshot.SequenceOptions{URL: base + "/form", Timeout: 800, Steps: []auditshot.Step{
		{Action: "wait_for", Selector: "#never"},
		{Action: "click", Selector: "#go"},
	}}, local)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("flow of 800 ms took %v", took)
	}
	if res.Status != auditshot.SequenceFailed || res.Steps[0].Status != auditshot.StepFailed || res.Steps[0].Screenshot == nil || res.Steps[1].Status != auditshot.StepSkipped {
		t.Fatalf("%+v", res.Steps)
	}
}

func TestSequence_Evaluate(t *testing.T) {
	e := Shared(t)
	base := formServer(t)
	o := auditshot.SequenceOptions{URL: base + "/form", Steps: []auditshot.Step{{Action: "evaluate", Script: "return 1 + 1"}}}
	t.Run("ErrForbidden", func(t *testing.T) {
		_, err := e.Sequence(t.Context(), o, local)
		if auditshot.ErrorCode(err) != auditshot.EFORBIDDEN || !strings.Contains(auditshot.ErrorMessage(err), "steps[0].script") {
			t.Fatalf("err %v, want EFORBIDDEN naming steps[0].script", err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		res := MustSequence(t, e, o, scripts)
		if res.Status != auditshot.SequenceSucceeded || res.Steps[0].Result != "2" {
			t.Fatalf("%+v", res.Steps[0])
		}
	})
}

func TestSequence_Invalid(t *testing.T) {
	e := Shared(t)
	for _, tc := range []struct {
		o    auditshot.SequenceOptions
		want string
	}{
		{auditshot.SequenceOptions{URL: "http://127.0.0.1/", Steps: []auditshot.Step{{Action: "fill", Value: "x"}, {Action: "click"}}}, "steps[0].selector: required for fill"},
		{auditshot.SequenceOptions{URL: "http://127.0.0.1/", Steps: []auditshot.Step{{Action: "wait", MS: 1}, {Action: "click"}}}, "steps[1].selector: required for click"},
		{auditshot.SequenceOptions{Steps: []auditshot.Step{{Action: "click", Selector: "a"}}}, "url: required unless the first step navigates"},
		{auditshot.SequenceOptions{URL: "http://127.0.0.1/", Steps: []auditshot.Step{{Action: "wait_for", Text: "a", Selector: "b"}}}, "steps[0].selector: wait_for needs exactly one"},
		{auditshot.SequenceOptions{URL: "http://127.0.0.1/", Steps: []auditshot.Step{{Action: "click", Selector: "a", Secret: true}}}, "steps[0].secret"},
		{auditshot.SequenceOptions{URL: "http://127.0.0.1/", Steps: []auditshot.Step{{Action: "wait", MS: 1, Timeout: 61000}}}, "steps[0].timeout"},
		{auditshot.SequenceOptions{URL: "http://127.0.0.1/", Steps: []auditshot.Step{{Action: "teleport"}}}, "steps[0].action: unknown action"},
		{auditshot.SequenceOptions{URL: "http://127.0.0.1/", Steps: make([]auditshot.Step, 101)}, "steps: at most 100"},
		{auditshot.SequenceOptions{URL: "http://127.0.0.1/", Video: true, VideoFPS: 31, Steps: []auditshot.Step{{Action: "wait", MS: 1}}}, "video_fps"},
		{auditshot.SequenceOptions{URL: "http://127.0.0.1/", Steps: []auditshot.Step{{Action: "navigate", URL: "file:///etc/passwd"}}}, "steps[0].url: scheme"},
	} {
		_, err := e.Sequence(t.Context(), tc.o, scripts)
		if auditshot.ErrorCode(err) != auditshot.EINVALID || !strings.Contains(auditshot.ErrorMessage(err), tc.want) {
			t.Errorf("err %v, want EINVALID with %q", err, tc.want)
		}
	}
}

func TestSequence_Egress(t *testing.T) {
	e := Shared(t)
	base := formServer(t)
	tr := newTrap(t, "127.0.0.2:0")
	if tr == nil {
		t.Fatal("cannot listen on 127.0.0.2")
	}
	res := MustSequence(t, e, auditshot.SequenceOptions{URL: base + "/form", Steps: []auditshot.Step{
		{Action: "navigate", URL: "http://127.0.0.2:" + tr.port() + "/"},
		{Action: "assert_text", Text: "anything"},
	}}, local)
	if res.Status != auditshot.SequenceFailed || res.Steps[0].Status != auditshot.StepFailed || res.Steps[1].Status != auditshot.StepSkipped {
		t.Fatalf("result %+v", res.Steps)
	}
	if !strings.Contains(res.Steps[0].Error, `rule "loopback"`) {
		t.Errorf("error %q does not name the rule", res.Steps[0].Error)
	}
	if n := tr.accepted.Load(); n != 0 {
		t.Errorf("the refused address got %d connections", n)
	}
	if !strings.HasSuffix(res.Evidence.FinalURL, "/form") {
		t.Errorf("final URL %s", res.Evidence.FinalURL)
	}

	t.Run("StartPage", func(t *testing.T) {
		_, err := e.Sequence(t.Context(), auditshot.SequenceOptions{URL: "http://127.0.0.2:" + tr.port() + "/", Steps: []auditshot.Step{{Action: "wait", MS: 1}}}, local)
		if auditshot.ErrorCode(err) != auditshot.EFORBIDDEN {
			t.Fatalf("err %v, want EFORBIDDEN", err)
		}
	})
}

func TestSequence_VideoWithoutFFmpeg(t *testing.T) {
	e := MustEngine(t, chromium.Config{Prewarm: -1, Concurrency: 1, Video: video.Service{Config: video.Config{FFmpegPath: "/nonexistent/ffmpeg", Logger: testLogger()}}})
	_, err := e.Sequence(t.Context(), auditshot.SequenceOptions{URL: "http://127.0.0.1/", Video: true, Steps: []auditshot.Step{{Action: "wait", MS: 1}}}, local)
	var ae *auditshot.Error
	if !errors.As(err, &ae) || ae.Code != auditshot.EUNAVAILABLE || !strings.Contains(ae.Message, "ffmpeg") {
		t.Fatalf("err %v, want EUNAVAILABLE naming ffmpeg", err)
	}
}

// TestSequence_SecretVideo fills a secret while recording: the secret is in
// no returned byte, and its field is an opaque box in a screenshot and in
// the video.
func TestSequence_SecretVideo(t *testing.T) {
	const secret = "hunter2-S3cr3t-xyz"
	e := MustEngine(t, chromium.Config{Concurrency: 1, Video: video.Service{Config: video.Config{Logger: testLogger()}}})
	base := formServer(t)
	steps := []auditshot.Step{
		{Action: "fill", Selector: "#amount", Value: "12"},
		{Action: "fill", Selector: "#password", Value: secret, Secret: true},
		{Action: "wait", MS: 1500},
		{Action: "screenshot", Name: "after-fill"},
		{Action: "press", Key: "Tab"},
		{Action: "wait", MS: 1500},
		{Action: "assert_text", Text: "Ready now"},
	}
	start := time.Now()
	res := MustSequence(t, e, auditshot.SequenceOptions{
		URL: base + "/form", Width: 640, Height: 400, Video: true, MaskSelectors: []string{"#dbl"}, Steps: steps,
	}, local)
	wall := time.Since(start)
	if res.Status != auditshot.SequenceSucceeded {
		t.Fatalf("status %s: %+v", res.Status, res.Steps)
	}

	// The secret is nowhere.
	js, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"result JSON": js, "DOM": res.DOM, "video": res.Video} {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("the secret is in the %s", name)
		}
	}
	for _, r := range res.Steps {
		if strings.Contains(r.Error+r.Label+r.URL+r.Result, secret) {
			t.Errorf("the secret is in step %d", r.Index)
		}
	}
	if res.Options.Steps[1].Value != auditshot.Redacted {
		t.Errorf("effective options keep the secret fill's value: %q", res.Options.Steps[1].Value)
	}
	var found bool
	for _, r := range res.Evidence.Redactions {
		if r.Kind == "secret" && r.Selector == "#password" && r.Box != nil && r.Box.Width >= 200 && r.Box.Height >= 30 {
			found = true
		}
	}
	if !found {
		t.Errorf("no secret redaction recorded: %+v", res.Evidence.Redactions)
	}

	// The field is an opaque box in the screenshot after the fill.
	shot := res.Steps[3].Screenshot
	SaveArtifact(t, "sequence-secret.png", shot.Data)
	img := Decode(t, shot.Data)
	for _, p := range [][2]int{{22, 72}, {60, 85}, {120, 85}, {200, 98}, {218, 98}} {
		WantColor(t, img, p[0], p[1], black, 0)
	}
	WantColor(t, img, 120, 35, white, 8)  // the amount field is not masked
	WantColor(t, img, 350, 135, black, 0) // mask_selectors

	// The video.
	if res.VideoMediaType != "video/mp4" || len(res.Video) == 0 {
		t.Fatalf("video %q, %d bytes", res.VideoMediaType, len(res.Video))
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "flow.mp4")
	if err := os.WriteFile(file, res.Video, 0o644); err != nil {
		t.Fatal(err)
	}
	SaveArtifact(t, "sequence.mp4", res.Video)
	probe := ffprobe(t, file)
	if probe.codec != "h264" || probe.pixFmt != "yuv420p" || probe.fps != "10/1" || probe.width != 640 || probe.height != 432 {
		t.Errorf("ffprobe: %+v", probe)
	}
	// Frames are held for their real duration: from the first step's
	// chapter to its end the video lasts as long as the steps took, as the
	// engine timed them (the test's own wall time also counts taking a
	// context and encoding, and varies on a loaded machine). Before the
	// first step, it shows the start page loading.
	if len(res.Chapters) == 0 {
		t.Fatal("no chapters")
	}
	var stepsMS float64
	for _, r := range res.Steps {
		stepsMS += r.DurationMS
	}
	flow := time.Duration(stepsMS * float64(time.Millisecond))
	lead := time.Duration(res.Chapters[0].OffsetMS) * time.Millisecond
	t.Logf("video %v: %v before the first step, then steps of %v (wall %v); chapters %+v", probe.duration, lead, flow, wall, res.Chapters)
	if d := probe.duration - lead; d < flow*9/10 || d > flow*11/10 {
		t.Errorf("the video lasts %v after the first step, the steps took %v", d, flow)
	}
	if flow < 3*time.Second || flow > wall {
		t.Errorf("steps took %v: they wait 3 s and the test waited %v", flow, wall)
	}
	if nav := time.Duration(res.Evidence.Timings.NavigationMS * float64(time.Millisecond)); lead < nav*9/10 {
		t.Errorf("the video starts %v before the first step; loading the start page took %v", lead, nav)
	}
	if len(res.Chapters) != len(steps) {
		t.Fatalf("chapters %+v, want one per step", res.Chapters)
	}
	for i, c := range res.Chapters {
		want := fmt.Sprintf("%d/%d %s", i+1, len(steps), res.Steps[i].Label)
		if c.Label != want || c.Step != i+1 || (i > 0 && c.OffsetMS <= res.Chapters[i-1].OffsetMS) {
			t.Errorf("chapter %d: %+v, want label %q and increasing offsets", i, c, want)
		}
	}
	// A frame during the wait after the secret fill.
	at := time.Duration(res.Chapters[2].OffsetMS+600) * time.Millisecond
	frame := filepath.Join(dir, "frame.png")
	out, err := exec.CommandContext(t.Context(), "ffmpeg", "-v", "error", "-ss", fmt.Sprintf("%.3f", at.Seconds()), "-i", file, "-frames:v", "1", frame).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	data, err := os.ReadFile(frame)
	if err != nil {
		t.Fatal(err)
	}
	SaveArtifact(t, "sequence-secret-frame.png", data)
	fimg := Decode(t, data)
	for _, p := range [][2]int{{30, 78}, {60, 85}, {120, 85}, {180, 92}, {210, 92}} {
		WantColor(t, fimg, p[0], p[1], black, 24)
	}

	// Every frame from the start of the secret fill on: the field is empty
	// (before the mask) or masked, never showing text. The video shows the
	// page as the screencast delivered it, which under load is some frames
	// after the page changed, so the field may still look empty a little
	// after the fill step ended; the frame 600 ms into the wait after it
	// was checked as masked above.
	from := time.Duration(res.Chapters[1].OffsetMS) * time.Millisecond
	filled := time.Duration(res.Chapters[2].OffsetMS)*time.Millisecond - from
	out, err = exec.CommandContext(t.Context(), "ffmpeg", "-v", "error", "-ss", fmt.Sprintf("%.3f", from.Seconds()), "-i", file,
		"-vf", "fps=10", filepath.Join(dir, "f%04d.png")).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	frames, _ := filepath.Glob(filepath.Join(dir, "f*.png"))
	if len(frames) < 20 {
		t.Fatalf("%d frames after the fill", len(frames))
	}
	for i, f := range frames {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		img := Decode(t, data)
		var dark, light int
		for x := 26; x < 216; x += 4 {
			for _, y := range []int{80, 85, 90} {
				switch c := At(img, x, y); {
				case Near(c, black, 40):
					dark++
				case Near(c, white, 40):
					light++
				}
			}
		}
		at := time.Duration(i) * 100 * time.Millisecond
		masked := light == 0 && dark > 0
		empty := dark == 0 && light > 0
		if !masked && (!empty || at > filled+600*time.Millisecond) {
			SaveArtifact(t, fmt.Sprintf("sequence-secret-bad-frame-%02d.png", i), data)
			t.Errorf("frame %d (%v after the fill began, which took %v): field neither masked nor empty (%d dark, %d light samples)", i, at, filled, dark, light)
		}
	}
}

func TestSequence_HeadersToStartOriginOnly(t *testing.T) {
	e := Shared(t)
	got := make(chan string, 4)
	other := Serve(t, map[string]http.HandlerFunc{"/": func(w http.ResponseWriter, r *http.Request) {
		got <- "other:" + r.Header.Get("X-Audit") + ":" + r.Header.Get("Authorization")
		HTML(`<title>other</title>other page`)(w, r)
	}})
	start := Serve(t, map[string]http.HandlerFunc{"/": func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		got <- "start:" + r.Header.Get("X-Audit")
		HTML(`<title>start</title>start page`)(w, r)
	}})
	res := MustSequence(t, e, auditshot.SequenceOptions{URL: start.URL + "/", Headers: map[string]string{"X-Audit": "token-1"},
		Steps: []auditshot.Step{{Action: "navigate", URL: other.URL + "/"}, {Action: "assert_text", Text: "other page"}}}, local)
	if res.Status != auditshot.SequenceSucceeded {
		t.Fatalf("%+v", res.Steps)
	}
	if a, b := <-got, <-got; a != "start:token-1" || b != "other::" {
		t.Errorf("requests saw %q, %q", a, b)
	}
	if res.Options.Headers["X-Audit"] != auditshot.Redacted || res.Evidence.Options.Headers["X-Audit"] != auditshot.Redacted {
		t.Errorf("header value not redacted in the effective options")
	}
}

type probeResult struct {
	codec, pixFmt, fps string
	width, height      int
	duration           time.Duration
}

func ffprobe(t *testing.T, file string) probeResult {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,pix_fmt,r_frame_rate,width,height:format=duration", "-of", "json", file).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var p struct {
		Streams []struct {
			CodecName string `json:"codec_name"`
			PixFmt    string `json:"pix_fmt"`
			Rate      string `json:"r_frame_rate"`
			Width     int    `json:"width"`
			Height    int    `json:"height"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &p); err != nil || len(p.Streams) != 1 {
		t.Fatalf("ffprobe output %s: %v", out, err)
	}
	s := p.Streams[0]
	secs, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return probeResult{s.CodecName, s.PixFmt, s.Rate, s.Width, s.Height, time.Duration(secs * float64(time.Second))}
}

// A click or key press that starts a navigation waits for the page it leads
// to; one that starts none, or one answered 204, does not hang.
func TestSequence_WaitsForNavigation(t *testing.T) {
	e := Shared(t)
	const delay = 400 * time.Millisecond
	srv := Serve(t, map[string]http.HandlerFunc{
		"/start": HTML(`<title>start</title>
<a id=slow href=/slow>slow</a> <a id=empty href=/empty>empty</a> <button id=noop>noop</button>
<form action=/slow><input id=q name=q></form>`),
		// The app is slow to answer: a step that did not wait would still
		// see /start.
		"/slow": func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(delay)
			HTML(`<title>slow</title><a id=back href=/start>back</a>`)(w, r)
		},
		"/empty": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) },
	})
	where := auditshot.Step{Action: "evaluate", Script: "return location.pathname + location.search + '|' + document.title"}
	res := MustSequence(t, e, auditshot.SequenceOptions{URL: srv.URL + "/start", Steps: []auditshot.Step{
		{Action: "click", Selector: "#noop"},
		{Action: "click", Selector: "#empty"},
		where,
		{Action: "click", Selector: "#slow"},
		where,
		{Action: "click", Selector: "#back"},
		{Action: "fill", Selector: "#q", Value: "x"},
		{Action: "press", Key: "Enter"},
		where,
	}}, scripts)
	if res.Status != auditshot.SequenceSucceeded {
		t.Fatalf("status %s: %+v", res.Status, res.Steps)
	}
	for i, want := range map[int]string{2: `"/start|start"`, 4: `"/slow|slow"`, 8: `"/slow?q=x|slow"`} {
		if got := res.Steps[i].Result; got != want {
			t.Errorf("after step %d (%s): page %s, want %s", i-1, res.Steps[i-1].Label, got, want)
		}
	}
	for _, i := range []int{3, 7} {
		if d := time.Duration(res.Steps[i].DurationMS * float64(time.Millisecond)); d < delay {
			t.Errorf("step %d (%s) took %v, less than the page's %v", i, res.Steps[i].Label, d, delay)
		}
	}
}
