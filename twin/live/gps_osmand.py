"""The OsmAnd HTTP protocol (Traccar Client and many phone apps): one GPS fix per request.

Query or form parameters `id`/`deviceid`, `lat`, `lon` (or `location=lat,lon`), `timestamp` (epoch
seconds, epoch milliseconds when ≥ 2^31, or ISO-8601), `speed` (knots), `bearing`/`heading`; or the JSON
variant `{"device_id", "location": {"timestamp", "coords": {latitude, longitude, speed (m/s), heading}}}`,
whose `location` may also be a list, or `locations` a list (fixes buffered while offline).
Pure: the caller looks the device up.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

KNOT_KMH = 1.852
MS_KMH = 3.6
MAX_LOCATIONS = 1000  # per JSON request: a day of one fix a minute and more


class BadFix(ValueError):
    """A request that is not a usable fix; the message names the parameter and what is allowed."""


@dataclass(frozen=True)
class Fix:
    device_id: str
    time: datetime
    lat: float
    lon: float
    speed_kmh: float | None = None
    heading: float | None = None


def _number(name: str, raw: object, low: float, high: float) -> float:
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadFix(f"{name}={raw!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise BadFix(f"{name}={raw!r} is outside [{low}, {high}]")
    return value


def _optional(name: str, raw: object, low: float, high: float) -> float | None:
    return None if raw in (None, "") else _number(name, raw, low, high)


def parse_time(raw: object, now: datetime) -> datetime:
    """Epoch seconds, epoch ms (≥ 2^31), ISO-8601 with a zone; absent -> the time received."""
    if raw in (None, ""):
        return now
    text = str(raw).strip()
    try:
        number = float(text)
    except ValueError:
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise BadFix(f"timestamp={text!r}: give epoch seconds, epoch ms or ISO-8601") from None
        return _aware(when, text)
    if not math.isfinite(number) or number < 0:
        raise BadFix(f"timestamp={text!r} is not a time")
    return datetime.fromtimestamp(number / 1000 if number >= 2**31 else number, UTC)


def _aware(when: datetime, text: str) -> datetime:
    if when.tzinfo is None:
        raise BadFix(f"timestamp={text!r} has no time zone")
    return when.astimezone(UTC)


def _first(params: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if params.get(name) not in (None, ""):
            return params[name]
    return None


def parse_params(params: Mapping[str, Any], now: datetime) -> Fix:
    """A fix from query or form parameters."""
    device = _first(params, "id", "deviceid")
    if device is None:
        raise BadFix("id (or deviceid) is required")
    lat, lon = params.get("lat"), params.get("lon")
    if (lat is None or lon is None) and params.get("location"):
        parts = str(params["location"]).split(",")
        if len(parts) != 2:
            raise BadFix(f"location={params['location']!r}: give 'lat,lon'")
        lat, lon = parts
    if lat is None or lon is None:
        raise BadFix("lat and lon (or location=lat,lon) are required")
    speed = _optional("speed", params.get("speed"), 0, 1000)
    return Fix(
        str(device)[:64],
        parse_time(params.get("timestamp"), now),
        _number("lat", lat, -90, 90),
        _number("lon", lon, -180, 180),
        None if speed is None else speed * KNOT_KMH,
        _optional("bearing", _first(params, "bearing", "heading"), 0, 360),
    )


def parse_json(body: object, now: datetime) -> list[Fix]:
    """The fixes of the JSON variant (Traccar Client 8+; speed in m/s there): `location` as one object, or
    a list of them, or `locations` (what a client buffered while offline), all of one `device_id`."""
    if not isinstance(body, dict):
        raise BadFix("the JSON body must be an object with device_id and location")
    device = body.get("device_id")
    if device in (None, ""):
        raise BadFix("device_id is required in the JSON variant")
    found = body.get("locations", body.get("location"))
    locations = found if isinstance(found, list) else [found]
    if not locations or len(locations) > MAX_LOCATIONS:
        raise BadFix(f"give 1 to {MAX_LOCATIONS} locations in one request")
    return [_location(str(device)[:64], loc, now, f"locations[{i}]") for i, loc in enumerate(locations)]


def _location(device: str, location: object, now: datetime, where: str) -> Fix:
    if not isinstance(location, dict) or not isinstance(location.get("coords"), dict):
        raise BadFix(f"{where}: location.coords is required in the JSON variant")
    coords = location["coords"]
    speed = _optional(f"{where}.coords.speed", coords.get("speed"), -1, 300)
    return Fix(
        device,
        parse_time(location.get("timestamp"), now),
        _number(f"{where}.coords.latitude", coords.get("latitude"), -90, 90),
        _number(f"{where}.coords.longitude", coords.get("longitude"), -180, 180),
        None if speed is None or speed < 0 else speed * MS_KMH,  # -1: unknown on iOS
        _heading(_optional(f"{where}.coords.heading", coords.get("heading"), -1, 360)),
    )


def _heading(value: float | None) -> float | None:
    return None if value is None or value < 0 else value  # -1: unknown


def parse_request(method: str, content_type: str, query: bytes, body: bytes, now: datetime) -> list[Fix]:
    """The fixes of one OsmAnd request: JSON body, form body (over the query's parameters), or the query."""
    if method == "POST" and content_type.startswith("application/json"):
        try:
            return parse_json(json.loads(body), now)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadFix(f"the body is not JSON ({exc})") from exc
    params = _pairs(query)
    if method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        params |= _pairs(body)
    return [parse_params(params, now)]


def _pairs(raw: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError as exc:
        raise BadFix(f"parameters are not UTF-8 ({exc})") from exc
