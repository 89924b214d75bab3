"""What the routes ask of the risk map, composed from queries (load) and the pure modules (compute)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access import Caller
from twin.access.roles import Role
from twin.db.asat import AsAt, check_not_before
from twin.errors import Forbidden, InvalidInput, NotFound
from twin.riskmap import cards, controllist, fourcolour, mapimage, queries
from twin.riskmap.scales import Assessment, Scale, assess, build_scale


async def assess_for(
    conn: AsyncConnection, caller: Caller, method: str, inputs: dict[str, Any], org: str | None
) -> Assessment:
    """Grade with the scale of `org` (default: the caller's own org unit)."""
    path = (await queries.org_unit(conn, caller, org)).path if org else caller.org_path
    return assess(method, inputs, await queries.scale_for(conn, path))


async def scales_of(conn: AsyncConnection, paths: set[str]) -> dict[str, Scale]:
    return {p: await queries.scale_for(conn, p) for p in paths}


async def _past(conn: AsyncConnection, unit: queries.OrgUnit, at: datetime | None) -> AsAt | None:
    """The org unit's risk map as it was at `at` (None: today); 400 before its first campus existed."""
    if at is None:
        return None
    past = AsAt(at, unit.path)
    await check_not_before(conn, past, field="datetime")
    return past


async def four_colour(
    conn: AsyncConnection, caller: Caller, org_code: str, at: datetime | None = None
) -> tuple[queries.OrgUnit, dict[str, Any]]:
    unit = await queries.org_unit(conn, caller, org_code)
    past = await _past(conn, unit, at)
    rows = await queries.zones(conn, unit.path, past)
    scales = await scales_of(conn, {r["org_path"] for r in rows})
    collection = fourcolour.four_colour(rows, scales, await queries.scale_for(conn, unit.path))
    collection["org"] = {"code": unit.code, "name": unit.name, "level": unit.level}
    if at is not None:
        collection["as_at"] = at.isoformat()
    return unit, collection


async def four_colour_image(
    conn: AsyncConnection, caller: Caller, org_code: str, fmt: str, bw: bool, at: datetime | None = None
) -> bytes:
    unit, collection = await four_colour(conn, caller, org_code, at)
    return mapimage.render(collection, f"{unit.name} 风险四色图 four-colour risk map", fmt, bw=bw)


async def rollup(
    conn: AsyncConnection, caller: Caller, org_code: str, at: datetime | None = None
) -> dict[str, Any]:
    """The org unit's counts per level and highest level, with its children's (and, for a school, its
    campuses', buildings', floors' and zones')."""
    unit = await queries.org_unit(conn, caller, org_code)
    past = await _past(conn, unit, at)
    depth = await queries.depth_of(conn, unit.path)
    rows = await queries.rollup_rows(conn, unit.path, depth, past)
    own = next((r for r in rows if r["kind"] == "org" and r["org_path"] == unit.path), None)
    empty = {"points": [0, 0, 0, 0], "zones": [0, 0, 0, 0]}
    out: dict[str, Any] = {
        "org": {"code": unit.code, "name": unit.name, "level": unit.level},
        **fourcolour.counts(own or empty),
        "children": [],
        **({"as_at": at.isoformat()} if at is not None else {}),
    }
    for r in rows:
        if r is own:
            continue
        entry = {"kind": r["kind"], "code": r["code"], "name": r["name"], **fourcolour.counts(r)}
        for key in ("campus_id", "building_id", "floor", "zone_id"):
            if r[key] is not None:
                entry[key] = r[key]
        out["children"].append(entry)
    return out


async def _within(
    conn: AsyncConnection, unit: queries.OrgUnit, limit: int, what: str, past: AsAt | None, **where: Any
) -> None:
    """Refuse (400) an export larger than `limit` rows before building it, naming a smaller choice."""
    n = await queries.count_points(conn, unit.path, past=past, **where)
    if n > limit:
        raise InvalidInput(
            f"{unit.name} has {n} risk points; a {what} holds at most {limit}: ask for a county or school",
            limit=limit,
            count=n,
        )


async def control_list(
    conn: AsyncConnection, caller: Caller, org_code: str, limit: int = 50_000, at: datetime | None = None
) -> controllist.ControlList:
    unit = await queries.org_unit(conn, caller, org_code)
    past = await _past(conn, unit, at)
    await _within(conn, unit, limit, "control list", past)
    points = await queries.risk_points(conn, unit.path, past=past)
    scales = await scales_of(conn, {p["org_path"] for p in points})
    rows = [controllist.row(p, scales[p["org_path"]]) for p in points]
    return controllist.ControlList(f"{unit.name} 风险分级管控清单 risk control list", rows)


async def card_sheet(
    conn: AsyncConnection,
    caller: Caller,
    org_code: str,
    base_url: str,
    point_id: int | None,
    limit: int = 2_000,
) -> cards.Sheet:
    unit = await queries.org_unit(conn, caller, org_code)
    if point_id is None:
        await _within(conn, unit, limit, "set of cards", None)
    points = await queries.risk_points(conn, unit.path, point_id=point_id)
    if point_id is not None and not points:
        raise NotFound(f"no risk point {point_id} in {unit.name}")
    scale = await queries.scale_for(conn, unit.path)
    return cards.sheet(f"{unit.name} 岗位风险告知卡", unit.name, points, scale, base_url)


async def board(
    conn: AsyncConnection,
    caller: Caller,
    org_code: str,
    base_url: str,
    building_id: int | None,
    limit: int = 2_000,
    at: datetime | None = None,
) -> tuple[cards.Sheet, Scale]:
    unit = await queries.org_unit(conn, caller, org_code)
    past = await _past(conn, unit, at)
    await _within(conn, unit, limit, "board", past, building_id=building_id)
    points = await queries.risk_points(conn, unit.path, building_id=building_id, past=past)
    if building_id is not None and not points:
        raise NotFound(f"no risk points in building {building_id} of {unit.name}")
    place = points[0]["building"] if building_id is not None and points[0]["building"] else unit.name
    scale = await queries.scale_for(conn, unit.path)
    return cards.sheet(place, place, points, scale, base_url), scale


async def scale_of(conn: AsyncConnection, caller: Caller, org_code: str) -> dict[str, Any]:
    unit = await queries.org_unit(conn, caller, org_code)
    row = await queries.scale_row(conn, unit.path)
    scale = await queries.scale_for(conn, unit.path)
    inherited = row["org_path"] if row else ""
    return {
        "org": unit.code,
        "scheme": scale.scheme,
        "set_at": inherited if inherited else None,
        "inherited": inherited != unit.path,
        "definition": scale.definition(),
    }


async def set_scale(
    conn: AsyncConnection,
    caller: Caller,
    org_code: str,
    scheme: str,
    colours: dict[str, str] | None,
    dynamic: dict[str, int] | None,
) -> dict[str, Any]:
    """An admin chooses the scheme (and colours, dynamic rule) of an org unit in their jurisdiction."""
    if caller.role is not Role.admin:
        raise Forbidden(f"only an admin may change the grading scale; you are {caller.role.value}")
    unit = await queries.org_unit(conn, caller, org_code)
    scale = build_scale(scheme, colours=colours, dynamic=dynamic)
    regraded = await queries.save_scale(conn, unit.path, scale, colours, dynamic, caller.user_id)
    return {**(await scale_of(conn, caller, org_code)), "regraded": regraded}


async def clear_scale(conn: AsyncConnection, caller: Caller, org_code: str) -> dict[str, Any]:
    """An admin drops an org unit's own choice: it grades with its nearest ancestor's scale again."""
    if caller.role is not Role.admin:
        raise Forbidden(f"only an admin may change the grading scale; you are {caller.role.value}")
    unit = await queries.org_unit(conn, caller, org_code)
    found, regraded = await queries.delete_scale(conn, unit.path)
    if not found:
        raise NotFound(f"{unit.name} has no scale of its own; it inherits one")
    return {**(await scale_of(conn, caller, org_code)), "regraded": regraded}
