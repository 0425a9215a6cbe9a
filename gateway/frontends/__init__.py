"""The operators' front ends: the CLI, the admin API, the dashboard, and the tokens they share."""
