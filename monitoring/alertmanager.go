package monitoring

// SMTP is the mail server Alertmanager sends e-mail through.
type SMTP struct {
	// Smarthost is host:port.
	Smarthost string
	From      string
	Username  string
	Password  string
}

// AlertmanagerArgs are the inputs of alertmanager.yml: the destinations the
// stack already configures for its alerts.
type AlertmanagerArgs struct {
	Stack, Region string
	// WebhookURL is the alert webhook: a Slack incoming webhook
	// (hooks.slack.com) gets slack_configs, any other URL webhook_configs.
	WebhookURL string
	// Emails get email_configs; they need SMTP.
	Emails []string
	SMTP   *SMTP
}

// AlertmanagerConfig renders alertmanager.yml.
func AlertmanagerConfig(a AlertmanagerArgs) ([]byte, error) {
	return nil, nil
}
