"""Post cards (岗位风险告知卡) per risk point and announcement boards (风险公告栏) per place, HTML and PDF.

Each card carries a QR code of the item's URL (/collections/risk_points/items/{id}). Cards of level 2
and above are mandatory: a board or card set flags the points of those levels that cannot have a complete
card (no control measures, no emergency measures or no responsible person).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twin.riskmap.controllist import MEASURE_TYPES, row
from twin.riskmap.render import pdf, qr_svg, template
from twin.riskmap.scales import Scale

MANDATORY_FROM = 2  # levels 1 and 2 must have a card
EMERGENCY_PHONE = "119 / 120 / 110"


@dataclass(frozen=True)
class Sheet:
    """What a board or a card set shows: cards, and the mandatory ones that are incomplete."""

    title: str
    place: str
    cards: list[dict[str, Any]]
    missing: list[str]


def item_url(base_url: str, point_id: int) -> str:
    return f"{base_url.rstrip('/')}/collections/risk_points/items/{point_id}"


def card(point: dict[str, Any], scale: Scale, base_url: str) -> dict[str, Any]:
    """One post card's content."""
    line = row(point, scale)
    level = point.get("effective_level") or point.get("level")
    url = item_url(base_url, point["id"])
    description = point.get("description") or ""
    return {
        "id": point["id"],
        "code": point["code"],
        "name": point["name"],
        "place": line["place"],
        "level": level,
        "level_label": scale.level(level).label if level in {lv.level for lv in scale.levels} else "未分级",
        "hex": line["_hex"],
        "mandatory": level is not None and level <= MANDATORY_FROM,
        "description": description,
        "consequences": description.split("可能导致", 1)[1] if "可能导致" in description else "",
        "measures": [(zh, line[key]) for key, zh in MEASURE_TYPES if key != "emergency"],
        "emergency": line["emergency"],
        "responsible": line["responsible"],
        "responsible_name": point.get("responsible") or "",
        "phone": point.get("responsible_phone") or EMERGENCY_PHONE,
        "url": url,
        "qr": qr_svg(url),
    }


def incomplete(c: dict[str, Any]) -> bool:
    return not (c["responsible_name"] and c["emergency"] and any(text for _, text in c["measures"]))


def sheet(title: str, place: str, points: list[dict[str, Any]], scale: Scale, base_url: str) -> Sheet:
    cards = [card(p, scale, base_url) for p in points]
    missing = [f"{c['code']} {c['name']}" for c in cards if c["mandatory"] and incomplete(c)]
    return Sheet(title, place, cards, missing)


def cards_html(s: Sheet) -> str:
    return template("cards.html.j2").render(title=s.title, cards=s.cards, missing=s.missing)


def board_html(s: Sheet, scale: Scale, board_url: str) -> str:
    levels = [c["level"] for c in s.cards if c["level"]]
    top = min(levels) if levels else None
    return template("board.html.j2").render(
        title=s.title,
        place=s.place,
        cards=s.cards,
        highest_label=scale.level(top).label if top in {lv.level for lv in scale.levels} else "—",
        qr=qr_svg(board_url),
        phone=EMERGENCY_PHONE,
    )


def as_pdf(html: str) -> bytes:
    return pdf(html)
