package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/helloagents/infra/backend/backup"
	"github.com/helloagents/infra/backend/cli"
)

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	return cli.NewFlagSet("pgbackup "+name, "usage: pgbackup "+name+" [flags]\n", stderr)
}

// errChecked ends a command in its check pass (app.checkOnly): the command
// line is valid, nothing has been opened.
var errChecked = errors.New("command line checked")

// parse reads a command's flags, then runs the checks of the flags alone
// (valid, may be nil). In the check pass it stops there with errChecked, so
// that run decides every usage error before the store is opened.
func (a *app) parse(fs *flag.FlagSet, args []string, valid func() error) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err // not a usage error: the caller exits 0
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	if valid != nil {
		if err := valid(); err != nil {
			return usageError{err}
		}
	}
	if a.checkOnly {
		return errChecked
	}
	return nil
}

func cmdBackup(ctx context.Context, a *app, args []string) error {
	if err := a.parse(newFlags("backup", a.stderr), args, a.needDatabase); err != nil {
		return err
	}
	m, err := a.backup(ctx)
	if err != nil {
		return err
	}
	return json.NewEncoder(a.stdout).Encode(m)
}

// needDatabase is the check of the commands that take a backup: without
// DATABASE_URL they cannot, whatever the store holds.
func (a *app) needDatabase() error {
	if a.cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL: required to take backups")
	}
	return nil
}

func (a *app) backup(ctx context.Context) (backup.Manifest, error) {
	if a.cfg.DatabaseURL == "" {
		return backup.Manifest{}, usageError{errors.New("DATABASE_URL: required to take a backup")}
	}
	return backup.Backup(ctx, a.store, backup.BackupOptions{
		DatabaseURL: a.cfg.DatabaseURL, Prefix: a.prefix, PGBin: a.cfg.PGBin,
	})
}

func cmdList(ctx context.Context, a *app, args []string) error {
	fs := newFlags("list", a.stderr)
	asJSON := fs.Bool("json", false, "one JSON object per backup")
	all := fs.Bool("all", false, "every database at the destination, not only DATABASE_URL's")
	db := fs.String("database", "", "database name (default: DATABASE_URL's)")
	if err := a.parse(fs, args, nil); err != nil {
		return err
	}
	if *db == "" && !*all {
		*db = a.databaseName()
	}
	cat, err := backup.ReadCatalog(ctx, a.store, a.prefix, *db)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		for _, m := range cat.Backups {
			if err := enc.Encode(m); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tSIZE\tAGE\tSHA256")
	now := time.Now()
	for _, m := range cat.Backups {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Key, humanize.IBytes(uint64(m.Size)), age(now.Sub(m.Created)), m.SHA256)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(cat.Orphans) > 0 {
		fmt.Fprintf(a.stderr, "pgbackup list: %d incomplete or unconfirmed objects not shown (prune removes them after the retention)\n", len(cat.Orphans))
	}
	return nil
}

func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

func cmdRestore(ctx context.Context, a *app, args []string) error {
	fs := newFlags("restore", a.stderr)
	latest := fs.Bool("latest", false, "restore the newest good backup of the database")
	key := fs.String("key", "", "restore the backup with this key (see pgbackup list)")
	target := fs.String("target-url", "", "database to restore into (default: DATABASE_URL); prefer PGPASSWORD to a password in the URL")
	clean := fs.Bool("clean", false, "replace the objects of a non-empty target (in the same transaction)")
	db := fs.String("database", "", "source database of --latest (default: DATABASE_URL's, else the target's)")
	err := a.parse(fs, args, func() error {
		if *latest == (*key != "") {
			return errors.New("give exactly one of --latest or --key KEY")
		}
		return nil
	})
	if err != nil {
		return err
	}
	targetURL, targetDB, err := a.restoreTarget(*target)
	if err != nil {
		return err
	}
	if *db == "" {
		*db = cmp.Or(a.databaseName(), targetDB)
	}
	m, err := backup.Restore(ctx, a.store, backup.RestoreOptions{
		Key: *key, Latest: *latest, Database: *db, Prefix: a.prefix,
		TargetURL: targetURL, Clean: *clean, PGBin: a.cfg.PGBin,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "restored %s (%s, sha256 %s, taken %s) into database %q\n",
		a.where(m.Key), humanize.IBytes(uint64(m.Size)), m.SHA256, m.Created.Format(time.RFC3339), targetDB)
	return nil
}

// restoreTarget returns the database URL to restore into (--target-url,
// else DATABASE_URL; see borrowPassword) and its database name.
func (a *app) restoreTarget(target string) (targetURL, db string, err error) {
	if target == "" {
		target = a.cfg.DatabaseURL
	}
	target = borrowPassword(target, a.cfg.DatabaseURL)
	if target == "" {
		return "", "", usageError{errors.New("no target: give --target-url or set DATABASE_URL")}
	}
	db, err = backup.DatabaseName(target)
	if err != nil {
		return "", "", usageError{fmt.Errorf("--target-url %s: %w", backup.RedactURL(target), err)}
	}
	return target, db, nil
}

// cmdVerify downloads backups and checks them against their manifests
// without restoring: the cheap half of a drill, safe to run any time.
func cmdVerify(ctx context.Context, a *app, args []string) error {
	fs := newFlags("verify", a.stderr)
	latest := fs.Bool("latest", false, "verify the newest good backup of the database")
	key := fs.String("key", "", "verify the backup with this key")
	all := fs.Bool("all", false, "verify every good backup at the destination")
	err := a.parse(fs, args, func() error {
		var n int
		for _, set := range []bool{*latest, *key != "", *all} {
			if set {
				n++
			}
		}
		if n != 1 {
			return errors.New("give exactly one of --latest, --key KEY or --all")
		}
		return nil
	})
	if err != nil {
		return err
	}
	todo, err := a.toVerify(ctx, *key, *latest)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range todo {
		if err := backup.Verify(ctx, a.store, m); err != nil {
			errs = append(errs, err)
			fmt.Fprintf(a.stdout, "CORRUPT %s\n", m.Key)
			continue
		}
		fmt.Fprintf(a.stdout, "ok %s (%s, sha256 %s)\n", m.Key, humanize.IBytes(uint64(m.Size)), m.SHA256)
	}
	return errors.Join(errs...)
}

// toVerify returns the backups verify reads: the one with key, else the
// newest of DATABASE_URL's database (latest), else every good backup.
func (a *app) toVerify(ctx context.Context, key string, latest bool) ([]backup.Manifest, error) {
	if key != "" {
		m, err := backup.ReadManifest(ctx, a.store, key)
		if err != nil {
			return nil, err
		}
		return []backup.Manifest{m}, nil
	}
	db := ""
	if latest {
		if db = a.databaseName(); db == "" {
			return nil, usageError{errors.New("--latest needs DATABASE_URL (or use --key or --all)")}
		}
	}
	cat, err := backup.ReadCatalog(ctx, a.store, a.prefix, db)
	if err != nil {
		return nil, err
	}
	if len(cat.Backups) == 0 {
		return nil, fmt.Errorf("no good backup at the destination: %w", backup.ErrNotFound)
	}
	if latest {
		return cat.Backups[:1], nil
	}
	return cat.Backups, nil
}

func cmdPrune(ctx context.Context, a *app, args []string) error {
	fs := newFlags("prune", a.stderr)
	dry := fs.Bool("dry-run", false, "print what would be deleted")
	if err := a.parse(fs, args, nil); err != nil {
		return err
	}
	if *dry {
		cat, err := backup.ReadCatalog(ctx, a.store, a.prefix, "")
		if err != nil {
			return err
		}
		byDB := map[string][]backup.Manifest{}
		for _, m := range cat.Backups {
			byDB[m.Database] = append(byDB[m.Database], m)
		}
		for _, list := range byDB {
			for _, m := range backup.Expired(list, time.Now(), a.cfg.Retention, a.cfg.KeepLast) {
				fmt.Fprintf(a.stdout, "would delete %s\n", m.Key)
			}
		}
		return nil
	}
	res, err := backup.Prune(ctx, a.store, a.prefix, time.Now(), a.cfg.Retention, a.cfg.KeepLast)
	for _, k := range res.Deleted {
		fmt.Fprintf(a.stdout, "deleted %s\n", k)
	}
	for _, k := range res.Orphans {
		fmt.Fprintf(a.stdout, "deleted incomplete %s\n", k)
	}
	fmt.Fprintf(a.stdout, "kept %d backups\n", res.Kept)
	return err
}

// borrowPassword gives a target URL without a password the password of
// DATABASE_URL when both name the same user on the same host, so that the
// restore drill can name a scratch database on the same server without
// typing (or leaking into shell history) the password.
func borrowPassword(target, databaseURL string) string {
	t, err := url.Parse(target)
	if err != nil || t.User == nil || databaseURL == "" {
		return target
	}
	if _, set := t.User.Password(); set || t.Query().Get("password") != "" {
		return target
	}
	d, err := url.Parse(databaseURL)
	if err != nil || d.User == nil || d.Host != t.Host || d.User.Username() != t.User.Username() {
		return target
	}
	pw, ok := d.User.Password()
	if !ok {
		return target
	}
	t.User = url.UserPassword(t.User.Username(), pw)
	return t.String()
}
