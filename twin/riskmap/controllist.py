"""The control list (风险分级管控清单): one row per risk point, as CSV, XLSX and PDF.

Measures are kept by type (engineering, management, training, personal protection, emergency) in the
point's `measures` JSON; the control level and responsible person say who controls it.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from twin.riskmap.scales import Scale

MEASURE_TYPES = (
    ("engineering", "工程技术措施"),
    ("management", "管理措施"),
    ("training", "培训教育措施"),
    ("ppe", "个体防护措施"),
    ("emergency", "应急处置措施"),
)
COLUMNS = (
    ("id", "编号 id"),
    ("code", "风险点编码 code"),
    ("name", "风险点名称 name"),
    ("place", "位置 place"),
    ("category", "类别 category"),
    ("description", "风险描述 description"),
    ("method", "评价方法 method"),
    ("inputs", "取值 inputs"),
    ("score", "分值 score"),
    ("level", "评定等级 level"),
    ("effective_level", "当前等级 effective level"),
    ("colour", "颜色 colour"),
    *((key, f"{zh} {key}") for key, zh in MEASURE_TYPES),
    ("control_level", "管控层级 control level"),
    ("responsible", "责任人 responsible"),
    ("review_date", "复评日期 review date"),
)
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@dataclass(frozen=True)
class ControlList:
    title: str
    rows: list[dict[str, Any]]


def _place(point: dict[str, Any]) -> str:
    parts = [point.get("campus"), point.get("building")]
    if point.get("floor") is not None:
        parts.append(f"{point['floor']}F")
    parts.append(point.get("zone"))
    return " / ".join(str(p) for p in parts if p)


def _measures(point: dict[str, Any]) -> dict[str, str]:
    raw = point.get("measures") or {}
    if isinstance(raw, str):
        raw = json.loads(raw)
    return {key: str(raw.get(key) or "") for key, _ in MEASURE_TYPES}


def row(point: dict[str, Any], scale: Scale) -> dict[str, Any]:
    """One line of the list, every value printable."""
    level = point.get("effective_level") or point.get("level")
    entry = scale.level(level) if level in {lv.level for lv in scale.levels} else None
    inputs = point.get("inputs") or {}
    responsible = " ".join(
        str(v)
        for v in (point.get("responsible"), point.get("responsible_title"), point.get("responsible_phone"))
        if v
    )
    review = point.get("review_date")
    return {
        "id": point["id"],
        "code": point["code"],
        "name": point["name"],
        "place": _place(point),
        "category": point["category"],
        "description": point.get("description") or "",
        "method": point.get("method") or "",
        "inputs": " ".join(
            f"{k}={v:g}" if isinstance(v, float | int) else f"{k}={v}" for k, v in inputs.items()
        ),
        "score": "" if point.get("score") is None else f"{point['score']:g}",
        "level": point.get("level") or "",
        "effective_level": level or "",
        "colour": f"{entry.colour_name} {entry.zh}" if entry else "",
        **_measures(point),
        "control_level": point.get("control_level") or (scale.control_levels.get(level, "") if level else ""),
        "responsible": responsible,
        "review_date": review.date().isoformat() if review is not None else "",
        "_hex": entry.colour if entry else None,  # for the cell fill, not a column
    }


def to_csv(cl: ControlList) -> bytes:
    """UTF-8 with a byte-order mark: Excel then opens the Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([label for _, label in COLUMNS])
    for r in cl.rows:
        writer.writerow([r[key] for key, _ in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(cl: ControlList) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "管控清单"
    ws.append([cl.title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([label for _, label in COLUMNS])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for r in cl.rows:
        ws.append([r[key] for key, _ in COLUMNS])
        colour = r.get("_hex")
        if colour:
            ws.cell(ws.max_row, 12).fill = PatternFill("solid", fgColor=colour.lstrip("#"))
    for col in ws.iter_cols(min_row=3):
        for cell in col:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A3"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_html(cl: ControlList) -> str:
    from twin.riskmap.render import template

    return template("control_list.html.j2").render(title=cl.title, columns=COLUMNS, rows=cl.rows)


def to_pdf(cl: ControlList) -> bytes:
    from twin.riskmap.render import pdf

    return pdf(to_html(cl))


def export(cl: ControlList, fmt: str) -> bytes:
    return {"csv": to_csv, "xlsx": to_xlsx, "pdf": to_pdf}[fmt](cl)
