package video

import (
	"context"
	"io"
	"time"

	"github.com/auditshot/auditshot"
)

// Service records videos for the capture engine: it implements
// auditshot.VideoEncoder with this package's Encoder, one per recording.
// Config is the base configuration; each recording sets its FPS, format
// and size.
type Service struct {
	Config Config
}

var _ auditshot.VideoEncoder = Service{}

// Record implements auditshot.VideoEncoder.
func (s Service) Record(ctx context.Context, c auditshot.VideoConfig) (auditshot.VideoRecorder, error) {
	cfg := s.Config
	cfg.FPS, cfg.Format, cfg.Width, cfg.Height = c.FPS, c.Format, c.Width, c.Height
	enc, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return serviceRecorder{enc.Record(ctx)}, nil
}

// serviceRecorder adapts a Recorder to auditshot.VideoRecorder.
type serviceRecorder struct{ r *Recorder }

func (v serviceRecorder) Add(f auditshot.VideoFrame) error {
	return v.r.Add(Frame{Image: f.Image, Time: f.Time, URL: f.URL, Step: f.Step})
}

func (v serviceRecorder) Finish(end time.Time, w io.Writer) (*auditshot.VideoInfo, error) {
	res, err := v.r.Finish(end, w)
	if err != nil {
		return nil, err
	}
	info := &auditshot.VideoInfo{MediaType: res.MediaType, Duration: res.Duration}
	for _, c := range res.Chapters {
		info.Chapters = append(info.Chapters, auditshot.Chapter{Step: c.Step, Label: c.Label, OffsetMS: c.OffsetMS})
	}
	return info, nil
}

func (v serviceRecorder) Close() error { return v.r.Close() }
