"""A consumer that does nothing, for the processing benchmark."""

from consumers import Event, consumer


@consumer("bench", name="bench.noop")
def noop(event: Event) -> None:
    return None


@consumer("bench-fanout", name="bench.fan-a")
def fan_a(event: Event) -> None:
    return None


@consumer("bench-fanout", name="bench.fan-b")
def fan_b(event: Event) -> None:
    return None
