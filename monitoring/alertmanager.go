package monitoring

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// SMTP is the mail server Alertmanager sends e-mail through (STARTTLS
// required).
type SMTP struct {
	// Smarthost is host:port, e.g. smtp.example.com:587.
	Smarthost string
	// From is the sender address.
	From     string
	Username string
	Password string
}

// AlertmanagerArgs are the inputs of alertmanager.yml: the destinations the
// stack already configures for its alerts.
type AlertmanagerArgs struct {
	// Stack and Region name the Alertmanager in errors; the alerts carry
	// them as labels (Prometheus's external labels).
	Stack, Region string
	// WebhookURL is the alert webhook: a Slack incoming webhook
	// (https://hooks.slack.com/...) gets slack_configs, any other URL
	// webhook_configs (Alertmanager's JSON payload). Empty: none.
	WebhookURL string
	// Emails get email_configs, one per address; they need SMTP.
	Emails []string
	SMTP   *SMTP
	// Timing paces notifications; the zero value is DefaultTiming.
	Timing Timing
}

// Timing is how long Alertmanager holds alerts before notifying: the wait
// for more alerts of a new group (pages wait less than tickets), and the
// interval between notifications of a group that changed, which is also how
// soon a resolution is sent. Tests shorten it with the SLO's windows.
type Timing struct {
	GroupWait, PageGroupWait, GroupInterval time.Duration
}

// DefaultTiming is Alertmanager's own pacing, with pages sent sooner.
func DefaultTiming() Timing {
	return Timing{GroupWait: 30 * time.Second, PageGroupWait: 10 * time.Second, GroupInterval: 5 * time.Minute}
}

// orDefault fills each unset duration from DefaultTiming.
func (t Timing) orDefault() Timing {
	d := DefaultTiming()
	for _, f := range []struct{ v, def *time.Duration }{
		{&t.GroupWait, &d.GroupWait}, {&t.PageGroupWait, &d.PageGroupWait}, {&t.GroupInterval, &d.GroupInterval},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return t
}

// AlertmanagerConfigPath is where the Alertmanager image's entrypoint
// writes alertmanager.yml (backend/alertmanager.ConfigPath).
const AlertmanagerConfigPath = "/etc/alertmanager/alertmanager.yml"

// Routing: alerts of one stack, region and name are one notification;
// pages repeat every PageRepeat while they fire, tickets every
// TicketRepeat. Resolved notifications are always sent.
const (
	PageRepeat   = time.Hour
	TicketRepeat = 24 * time.Hour
	// NullReceiver receives everything when the stack configures no
	// destination: Alertmanager still runs and shows the alerts in its UI,
	// and notifies nobody.
	NullReceiver = "null"
	// TeamReceiver is the receiver of the configured destinations.
	TeamReceiver = "helloagents"
)

// GroupBy are the labels that make one notification.
func GroupBy() []string { return []string{"stack", "region", "alertname"} }

type amConfig struct {
	Global    *amGlobal    `yaml:"global,omitempty"`
	Route     amRoute      `yaml:"route"`
	Receivers []amReceiver `yaml:"receivers"`
}

type amGlobal struct {
	SMTPSmarthost    string `yaml:"smtp_smarthost"`
	SMTPFrom         string `yaml:"smtp_from"`
	SMTPAuthUsername string `yaml:"smtp_auth_username,omitempty"`
	SMTPAuthPassword string `yaml:"smtp_auth_password,omitempty"`
	SMTPRequireTLS   bool   `yaml:"smtp_require_tls"`
}

type amRoute struct {
	Receiver       string    `yaml:"receiver"`
	GroupBy        []string  `yaml:"group_by,omitempty"`
	Matchers       []string  `yaml:"matchers,omitempty"`
	GroupWait      string    `yaml:"group_wait,omitempty"`
	GroupInterval  string    `yaml:"group_interval,omitempty"`
	RepeatInterval string    `yaml:"repeat_interval,omitempty"`
	Routes         []amRoute `yaml:"routes,omitempty"`
}

type amReceiver struct {
	Name           string          `yaml:"name"`
	SlackConfigs   []slackConfig   `yaml:"slack_configs,omitempty"`
	WebhookConfigs []webhookConfig `yaml:"webhook_configs,omitempty"`
	EmailConfigs   []emailConfig   `yaml:"email_configs,omitempty"`
}

type slackConfig struct {
	SendResolved bool   `yaml:"send_resolved"`
	APIURL       string `yaml:"api_url"`
	Title        string `yaml:"title"`
	Text         string `yaml:"text"`
}

type webhookConfig struct {
	SendResolved bool   `yaml:"send_resolved"`
	URL          string `yaml:"url"`
}

type emailConfig struct {
	SendResolved bool   `yaml:"send_resolved"`
	To           string `yaml:"to"`
}

// slackText lists each alert of a notification with its summary,
// description and runbook.
const slackText = `{{ range .Alerts }}*{{ .Annotations.summary }}* ({{ .Labels.severity }})
{{ .Annotations.description }}
Runbook: {{ .Annotations.runbook }}
{{ end }}`

// Validate reports every invalid argument. Errors never contain the webhook
// URL or the SMTP password.
func (a AlertmanagerArgs) Validate() error {
	var errs []error
	if a.Stack == "" {
		errs = append(errs, errors.New("stack is empty"))
	}
	if a.Region == "" {
		errs = append(errs, errors.New("region is empty"))
	}
	if a.WebhookURL != "" && !httpURL(a.WebhookURL) {
		errs = append(errs, errors.New("alert webhook URL is not an absolute http(s) URL"))
	}
	for _, e := range a.Emails {
		if addr, err := mail.ParseAddress(e); err != nil || addr.Address != e {
			errs = append(errs, fmt.Errorf("alert e-mail %q is not a plain address (name@example.com)", e))
		}
	}
	switch s := a.SMTP; {
	case s == nil && len(a.Emails) > 0:
		errs = append(errs, fmt.Errorf("alert e-mails %s are configured but no SMTP server: Alertmanager sends e-mail itself and needs smarthost, from, username and password",
			strings.Join(a.Emails, ", ")))
	case s != nil:
		if host, port, err := net.SplitHostPort(s.Smarthost); err != nil || host == "" || port == "" {
			errs = append(errs, fmt.Errorf("SMTP smarthost %q is not host:port (smtp.example.com:587)", s.Smarthost))
		}
		if addr, err := mail.ParseAddress(s.From); err != nil || addr.Address == "" {
			errs = append(errs, fmt.Errorf("SMTP from %q is not an e-mail address", s.From))
		}
		if (s.Username == "") != (s.Password == "") {
			errs = append(errs, errors.New("SMTP needs both a username and a password, or neither"))
		}
	}
	return errors.Join(errs...)
}

// IsSlackWebhook reports whether u is a Slack incoming webhook
// (https://hooks.slack.com/services/...), which gets Alertmanager's Slack
// receiver rather than its generic webhook.
func IsSlackWebhook(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Scheme == "https" && strings.EqualFold(p.Hostname(), "hooks.slack.com")
}

// AlertmanagerConfig renders alertmanager.yml: one route grouped by stack,
// region and alert name with resolved notifications, pages repeated more
// often than tickets, to a receiver with the stack's destinations (the
// webhook as Slack or generic webhook, the e-mails through SMTP), or to
// the null receiver when the stack configures none.
func AlertmanagerConfig(a AlertmanagerArgs) ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("alertmanager config of %s/%s: %w", a.Stack, a.Region, err)
	}
	team := amReceiver{Name: TeamReceiver}
	switch {
	case a.WebhookURL == "":
	case IsSlackWebhook(a.WebhookURL):
		team.SlackConfigs = []slackConfig{{
			SendResolved: true, APIURL: a.WebhookURL,
			Title: `{{ template "slack.default.title" . }}`, Text: slackText,
		}}
	default:
		team.WebhookConfigs = []webhookConfig{{SendResolved: true, URL: a.WebhookURL}}
	}
	c := amConfig{}
	if s := a.SMTP; s != nil && len(a.Emails) > 0 {
		c.Global = &amGlobal{
			SMTPSmarthost: s.Smarthost, SMTPFrom: s.From,
			SMTPAuthUsername: s.Username, SMTPAuthPassword: s.Password,
			SMTPRequireTLS: true,
		}
		for _, e := range a.Emails {
			team.EmailConfigs = append(team.EmailConfigs, emailConfig{SendResolved: true, To: e})
		}
	}
	receiver := TeamReceiver
	if len(team.SlackConfigs)+len(team.WebhookConfigs)+len(team.EmailConfigs) == 0 {
		receiver, team = NullReceiver, amReceiver{Name: NullReceiver}
	}
	c.Receivers = []amReceiver{team}
	tm := a.Timing.orDefault()
	c.Route = amRoute{
		Receiver:       receiver,
		GroupBy:        GroupBy(),
		GroupWait:      PromDuration(tm.GroupWait),
		GroupInterval:  PromDuration(tm.GroupInterval),
		RepeatInterval: PromDuration(TicketRepeat),
		Routes: []amRoute{{
			Receiver:       receiver,
			Matchers:       []string{fmt.Sprintf("severity=%q", SeverityPage)},
			GroupWait:      PromDuration(tm.PageGroupWait),
			RepeatInterval: PromDuration(PageRepeat),
		}},
	}
	out, err := marshal(c)
	if err != nil {
		return nil, fmt.Errorf("alertmanager config: %w", err)
	}
	return out, nil
}
