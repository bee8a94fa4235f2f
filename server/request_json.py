"""The JSON a client sends (a request body, a `variables` query parameter, a WebSocket
message), decoded and bounded before strawberry reads it: UTF-8 only, no NaN or Infinity
(JSON has none; Python's json would accept them), nesting at most MAX_JSON_DEPTH deep. What
fails is a JSONDecodeError saying why, which the HTTP endpoint answers with 400 and a JSON
error and graphql-transport-ws with close code 4400, never a server error."""

from __future__ import annotations

import json
from typing import Any, NoReturn

#: The deepest nesting of arrays and objects accepted. A GraphQL request with a GeoJSON
#: MultiPolygon in its variables nests about 10 deep; Python's parser fails near 1,000.
MAX_JSON_DEPTH = 64


class Undecodable(json.JSONDecodeError):
    """JSON that is not accepted, with the reason for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, "", 0)
        self.reason = reason


def _no_constants(name: str) -> NoReturn:
    raise Undecodable(f"{name} is not JSON")


def decode_json(data: str | bytes) -> Any:
    """The value of a JSON text; Undecodable when it is not UTF-8, not JSON, or too deep."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise Undecodable("the body is not valid UTF-8") from None
    try:
        value = json.loads(data, parse_constant=_no_constants)
    except RecursionError:
        raise Undecodable(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except Undecodable:
        raise
    except json.JSONDecodeError as exc:
        raise Undecodable(f"not JSON: {exc.msg} at position {exc.pos}") from None
    # Nesting needs an opening bracket or brace a level: with no more than MAX_JSON_DEPTH
    # of them in the whole text (strings included), nothing can nest deeper.
    if (data.count("[") + data.count("{") > MAX_JSON_DEPTH
            and _deeper_than(value, MAX_JSON_DEPTH)):
        raise Undecodable(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects in `value` nest more than `limit` deep (without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item \
            if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return False
