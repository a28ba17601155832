package app

import "time"

// DemoPassword is the password of every seeded user.
const DemoPassword = "demo-password"

// firstRefundNumber numbers the first refund: R-1001.
const firstRefundNumber = 1001

// seedTime is the fixed time seeded records were created around.
var seedTime = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

func seedUsers() []*User {
	u := func(name, display, role string, perms ...string) *User {
		p := make(map[string]bool)
		for _, k := range perms {
			p[k] = true
		}
		return &User{Username: name, Name: display, Role: role, Status: "Active", password: DemoPassword, Perms: p}
	}
	return []*User{
		u("alice", "Alice Chen", "Administrator", PermAdmin, PermRefunds, PermApproveRefunds, PermExport, PermValidation),
		u("refund-bot", "Refund Bot", "AI agent", PermRefunds, PermExport, PermValidation),
		u("ops-bot", "Ops Bot", "AI agent", PermAdmin, PermValidation),
		u("bob", "Bob Martinez", "Support", PermRefunds),
		u("carol", "Carol Singh", "Analyst", PermExport, PermValidation),
	}
}

func seedCustomers() []*Customer {
	c := func(id, name, email string, balance int64, cur, status string) *Customer {
		return &Customer{ID: id, Name: name, Email: email, Balance: balance, Currency: cur, Status: status}
	}
	return []*Customer{
		c("C-1001", "Northwind Traders", "billing@northwind.example", 1245000, "USD", "Active"),
		c("C-1002", "Globex Corporation", "ap@globex.example", 321075, "USD", "Active"),
		c("C-1003", "Initech LLC", "finance@initech.example", 0, "USD", "Suspended"),
		c("C-1004", "Umbrella Health", "payments@umbrella.example", 84210, "USD", "Active"),
		c("C-1005", "Stark Logistics", "accounts@stark.example", 2790000, "USD", "Active"),
		c("C-1006", "Wayne Foods GmbH", "rechnung@waynefoods.example", 560000, "EUR", "Active"),
		c("C-1007", "Hooli UK Ltd", "ledger@hooli.example", 127540, "GBP", "Past due"),
		c("C-1008", "Soylent Labs", "ops@soylent.example", 1999, "USD", "Active"),
	}
}

func seedTransactions() []*Transaction {
	var txns []*Transaction
	n := 2001
	add := func(customer, cur, desc string, amount int64, daysAgo int) {
		at := seedTime.AddDate(0, 0, -daysAgo)
		txns = append(txns, &Transaction{
			ID: "T-" + itoa(n), Kind: KindPayment, CustomerID: customer, Description: desc,
			Amount: amount, Currency: cur, Status: StatusCompleted, CreatedBy: "checkout", CreatedAt: at,
			Events: []Event{{At: at, Actor: "checkout", Text: "Payment captured"}},
		})
		n++
	}
	add("C-1001", "USD", "Order #48213 — annual plan", 480000, 40)
	add("C-1001", "USD", "Order #48977 — extra seats", 12000, 12)
	add("C-1001", "USD", "Order #49410 — support add-on", 25000, 2)
	add("C-1002", "USD", "Order #47730 — team plan", 99000, 31)
	add("C-1002", "USD", "Order #49102 — API overage", 18450, 6)
	add("C-1003", "USD", "Order #45001 — starter plan", 4900, 90)
	add("C-1004", "USD", "Order #48800 — clinic bundle", 64000, 20)
	add("C-1004", "USD", "Order #49377 — SMS credits", 7500, 3)
	add("C-1005", "USD", "Order #46112 — enterprise plan", 1500000, 60)
	add("C-1005", "USD", "Order #49290 — onboarding", 350000, 8)
	add("C-1006", "EUR", "Order #48640 — team plan", 89000, 25)
	add("C-1006", "EUR", "Order #49333 — extra seats", 15000, 4)
	add("C-1007", "GBP", "Order #47915 — team plan", 79000, 33)
	add("C-1008", "USD", "Order #49450 — starter plan", 4900, 1)
	return txns
}

// seedImports is the data-validation dataset: 20 records from a CRM import,
// of which C-2107 has a malformed email and C-2114 a negative balance.
func seedImports() []ImportRecord {
	r := func(id, name, email string, balance int64, country string) ImportRecord {
		return ImportRecord{ID: id, Name: name, Email: email, Balance: balance, Country: country}
	}
	return []ImportRecord{
		r("C-2101", "Aperture Labs", "finance@aperture.example", 120000, "US"),
		r("C-2102", "Blue Sun Corp", "ap@bluesun.example", 45050, "US"),
		r("C-2103", "Cyberdyne Systems", "billing@cyberdyne.example", 0, "US"),
		r("C-2104", "Dunder Mifflin", "accounts@dundermifflin.example", 8925, "US"),
		r("C-2105", "Eagle Freight", "pay@eaglefreight.example", 310000, "CA"),
		r("C-2106", "Fabrikam Inc", "ar@fabrikam.example", 77700, "US"),
		r("C-2107", "Gringotts Ledger", "dana.whitfield(at)gringotts.example", 15000, "GB"),
		r("C-2108", "Hanso Foundation", "finance@hanso.example", 500000, "DE"),
		r("C-2109", "Ingen Biotech", "billing@ingen.example", 230010, "US"),
		r("C-2110", "Jupiter Mining", "ops@jupitermining.example", 99, "AU"),
		r("C-2111", "Kirin Electronics", "ap@kirin.example", 64000, "JP"),
		r("C-2112", "Lacuna Inc", "accounts@lacuna.example", 12500, "US"),
		r("C-2113", "Massive Dynamic", "treasury@massive.example", 1250000, "US"),
		r("C-2114", "Nakatomi Trading", "billing@nakatomi.example", -4210, "JP"),
		r("C-2115", "Oceanic Airlines", "ar@oceanic.example", 880000, "AU"),
		r("C-2116", "Pied Piper", "finance@piedpiper.example", 3300, "US"),
		r("C-2117", "Quark Imports", "pay@quark.example", 41000, "FR"),
		r("C-2118", "Rekall Travel", "ap@rekall.example", 27500, "US"),
		r("C-2119", "Sirius Cybernetics", "accounts@sirius.example", 61500, "GB"),
		r("C-2120", "Tyrell Corporation", "ledger@tyrell.example", 940000, "US"),
	}
}
