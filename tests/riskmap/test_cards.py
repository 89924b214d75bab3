"""Post cards: a QR code of the item's URL on each, and mandatory cards (level 1 and 2) flagged when they
cannot be complete (no measures, no emergency measures or nobody responsible)."""

from __future__ import annotations

from typing import Any

from twin.riskmap.cards import cards_html, sheet
from twin.riskmap.scales import default_scale

BASE = "https://twin.example.edu.cn"


def point(pid: int, level: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "code": f"RP-{pid}",
        "name": f"风险点{pid}",
        "category": "laboratory",
        "level": level,
        "effective_level": level,
        "description": "危化品柜：可能导致中毒和窒息",
        "measures": {"engineering": "通风柜", "management": "双人双锁", "emergency": "疏散，拨打120"},
        "responsible": "王老师",
        "responsible_phone": "13800000000",
        **extra,
    }


def test_mandatory_cards_without_measures_or_a_responsible_person_are_flagged() -> None:
    s = sheet(
        "cards",
        "lab",
        [
            point(1, 1),
            point(2, 2, measures=None),
            point(3, 1, responsible=None),
            point(4, 3, measures=None),  # level 3: a card is not mandatory
        ],
        default_scale(),
        BASE,
    )
    assert s.missing == ["RP-2 风险点2", "RP-3 风险点3"]
    assert [c["mandatory"] for c in s.cards] == [True, True, True, False]


def test_each_card_links_its_item_with_a_qr_code() -> None:
    s = sheet("cards", "lab", [point(7, 2)], default_scale(), BASE)
    c = s.cards[0]
    assert c["url"] == f"{BASE}/collections/risk_points/items/7"
    assert c["qr"].startswith("<svg")
    html = cards_html(s)
    assert "岗位风险告知卡" in html and "2 较大风险 considerable" in html and "中毒和窒息" in html
