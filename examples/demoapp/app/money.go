package app

import (
	"regexp"
	"strconv"
	"strings"
)

// Currencies lists the currencies the refund form offers, in order.
var currencies = []string{"USD", "EUR", "GBP"}

var amountRE = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,2})?$`)

// parseAmount parses a decimal amount such as "25" or "25.50" into cents.
func parseAmount(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if !amountRE.MatchString(s) {
		return 0, false
	}
	whole, frac, _ := strings.Cut(s, ".")
	frac += strings.Repeat("0", 2-len(frac))
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, false
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, false
	}
	return w*100 + f, true
}

// formatMoney formats cents in a currency, e.g. "$1,234.50" or "-€42.10".
func formatMoney(cents int64, currency string) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	sym := map[string]string{"USD": "$", "EUR": "€", "GBP": "£"}[currency]
	if sym == "" {
		sym = currency + " "
	}
	whole := strconv.FormatInt(cents/100, 10)
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + sym + b.String() + "." + strconv.FormatInt(100+cents%100, 10)[1:]
}

// formatAmount formats cents as a plain decimal for form fields, e.g. "25.50".
func formatAmount(cents int64) string {
	if cents < 0 {
		return "-" + formatAmount(-cents)
	}
	return strconv.FormatInt(cents/100, 10) + "." + strconv.FormatInt(100+cents%100, 10)[1:]
}
