"""A consumer that does nothing, for the processing benchmark."""

from consumers import Event, consumer


@consumer("bench", name="bench.noop")
def noop(event: Event) -> None:
    return None
