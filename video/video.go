// Package video encodes a browser flow's frames (JPEG or PNG images from a
// CDP screencast, each with the time it was shown) into an MP4 (H.264) or
// WebM (VP9) file through the distribution's ffmpeg.
//
// The video has a constant frame rate and holds every frame for its real
// duration: a page shown for 3 s is on screen for 3 s. Every output frame
// carries a burned-in bar with its UTC time, the page URL and the step
// label current at that moment. The bar sits below the page, never over it,
// so every pixel of the page stays visible: Config.Width and Config.Height
// are the page area, and the video is taller by the bar (Result.BarHeight,
// 42 px at 1280 px wide; the total height stays even for yuv420p).
// The bar is drawn in Go before the pixels reach ffmpeg, so text from the
// page never passes through an ffmpeg filter graph and cannot break or
// inject into it.
//
// Step changes become chapters: returned as data, marshalable to a JSON
// sidecar, and embedded in the file (MP4 chapters, with a QuickTime chapter
// track as a second, data-only stream; WebM chapters) when Config.FileChapters
// is set, so players list the
// steps. In the file, a chapter named "start" covers the video before the
// first step, and a step superseded within a millisecond is left out.
//
// Frames are decoded, scaled and overlaid in Go and streamed to ffmpeg's
// stdin as raw RGB; ffmpeg writes into a private temporary directory that is
// always removed, and the caller's writer receives the file only after ffmpeg
// has succeeded, so a failed encode leaves no half-written evidence.
package video

import (
	"time"
)

// Media types of the formats the encoder writes.
const (
	MediaTypeMP4  = "video/mp4"
	MediaTypeWebM = "video/webm"
)

// Output formats for Config.Format.
const (
	FormatMP4  = "mp4"
	FormatWebM = "webm"
)

// Frame is one image of a browser flow.
type Frame struct {
	// Image is the encoded picture, JPEG or PNG.
	Image []byte
	// Time is when the picture was shown. Times MUST increase strictly from
	// one frame to the next.
	Time time.Time
	// URL is the page URL current at this frame. Optional.
	URL string
	// Step is the label of the step current at this frame, such as
	// "3/7 fill #amount". A change of label starts a chapter. Optional.
	Step string
}

// Chapter marks where a step starts in the video.
type Chapter struct {
	// Step is the 1-based ordinal of the chapter.
	Step int `json:"step"`
	// Label is the frame's Step label.
	Label string `json:"label"`
	// OffsetMS is the time from the video's start (the first frame's time)
	// to the first frame with this label, in milliseconds.
	OffsetMS int64 `json:"offset_ms"`
	// URL is the page URL at the chapter's first frame, if known.
	URL string `json:"url,omitempty"`
}

// Result describes an encoded video.
type Result struct {
	// MediaType is MediaTypeMP4 or MediaTypeWebM.
	MediaType string
	// Start is the first frame's time: the instant the video's time 0 shows.
	Start time.Time
	// Duration is Frames / FPS.
	Duration time.Duration
	// FPS is the constant frame rate.
	FPS int
	// Width and Height are the encoded video's size in pixels: the page
	// area (Config.Width × Config.Height, or the first frame's size) with
	// the bar below it, so Height is the page's height plus BarHeight.
	Width, Height int
	// BarHeight is the height of the overlay bar, the bottom rows of the
	// video. The page area is Width × (Height - BarHeight), at the top.
	BarHeight int
	// Frames is the number of frames in the video.
	Frames int
	// Size is the number of bytes written to the caller's writer.
	Size int64
	// Chapters lists the step changes, in order.
	Chapters []Chapter
}

// Sidecar is the JSON document that accompanies a video: its chapters and
// shape, for a player or an auditor's report. Width and height are the
// encoded video's, bar included (a 1280x720 page gives 1280x762).
//
//	{"media_type":"video/mp4","start":"2026-11-27T10:04:05.2Z","duration_ms":5000,
//	 "fps":10,"width":1280,"height":762,"frames":50,
//	 "chapters":[{"step":1,"label":"1/7 open","offset_ms":0,"url":"https://..."}]}
type Sidecar struct {
	MediaType  string    `json:"media_type"`
	Start      time.Time `json:"start"`
	DurationMS int64     `json:"duration_ms"`
	FPS        int       `json:"fps"`
	Width      int       `json:"width"`
	Height     int       `json:"height"`
	Frames     int       `json:"frames"`
	Chapters   []Chapter `json:"chapters"`
}

// Sidecar returns the JSON sidecar of r. Chapters is never nil, so it
// marshals as a list.
func (r *Result) Sidecar() Sidecar {
	ch := r.Chapters
	if ch == nil {
		ch = []Chapter{}
	}
	return Sidecar{
		MediaType:  r.MediaType,
		Start:      r.Start.UTC(),
		DurationMS: r.Duration.Milliseconds(),
		FPS:        r.FPS,
		Width:      r.Width,
		Height:     r.Height,
		Frames:     r.Frames,
		Chapters:   ch,
	}
}
