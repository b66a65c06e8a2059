package bot

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/troupebot/troupe/bot/intake"
)

// Registry returns a Prometheus registry with the bot's metrics and the Go runtime's and
// the process's. Each scrape takes one Snapshot, so the figures of a scrape agree.
//
// protoactor's own metric providers are not used: they keep about 2 KB per actor ever
// spawned.
func (b *Bot) Registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&collector{b: b},
	)
	return reg
}

type metric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(Snapshot) float64
}

func newMetric(name, help string, kind prometheus.ValueType, value func(Snapshot) float64) metric {
	return metric{desc: prometheus.NewDesc("troupe_"+name, help, nil, nil), kind: kind, value: value}
}

var metrics = []metric{
	newMetric("uptime_seconds", "Time since the bot started.", prometheus.GaugeValue, func(s Snapshot) float64 { return s.Uptime.Seconds() }),
	newMetric("updates_received_total", "Updates handed to the runtime.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.Delivered) }),
	newMetric("updates_handled_total", "Updates whose new context was committed.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.Handled) }),
	newMetric("updates_crashed_total", "Updates whose handling failed; each got an apology.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.Crashes) }),
	newMetric("updates_paused_total", "Updates finished unanswered because their user was cooling down.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.Paused) }),
	newMetric("updates_fetched_total", "Updates fetched by polling or posted to the webhook, re-sent ones included.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Intake.Received) }),
	newMetric("updates_in_flight", "Updates taken in and not yet finished (in polling mode: not yet confirmed to Telegram).", prometheus.GaugeValue, func(s Snapshot) float64 { return float64(s.Intake.InFlight) }),
	newMetric("updates_duplicate_total", "Updates Telegram sent again and the bot recognised.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Intake.Duplicates) }),
	newMetric("updates_undecodable_total", "Updates skipped because they could not be decoded.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Intake.Undecodable) }),
	newMetric("mailbox_backlog", "Updates waiting in actor mailboxes.", prometheus.GaugeValue, func(s Snapshot) float64 { return float64(s.Runtime.Backlog) }),
	newMetric("actors_resident", "User actors in memory.", prometheus.GaugeValue, func(s Snapshot) float64 { return float64(s.Runtime.Resident) }),
	newMetric("actors_spawned_total", "User actors started.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.Spawned) }),
	newMetric("actors_passivated_total", "User actors stopped for idleness or over the resident cap.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.Passivated) }),
	newMetric("actors_cooling_down", "Users paused after a crash loop.", prometheus.GaugeValue, func(s Snapshot) float64 { return float64(s.Runtime.CoolingDown) }),
	newMetric("restarts_total", "User actor restarts after a crash.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.Restarts.Total) }),
	newMetric("chart_queue_depth", "Charts waiting or drawing.", prometheus.GaugeValue, func(s Snapshot) float64 { return float64(s.Charts.Queued) }),
	newMetric("chart_queue_capacity", "Charts that may wait or draw before users are told to try again.", prometheus.GaugeValue, func(s Snapshot) float64 { return float64(s.Charts.Capacity) }),
	newMetric("charts_drawn_total", "Charts drawn.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Charts.Done) }),
	newMetric("charts_failed_total", "Charts that failed, crashed or timed out.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Charts.Failed) }),
	newMetric("charts_busy_total", "Chart requests refused because the queue was full.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Charts.Busy) }),
	newMetric("chart_latency_p50_seconds", "Median time from request to drawn chart, over recent charts.", prometheus.GaugeValue, func(s Snapshot) float64 { return s.Charts.P50.Seconds() }),
	newMetric("chart_latency_p99_seconds", "99th percentile time from request to drawn chart, over recent charts.", prometheus.GaugeValue, func(s Snapshot) float64 { return s.Charts.P99.Seconds() }),
	newMetric("telegram_429_total", "429 Too Many Requests answers received.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Sender.TooMany) }),
	newMetric("send_retries_total", "Bot API requests tried again after a 429, a 5xx or a network error.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Sender.Retried) }),
	newMetric("send_paced_total", "Times a chat waited for a rate limit, a retry_after or a backoff.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Sender.Paced) }),
	newMetric("send_queue_depth", "Bot API requests queued or in flight.", prometheus.GaugeValue, func(s Snapshot) float64 { return float64(s.Sender.Queued) }),
	newMetric("updates_throttled_total", "Updates skipped because their user sent too fast.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.Throttled) }),
	newMetric("replies_sent_total", "Bot API requests accepted.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Sender.Sent) }),
	newMetric("replies_failed_total", "Bot API requests that failed for good.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Sender.Failed) }),
}

// webhookRefused counts refusals by the webhook's reasons: a wrong secret is a prober, a
// size or JSON refusal a broken sender, draining a redeploy.
var webhookRefused = prometheus.NewDesc("troupe_webhook_refused_total",
	"Webhook requests refused, by reason: method, secret, size, json, draining, closed, pending.", []string{"reason"}, nil)

// collector turns one Snapshot per scrape into the metrics above.
type collector struct{ b *Bot }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range metrics {
		ch <- m.desc
	}
	ch <- webhookRefused
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.b.Snapshot()
	for _, m := range metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(s))
	}
	// Taken beside the Snapshot, whose Intake has only the total; in polling mode every
	// reason is 0.
	var rj intake.WebhookRejects
	if c.b.webhook != nil {
		rj = c.b.webhook.Stats().Rejected
	}
	for reason, n := range rj.ByReason() {
		ch <- prometheus.MustNewConstMetric(webhookRefused, prometheus.CounterValue, float64(n), reason)
	}
}
