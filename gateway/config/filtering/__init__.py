"""Filters: which requests a consumer wants, in the JSON syntax Hookdeck and Convoy users already write.

A filter has up to four sections, all of which must match: ``body`` (the JSON body), ``headers`` (names
case-insensitive, values case-sensitive), ``query`` (``parse_qs`` of the raw query string: one value is a
string, several a list; a repeated header likewise) and ``path`` (a string: equality, or an object of
operators; Convoy's ``{"path": "/v2/orders"}`` works too). An empty section matches everything.
``compile_filter`` checks the whole spec once (a ``FilterError`` names the clause at fault);
``Filter.check`` never raises, and names the first clause that declined and the value it saw.

Semantics follow Hookdeck's engine (github.com/hookdeck/simple-json-match) and Convoy's
(github.com/frain-dev/convoy, ``pkg/compare`` and ``pkg/flatten``):

- A value in the filter means equality, with JSON's types kept apart: ``1`` is not ``"1"``, ``true`` is
  not ``1``, ``1`` is ``1.0``. An object means a partial match (keys the event has beyond it do not
  matter); ``{}`` matches any object. Keys are paths: ``{"data.object.amount": 1}`` is
  ``{"data": {"object": {"amount": 1}}}`` (a key with dots the event has literally is tried first), a
  numeric segment indexes an array, and ``$`` is any element of one (Convoy's ``"data.$.event"``).
- An array in the event matches a value or an operator when any of its elements does (``{"tags":
  "gift"}`` matches ``["gift", "card"]``); an object clause must hold for one element as a whole. An
  array in the filter means "contains all": each of its items matches some element of the event's array
  (Hookdeck); to compare a whole array, use ``$eq``.
- Operators: ``$eq $neq`` (deep equality), ``$gt $gte $lt $lte`` (a number with a number, a string with
  a string; other pairs decline), ``$in $nin`` (a list of values; Hookdeck's string operand means
  "contains"), ``$startsWith $endsWith`` (a string, or a list of which any will do), ``$contains`` (a
  substring of a string, an element of an array), ``$regex`` (Python ``re``, found anywhere in the string
  as in Convoy), ``$exist`` (true or false), ``$and $or`` (lists of filters; under a field, plain values
  too), ``$not`` (a filter).
- A missing field declines every clause but ``$exist: false`` and ``$not``; ``$neq`` and ``$nin``
  decline it too, as in Hookdeck. A path through a missing or non-object value is missing.
- Headers, query values and the path are text: a number in the filter compares with them as a number
  (``{"x-retry-count": {"$gte": 2}}``).
- A body that is not JSON declines every filter with a ``body`` section, and only those.

Where hookgate departs from them: an operator on an array tests its elements (both test the array whole);
a body's numeric string is not a number (both coerce ``"5"`` to ``5``); a wrong operand or unknown
operator stops the config loading (both decline events instead); Convoy skips a clause on a missing
field, Hookdeck declines it, as here, except that ``$exist: false`` under a missing parent matches; an
empty section matches everything, as in Convoy; Hookdeck's ``$ref`` is not supported.

Regexes run Python's ``re`` on the sender's text: the config is trusted, the body is not, so write them
without nested quantifiers such as ``(a+)+``.

The modules: ``compile`` checks a spec into a tree of nodes (``operators``, ``paths``), ``match`` holds
the compiled ``Filter`` and the node protocol, ``request`` what a filter looks at.
"""

from gateway.config.filtering.compile import FilterError, compile_filter
from gateway.config.filtering.match import Filter, Verdict
from gateway.config.filtering.request import NOT_JSON, Request, parse_body

__all__ = ["NOT_JSON", "Filter", "FilterError", "Request", "Verdict", "compile_filter", "parse_body"]
