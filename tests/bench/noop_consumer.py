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


#: Filters that every benchmark event passes (a body clause and a header clause): what filtering costs.
MATCH_ALL = {"body": {"n": {"$gte": 0}}, "headers": {"content-type": {"$startsWith": "application/json"}}}


@consumer("bench-filtered", name="bench.filtered", filter=MATCH_ALL)
def filtered(event: Event) -> None:
    return None


@consumer("bench-filtered-fanout", name="bench.filtered-a", filter=MATCH_ALL)
def filtered_a(event: Event) -> None:
    return None


@consumer("bench-filtered-fanout", name="bench.filtered-b", filter=MATCH_ALL)
def filtered_b(event: Event) -> None:
    return None
