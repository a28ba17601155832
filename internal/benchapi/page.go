package main

import (
	"io"
	"net/http"
	"net/http/httptest"
)

// pageHTML is a small account page, like the ones agents act on.
const pageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Refund 981 — Account statement</title>
<style>
body { font: 15px/1.5 "Liberation Sans", "Noto Sans", sans-serif; margin: 0; color: #1d2733; background: #f4f6f8; }
header { background: #1f3a5f; color: #fff; padding: 16px 32px; font-size: 20px; }
main { padding: 24px 32px; }
table { border-collapse: collapse; width: 100%; background: #fff; }
td, th { border-bottom: 1px solid #dde3ea; padding: 8px 12px; text-align: left; }
.ok { color: #11763a; font-weight: bold; }
</style></head>
<body><header>Acme Payments — Customer cust_42</header>
<main><h1>Refund 981</h1><p>Status: <span class="ok">Approved</span> by refund-bot 1.4.2</p>
<table><tr><th>Date</th><th>Description</th><th>Amount</th></tr>
<tr><td>2026-11-20</td><td>Order 5521</td><td>$500.00</td></tr>
<tr><td>2026-11-27</td><td>Refund 981</td><td>-$500.00</td></tr>
<tr><td colspan="2">Balance</td><td>$0.00</td></tr></table></main></body></html>`

// servePage serves pageHTML on 127.0.0.1.
func servePage() (*httptest.Server, error) {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, pageHTML)
	})), nil
}
