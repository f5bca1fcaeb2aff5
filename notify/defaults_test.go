package notify

// defaultConfig is config.Default's [notifications], the seed's defaults: both channels off; when one is
// enabled it reports changes and errors.
func defaultConfig() Config {
	return Config{
		Email: EmailConfig{
			SMTPPort:     DefaultSMTPPort,
			TLS:          TLSStartTLS,
			SendOnChange: true,
			SendOnError:  true,
			Timeout:      DefaultSMTPTimeout,
		},
		Webhook: WebhookConfig{
			SendOnChange: true,
			SendOnError:  true,
			Timeout:      DefaultWebhookTimeout,
		},
		RepeatAfter: DefaultRepeatAfter,
	}
}
