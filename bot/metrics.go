package bot

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

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
	newMetric("telegram_429_total", "429 Too Many Requests answers received.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Sender.TooMany) }),
	newMetric("send_retries_total", "Bot API requests tried again after a 429, a 5xx or a network error.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Sender.Retried) }),
	newMetric("send_paced_total", "Times a chat waited for a rate limit, a retry_after or a backoff.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Sender.Paced) }),
	newMetric("send_queue_depth", "Bot API requests queued or in flight.", prometheus.GaugeValue, func(s Snapshot) float64 { return float64(s.Sender.Queued) }),
	newMetric("updates_throttled_total", "Updates skipped because their user sent too fast.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.Throttled) }),
	newMetric("replies_sent_total", "Bot API requests accepted.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Sender.Sent) }),
	newMetric("store_up", "1 when the context store answers and takes commits, 0 when it does not (the memory store is always up).", prometheus.GaugeValue, func(s Snapshot) float64 { return map[bool]float64{true: 1}[s.Store.Err == ""] }),
	newMetric("store_errors_total", "Context store calls that failed (down, timeout, out of memory).", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.StoreErrors) }),
	newMetric("store_not_kept_total", "Updates not kept because the store failed; left unconfirmed for Telegram to send again.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.NotKept) }),
	newMetric("store_stale_total", "Commits refused because another writer committed the user first; each update was handled again.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.Stale) }),
	newMetric("store_duplicates_total", "Updates found committed already and not applied again.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.Duplicates) }),
	newMetric("store_outbox_resent_total", "Replies sent again from the outbox after a restart or a duplicate (at least once: some may have been accepted before).", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.Resent) }),
	newMetric("store_outbox_waited_total", "Outboxes committed moments before (another process may still be sending them) that were waited for and reloaded before being sent.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.Settled) }),
	newMetric("store_records_vanished_total", "User records found gone from the store (FLUSHALL, eviction, deletion) while their actor held them; each was written back from memory.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.Vanished) }),
	newMetric("store_corrupt_total", "Updates of users whose stored context cannot be decoded; each got an apology.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Runtime.Corrupt) }),
	newMetric("journal_updates", "Updates in the intake journal, taken and not yet finished (0 without a journal).", prometheus.GaugeValue, func(s Snapshot) float64 { return float64(s.Journal.Len) }),
	newMetric("journal_bytes", "Bytes of the updates in the intake journal.", prometheus.GaugeValue, func(s Snapshot) float64 { return float64(s.Journal.Bytes) }),
	newMetric("journal_capacity", "The most updates the intake journal holds; past it intake refuses (webhook 503).", prometheus.GaugeValue, func(s Snapshot) float64 { return float64(s.Journal.Cap) }),
	newMetric("journal_capacity_bytes", "The most bytes the intake journal holds.", prometheus.GaugeValue, func(s Snapshot) float64 { return float64(s.Journal.MaxBytes) }),
	newMetric("journal_refused_total", "Updates refused because the intake journal could not take them (full, or its server away); Telegram sends them again.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Journal.Refused) }),
	newMetric("polling_lease_held", "1 while this process holds the polling lease (it polls), 0 while it stands by or polls without a lease.", prometheus.GaugeValue, func(s Snapshot) float64 { return map[bool]float64{true: 1}[s.Lease.Held] }),
	newMetric("polling_lease_acquired_total", "Times this process acquired the polling lease.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Lease.Acquired) }),
	newMetric("polling_lease_lost_total", "Times this process lost the polling lease (renewal refused, or its store away past the TTL) and stopped polling.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Lease.Lost) }),
	newMetric("replies_failed_total", "Bot API requests that failed for good.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Sender.Failed) }),
	newMetric("cluster_members", "Cluster members this one knows of, itself included (0 outside a cluster).", prometheus.GaugeValue, func(s Snapshot) float64 { return float64(s.Cluster.Members) }),
	newMetric("cluster_hosted_users", "User identities active on this member.", prometheus.GaugeValue, func(s Snapshot) float64 { return float64(s.Cluster.Hosted) }),
	newMetric("cluster_forwards_total", "Journaled updates this member forwarded to the member hosting their user (itself included).", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Cluster.Forwards) }),
	newMetric("cluster_forward_retries_total", "Forward tries that failed and were tried again (a member gone, joining or refusing).", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Cluster.Retries) }),
	newMetric("cluster_forward_refusals_total", "Forwards a member refused (it was leaving, or stopping); each was tried again.", prometheus.CounterValue, func(s Snapshot) float64 { return float64(s.Cluster.Refusals) }),
}

// chartLatencyOpts describe the chart pool's latency histogram. Its buckets run from 1 ms to
// the pool's 10 s deadline in round steps 1.3 to 1.7 times apart, so a percentile read from
// them (on /status, or with histogram_quantile) is within a bucket's width of the true one:
// a chart takes 2–12 ms to draw (docs/performance.md), where the buckets are 1 to 5 ms wide.
var chartLatencyOpts = prometheus.HistogramOpts{
	Name: "troupe_chart_latency_seconds",
	Help: "Time from a chart request to its answer: the drawn chart, or its error or timeout.",
	Buckets: []float64{
		0.001, 0.0015, 0.002, 0.003, 0.005, 0.007,
		0.01, 0.015, 0.02, 0.03, 0.05, 0.07,
		0.1, 0.15, 0.2, 0.3, 0.5, 0.7,
		1, 1.5, 2, 3, 5, 7, 10,
	},
}

var chartLatencyDesc = prometheus.NewDesc(chartLatencyOpts.Name, chartLatencyOpts.Help, nil, nil)

// newChartLatency is the histogram the chart pool observes into; the collector exports it
// from each Snapshot, so a scrape's histogram agrees with its counters.
func newChartLatency() prometheus.Histogram { return prometheus.NewHistogram(chartLatencyOpts) }

// readHistogram takes the counts of h now.
func readHistogram(h prometheus.Histogram) Histogram {
	var m dto.Metric
	if h == nil || h.Write(&m) != nil {
		return Histogram{}
	}
	ph := m.GetHistogram()
	out := Histogram{Count: ph.GetSampleCount(), Sum: ph.GetSampleSum()}
	for _, b := range ph.GetBucket() {
		out.Bounds = append(out.Bounds, b.GetUpperBound())
		out.Cumulative = append(out.Cumulative, b.GetCumulativeCount())
	}
	return out
}

// webhookRefused counts refusals by the webhook's reasons: a wrong secret is a prober, a
// size or JSON refusal a broken sender, draining a redeploy.
var webhookRefused = prometheus.NewDesc("troupe_webhook_refused_total",
	"Webhook requests refused, by reason: method, secret, size, json, draining, closed, pending, journal, busy.", []string{"reason"}, nil)

// collector turns one Snapshot per scrape into the metrics above.
type collector struct{ b *Bot }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range metrics {
		ch <- m.desc
	}
	ch <- chartLatencyDesc
	ch <- webhookRefused
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.b.Snapshot()
	for _, m := range metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(s))
	}
	h := s.ChartLatency
	buckets := make(map[float64]uint64, len(h.Bounds))
	for i, le := range h.Bounds {
		buckets[le] = h.Cumulative[i]
	}
	ch <- prometheus.MustNewConstHistogram(chartLatencyDesc, h.Count, h.Sum, buckets)
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
