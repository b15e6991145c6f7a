"""Alerts that reach a person: the events that matter, pushed to Telegram, Slack, Discord, email, ntfy or a webhook.

One place decides what an alert says: `events` (the catalog: each event's level and its one-line message: what
happened, the figure, what the system did, what to do). `live.journal.Journal.alert` writes it as an `alert` record
into the journal of whoever saw it (the trader; the autopilot's own journal); the dashboard, `live.serve status` and
the pushes all read those records. `dispatcher` tails the journals a command owns and decides what to push (`policy`:
minimum level per URL, rate limit per event kind with a summary, quiet hours, the feed held for N seconds, the daily
summary); `sender` delivers off the trading path with retries; `targets` reads the apprise URLs from the environment
or `.env` and keeps them out of every log, record and message. `python -m live.alerts test|run|status`.
Nothing here is imported by the trader's hot path except the catalog (pure). docs/LIVE.md "Alerts".
"""
