package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/egress"
	"github.com/auditshot/auditshot/internal/server"
	"github.com/auditshot/auditshot/sqlite"
)

// openDB opens only the data directory's database (not the blob store,
// which a running server holds), for the admin commands.
func (f *dataFlags) openDB(ctx context.Context, stderr io.Writer) (*sqlite.DB, error) {
	if _, err := os.Stat(filepath.Join(f.dir, "auditshot.db")); err != nil {
		return nil, fmt.Errorf("no data directory at %s (start 'auditshot serve --data %s' once, or give --data)", f.dir, f.dir)
	}
	db, _, err := openDB(ctx, f.dir, f.name, newLogger(stderr, false))
	return db, err
}

// registerDir registers the data directory flags of the admin commands,
// whose --name names the tenant or key: the log name is --log-name here.
func (f *dataFlags) registerDir(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "data", "auditshot-data", "data directory (env AUDITSHOT_DATA)")
	fs.StringVar(&f.name, "log-name", "auditshot", "log origin base, as --name of serve (env AUDITSHOT_LOG_NAME)")
}

// planFlags set a tenant's plan from the command line.
type planFlags struct {
	name             string
	perMonth, perMin int
	allow            multi
	noAllow          bool
	offline          string
	tenantName       string
	retention        int
	allowScripts     string
}

func (p *planFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.name, "plan", "", "plan preset: free (100/month, 10/minute) or unlimited")
	fs.IntVar(&p.perMonth, "captures-per-month", -1, "custom plan: captures per month (0 = unlimited)")
	fs.IntVar(&p.perMin, "captures-per-minute", -1, "custom plan: captures per minute (0 = unlimited)")
	fs.Var(&p.allow, "allow", "CIDR or host the tenant's captures and webhooks may reach although refused by default (repeatable)")
	fs.BoolVar(&p.noAllow, "no-allow", false, "clear the egress allowlist")
	fs.StringVar(&p.offline, "offline", "", "true or false: whether the tenant's captures and webhooks may reach no network at all")
	fs.StringVar(&p.tenantName, "name", "", "display name")
	fs.IntVar(&p.retention, "retention-days", -1, "how long artifacts are kept (0 = forever)")
	fs.StringVar(&p.allowScripts, "allow-scripts", "", "true or false: whether captures may run the caller's JavaScript")
}

// update returns the change the flags ask for of a tenant whose plan and
// egress policy are base's.
func (p *planFlags) update(tenant auditshot.Tenant) (auditshot.TenantUpdate, error) {
	var u auditshot.TenantUpdate
	base := tenant.Plan
	if p.name != "" {
		plan, ok := auditshot.Plans[p.name]
		if !ok {
			return u, usageError{fmt.Sprintf("--plan %q: want free or unlimited (or --captures-per-month/--captures-per-minute)", p.name)}
		}
		base = plan
		u.Plan = &base
	}
	if p.perMonth >= 0 || p.perMin >= 0 {
		plan := base
		plan.Name = "custom"
		if p.perMonth >= 0 {
			plan.CapturesPerMonth = p.perMonth
		}
		if p.perMin >= 0 {
			plan.CapturesPerMinute = p.perMin
		}
		u.Plan = &plan
	}
	if len(p.allow) > 0 || p.noAllow || p.offline != "" {
		// The policy is replaced whole: what a flag does not change
		// stays as it is.
		e := tenant.Egress
		if len(p.allow) > 0 || p.noAllow {
			e.Allow = append([]string{}, p.allow...)
		}
		switch p.offline {
		case "":
		case "true", "false":
			e.Offline = p.offline == "true"
		default:
			return u, usageError{"--offline: want true or false"}
		}
		if _, err := egress.NewPolicy(e); err != nil {
			return u, err
		}
		u.Egress = &e
	}
	if p.tenantName != "" {
		u.Name = &p.tenantName
	}
	if p.retention >= 0 {
		u.RetentionDays = &p.retention
	}
	switch p.allowScripts {
	case "":
	case "true", "false":
		b := p.allowScripts == "true"
		u.AllowScripts = &b
	default:
		return u, usageError{"--allow-scripts: want true or false"}
	}
	return u, nil
}

func runTenants(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"tenants: want a subcommand: create ID, list, show ID, set ID"}
	}
	sub := args[0]
	fs := flag.NewFlagSet("tenants "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		data     dataFlags
		plan     planFlags
		adminKey = fs.Bool("admin-key", false, "create: also make an admin key for the tenant and print it")
	)
	data.registerDir(fs)
	plan.register(fs)
	id, err := parseWithArg(fs, args[1:])
	if err != nil {
		return err
	}
	if err := applyEnv(fs); err != nil {
		return err
	}
	if sub != "list" && id == "" {
		return usageError{fmt.Sprintf("tenants %s: a tenant id is required", sub)}
	}
	db, err := data.openDB(ctx, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "create":
		u, err := plan.update(auditshot.Tenant{Plan: auditshot.Plans["free"]})
		if err != nil {
			return err
		}
		t := &auditshot.Tenant{ID: id, Name: id, Plan: auditshot.Plans["free"]}
		applyUpdate(t, u)
		if err := db.CreateTenant(ctx, t); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created tenant %s (plan %s)\n", t.ID, planText(t.Plan))
		if *adminKey {
			_, secret, err := db.CreateAPIKey(ctx, t.ID, "admin", []auditshot.Scope{auditshot.ScopeAdmin})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "admin key (shown once): %s\n", secret)
		}
		return nil
	case "list":
		ts, err := db.ListTenants(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPLAN\tEGRESS ALLOW\tCREATED")
		for _, t := range ts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, planText(t.Plan), strings.Join(t.Egress.Allow, ","), t.CreatedAt.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	case "show":
		t, err := db.FindTenant(ctx, id)
		if err != nil {
			return err
		}
		return printJSON(stdout, t)
	case "set":
		t, err := db.FindTenant(ctx, id)
		if err != nil {
			return err
		}
		u, err := plan.update(*t)
		if err != nil {
			return err
		}
		if t, err = db.UpdateTenant(ctx, id, "", u); err != nil {
			return err
		}
		return printJSON(stdout, t)
	}
	return usageError{fmt.Sprintf("tenants: unknown subcommand %q (create, list, show, set)", sub)}
}

func applyUpdate(t *auditshot.Tenant, u auditshot.TenantUpdate) {
	if u.Plan != nil {
		t.Plan = *u.Plan
	}
	if u.Egress != nil {
		t.Egress = *u.Egress
	}
	if u.Name != nil {
		t.Name = *u.Name
	}
	if u.RetentionDays != nil {
		t.RetentionDays = *u.RetentionDays
	}
	if u.AllowScripts != nil {
		t.AllowScripts = *u.AllowScripts
	}
}

func planText(p auditshot.Plan) string {
	n := func(v int) string {
		if v == 0 {
			return "unlimited"
		}
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%s: %s/month, %s/minute", p.Name, n(p.CapturesPerMonth), n(p.CapturesPerMinute))
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"keys: want a subcommand: create, list, revoke KEY_ID"}
	}
	sub := args[0]
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		data   dataFlags
		tenant = fs.String("tenant", server.OperatorTenant, "the key's tenant")
		name   = fs.String("name", "", "create: what the key is for (e.g. refund-bot)")
		scopes = fs.String("scopes", "", "create: comma-separated scopes: capture, write, read, audit, admin")
	)
	data.registerDir(fs)
	arg, err := parseWithArg(fs, args[1:])
	if err != nil {
		return err
	}
	if err := applyEnv(fs); err != nil {
		return err
	}
	db, err := data.openDB(ctx, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "create":
		if *name == "" || *scopes == "" {
			return usageError{"keys create: --name and --scopes are required"}
		}
		var sc []auditshot.Scope
		for s := range strings.SplitSeq(*scopes, ",") {
			sc = append(sc, auditshot.Scope(strings.TrimSpace(s)))
		}
		k, secret, err := db.CreateAPIKey(ctx, *tenant, *name, sc)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "created key %s for tenant %s with scopes %s; the key is shown once:\n", k.ID, k.TenantID, *scopes)
		fmt.Fprintln(stdout, secret)
		return nil
	case "list":
		ks, err := db.ListAPIKeys(ctx, *tenant)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tREVOKED")
		for _, k := range ks {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = k.RevokedAt.Format("2006-01-02 15:04")
			}
			sc := make([]string, len(k.Scopes))
			for i, s := range k.Scopes {
				sc[i] = string(s)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, strings.Join(sc, ","), k.CreatedAt.Format("2006-01-02 15:04"), revoked)
		}
		return tw.Flush()
	case "revoke":
		if arg == "" {
			return usageError{"keys revoke: the key id is required"}
		}
		if _, err := db.RevokeAPIKey(ctx, *tenant, arg); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked key %s of tenant %s\n", arg, *tenant)
		return nil
	}
	return usageError{fmt.Sprintf("keys: unknown subcommand %q (create, list, revoke)", sub)}
}
