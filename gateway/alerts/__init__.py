"""Alerts: failures grouped into issues, rules that watch them and other conditions, and notifications
sent to channels once per issue opening, reminder and resolution."""
