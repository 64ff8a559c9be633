package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"strings"
)

// Alerts configures who Cloudflare tells when a region, a health check, a
// tunnel or the zone's certificate changes state (not used in dev). The
// webhook is the secret helloagents:alertWebhookUrl.
type Alerts struct {
	// Emails receive every alert; Cloudflare asks each address to confirm.
	Emails []string `json:"emails"`
}

// Config keys of the alerts, without the namespace.
const (
	KeyAlerts          = "alerts"
	KeyAlertWebhookURL = "alertWebhookUrl"
)

// HasAlertDestination reports whether anyone would be told.
func (c Config) HasAlertDestination() bool {
	return len(c.Alerts.Emails) > 0 || c.Secrets.AlertWebhookURL != ""
}

// validateAlerts checks the destinations: plain addresses, an https webhook
// outside dev, and at least one destination in staging and production, where
// an outage nobody hears about lasts until a learner complains. The webhook
// URL is never quoted: it is its own credential.
func (c Config) validateAlerts(p *problems) {
	k := full(KeyAlerts)
	checkEmails(p, k+".emails", c.Alerts.Emails)
	if hook := c.Secrets.AlertWebhookURL; hook != "" {
		u, err := url.Parse(hook.Reveal())
		ok := err == nil && u.Host != "" && (u.Scheme == "https" || (u.Scheme == "http" && c.Environment.Local()))
		if !ok {
			p.bad(full(KeyAlertWebhookURL), hook, "an https:// webhook URL, e.g. a Slack incoming webhook (HTTP is allowed only in dev)")
		}
	}
	if c.Environment.BehindCloudflare() && !c.HasAlertDestination() {
		p.bad(k+".emails", "[]", fmt.Sprintf("at least one email address, or the secret %s (set it with: pulumi config set --secret %s <url>); %s alerts must reach someone",
			full(KeyAlertWebhookURL), full(KeyAlertWebhookURL), c.Environment))
	}
}

// checkEmails reports each entry of the list at key that is not a plain
// address, or that repeats an earlier one (case-insensitively).
func checkEmails(p *problems, key string, list []string) {
	seen := map[string]bool{}
	for i, e := range list {
		at := fmt.Sprintf("%s[%d]", key, i)
		a, err := mail.ParseAddress(e)
		switch {
		case err != nil || a.Address != e || a.Name != "":
			p.bad(at, e, "a plain email address such as oncall@helloagents.dev")
		case seen[strings.ToLower(e)]:
			p.bad(at, e, "an address not listed twice (duplicate)")
		}
		seen[strings.ToLower(e)] = true
	}
}
