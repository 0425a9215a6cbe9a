"""The operators' front ends over HTTP: the admin API, the dashboard, and the tokens they share."""
