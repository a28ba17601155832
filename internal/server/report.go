package server

import (
	"context"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/chromium"
)

// reportPrintTimeout bounds printing one evidence report, in
// milliseconds: the longest a capture may take. A report describes at most
// bundle.MaxPrintEntries entries, which prints in seconds.
const reportPrintTimeout = int(auditshot.MaxTimeout / time.Millisecond)

// ReportPrinter returns the printer of evidence reports
// (bundle.WriteOptions.PrintPDF) backed by eng: the self-contained HTML is
// loaded from memory and printed to an A4 PDF with its backgrounds. The
// capture runs under an offline egress policy (every destination refused,
// whatever the operator allows), and the report's Content-Security-Policy
// (default-src 'none', images from data: URIs only) keeps the page from
// asking: printing needs no network.
func ReportPrinter(eng *chromium.Engine) func(ctx context.Context, html []byte) ([]byte, error) {
	return func(ctx context.Context, html []byte) ([]byte, error) {
		res, err := eng.Capture(ctx, auditshot.CaptureOptions{
			HTML: string(html), Format: auditshot.FormatPDF, MediaType: "print", Timeout: reportPrintTimeout,
			PDF: &auditshot.PDFOptions{Paper: "a4", PrintBackground: true},
		}, auditshot.CapturePolicy{Egress: auditshot.EgressPolicy{Offline: true}})
		if err != nil {
			return nil, err
		}
		return res.Data, nil
	}
}
