"""What every process stands on: Redis connections, logs, metrics, tracing, time parsing."""
