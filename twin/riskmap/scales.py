"""The grading scales (LEC, LS) as data, validated once, and `assess(method, inputs, scale)`.

scales.yaml holds the value lists, the band tables of each scheme (default AQ 3013 lineage, the common
variant, a three-level red/yellow/blue one), the palettes and the dynamic rule. A `Scale` is one scheme
resolved against the lists: what a school grades with. Overrides per province or school (a scheme name,
colours, the dynamic rule) are rows in `risk_scales`; `Scale.definition()` is what is stored there, and
what the database's own grading function (migration 0008) reads for dynamic re-grading.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from twin.errors import InvalidInput

LS_PRODUCTS = frozenset(a * b for a in range(1, 6) for b in range(1, 6))
assert len(LS_PRODUCTS) == 14
METHODS = ("LEC", "LS")
FACTORS = {"LEC": ("L", "E", "C"), "LS": ("L", "S")}


@dataclass(frozen=True)
class Level:
    level: int
    colour: str
    colour_name: str
    zh: str
    en: str

    @property
    def label(self) -> str:
        return f"{self.level} {self.zh} {self.en}"


@dataclass(frozen=True)
class LecBand:
    """D in [low, high): None is unbounded on that side."""

    low: float | None
    high: float | None
    level: int
    graded: bool = True

    def holds(self, d: float) -> bool:
        return (self.low is None or d >= self.low) and (self.high is None or d < self.high)


@dataclass(frozen=True)
class DynamicRule:
    open_hazard_steps: int = 1
    active_alert_steps: int = 1
    max_steps: int = 2


@dataclass(frozen=True)
class Scale:
    """One grading scheme, ready to grade with."""

    scheme: str
    levels: tuple[Level, ...]
    lec_values: dict[str, tuple[float, ...]]  # L, E, C: allowed values, highest first
    ls_values: dict[str, tuple[int, ...]]  # L, S: 1..5
    ls_bands: dict[int, int]  # product -> level
    lec_bands: tuple[LecBand, ...]
    dynamic: DynamicRule = field(default_factory=DynamicRule)
    control_levels: dict[int, str] = field(default_factory=dict)

    def level(self, n: int) -> Level:
        for entry in self.levels:
            if entry.level == n:
                return entry
        raise KeyError(n)

    def definition(self) -> dict[str, Any]:
        """The scale as JSON, for the `risk_scales` table and the database's grading function."""
        return {
            "scheme": self.scheme,
            "levels": [vars(lv) for lv in self.levels],
            "LEC": {
                **{k: list(v) for k, v in self.lec_values.items()},
                "bands": [vars(b) for b in self.lec_bands],
            },
            "LS": {
                **{k: list(v) for k, v in self.ls_values.items()},
                "bands": {str(p): lv for p, lv in sorted(self.ls_bands.items())},
            },
            "dynamic": vars(self.dynamic),
            "control_levels": {str(k): v for k, v in self.control_levels.items()},
        }


@dataclass(frozen=True)
class Assessment:
    """The result of grading: score, level, its colour and label; `graded` False below the lowest band."""

    method: str
    inputs: dict[str, float]
    score: float
    level: int
    colour: str
    label: str
    graded: bool
    scheme: str
    levels: int


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{value!r} is not a number")
    return float(value)


def _allowed(values: tuple[float, ...]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def assess(method: str, inputs: dict[str, Any], scale: Scale) -> Assessment:
    """Grade `inputs` with `method` (LEC or LS) on `scale`; values outside the lists are refused."""
    if method not in FACTORS:
        raise InvalidInput(f"method {method!r} is unknown; allowed: LEC, LS", field="method")
    allowed_lists: dict[str, tuple[float, ...]] = (
        dict(scale.lec_values)
        if method == "LEC"
        else {k: tuple(map(float, v)) for k, v in scale.ls_values.items()}
    )
    values: dict[str, float] = {}
    for factor in FACTORS[method]:
        allowed = allowed_lists[factor]
        if factor not in inputs or inputs[factor] is None:
            raise InvalidInput(f"{method} needs {factor}; allowed values: {_allowed(allowed)}", field=factor)
        value = _number(inputs[factor])
        if value not in allowed:
            raise InvalidInput(
                f"{method} {factor}={value:g} is not on the scale; allowed values: {_allowed(allowed)}",
                field=factor,
                allowed=list(allowed),
            )
        values[factor] = value
    if method == "LS":
        score = values["L"] * values["S"]
        level, graded = scale.ls_bands[int(score)], True
    else:
        # Products of the list values are exact to 2 decimals (0.1 x 0.5 x 1 = 0.05); round off float noise.
        score = round(values["L"] * values["E"] * values["C"], 4)
        level, graded = lec_band(score, scale)
    entry = scale.level(level)
    return Assessment(
        method, values, score, level, entry.colour, entry.label, graded, scale.scheme, len(scale.levels)
    )


def lec_band(d: float, scale: Scale) -> tuple[int, bool]:
    """The level of an LEC score D and whether it is graded at all (D below the lowest band is not)."""
    band = next(b for b in scale.lec_bands if b.holds(d))
    return band.level, band.graded


# --- loading and validation -----------------------------------------------------------------------


class ScaleError(ValueError):
    """scales.yaml (or an override) is inconsistent; the message says where."""


def _levels(raw: list[dict[str, Any]], name: str) -> tuple[Level, ...]:
    entries = tuple(Level(**{k: e[k] for k in ("level", "colour", "colour_name", "zh", "en")}) for e in raw)
    numbers = [e.level for e in entries]
    if numbers != list(range(1, len(entries) + 1)):
        raise ScaleError(f"levels {name!r}: level numbers must be 1..n in order, got {numbers}")
    return entries


def _ls_bands(raw: dict[Any, list[int]], scheme: str, n_levels: int) -> dict[int, int]:
    bands: dict[int, int] = {}
    for level, products in raw.items():
        if not 1 <= int(level) <= n_levels:
            raise ScaleError(f"scheme {scheme!r}: LS band level {level} is not one of 1..{n_levels}")
        for p in products:
            if p in bands:
                raise ScaleError(f"scheme {scheme!r}: LS product {p} is in two bands")
            bands[int(p)] = int(level)
    if set(bands) != LS_PRODUCTS:
        missing, extra = sorted(LS_PRODUCTS - set(bands)), sorted(set(bands) - LS_PRODUCTS)
        raise ScaleError(
            f"scheme {scheme!r}: LS bands must cover exactly the 14 products; "
            f"missing {missing}, not products {extra}"
        )
    return bands


def _lec_bands(raw: list[dict[str, Any]], scheme: str, n_levels: int) -> tuple[LecBand, ...]:
    bands = sorted(
        (LecBand(b["min"], b["max"], int(b["level"]), bool(b.get("graded", True))) for b in raw),
        key=lambda b: -1.0 if b.low is None else b.low,
    )
    if bands[0].low is not None or bands[-1].high is not None:
        raise ScaleError(
            f"scheme {scheme!r}: LEC bands must start at -inf (min: null) and end at +inf (max: null)"
        )
    for lower, upper in itertools.pairwise(bands):
        if lower.high != upper.low:
            raise ScaleError(
                f"scheme {scheme!r}: LEC bands must be contiguous; [{lower.low}, {lower.high}) "
                f"is followed by [{upper.low}, {upper.high})"
            )
    for b in bands:
        if not 1 <= b.level <= n_levels:
            raise ScaleError(f"scheme {scheme!r}: LEC band level {b.level} is not one of 1..{n_levels}")
    return tuple(bands)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Any]:
    """scales.yaml as loaded (cached)."""
    text = resources.files("twin.riskmap").joinpath("scales.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def build_scale(
    scheme: str,
    *,
    colours: dict[Any, str] | None = None,
    dynamic: dict[str, int] | None = None,
    data: dict[str, Any] | None = None,
) -> Scale:
    """The scale of `scheme` from scales.yaml (or `data`), with optional colour and dynamic-rule changes."""
    data = data or catalogue()
    if scheme not in data["schemes"]:
        raise InvalidInput(
            f"scheme {scheme!r} is unknown; allowed: {', '.join(data['schemes'])}", field="scheme"
        )
    entry = data["schemes"][scheme]
    level_set = entry["levels"]
    levels = _levels(data["levels"][level_set]["entries"], level_set)
    if colours:
        levels = _recoloured(levels, colours)
    rule = {**{k: v for k, v in data["dynamic"].items() if k.endswith("steps")}, **(dynamic or {})}
    return Scale(
        scheme=scheme,
        levels=levels,
        lec_values={k: tuple(float(e["value"]) for e in data["lec"][k]) for k in ("L", "E", "C")},
        ls_values={k: tuple(int(v) for v in data["ls"][k]) for k in ("L", "S")},
        ls_bands=_ls_bands(entry["ls_bands"], scheme, len(levels)),
        lec_bands=_lec_bands(entry["lec_bands"], scheme, len(levels)),
        dynamic=_dynamic(rule),
        control_levels={int(k): v for k, v in data["control_levels"][level_set].items()},
    )


def _recoloured(levels: tuple[Level, ...], colours: dict[Any, str]) -> tuple[Level, ...]:
    colours = {int(k): v for k, v in colours.items()}
    known = {lv.level for lv in levels}
    for n, colour in colours.items():
        if n not in known:
            raise InvalidInput(
                f"colour for level {n}: the scheme has levels {sorted(known)}", field="colours"
            )
        if not re.fullmatch(r"#[0-9A-Fa-f]{6}", colour):
            raise InvalidInput(f"colour {colour!r} for level {n}: use #RRGGBB", field="colours")
    return tuple(
        Level(lv.level, colours.get(lv.level, lv.colour), lv.colour_name, lv.zh, lv.en) for lv in levels
    )


def _dynamic(rule: dict[str, Any]) -> DynamicRule:
    allowed = ("open_hazard_steps", "active_alert_steps", "max_steps")
    unknown = set(rule) - set(allowed)
    if unknown:
        raise InvalidInput(
            f"dynamic rule: unknown {sorted(unknown)}; allowed: {', '.join(allowed)}", field="dynamic"
        )
    for key, value in rule.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 6:
            raise InvalidInput(
                f"dynamic rule: {key} must be a whole number of L steps, 0..6", field="dynamic"
            )
    return DynamicRule(**rule)


@lru_cache(maxsize=1)
def shipped() -> dict[str, Scale]:
    """Every scheme of scales.yaml, built (and so validated) once, on first use."""
    return {name: build_scale(name) for name in catalogue()["schemes"]}


def default_scale() -> Scale:
    """The scale a school grades with when neither it nor its province has chosen another."""
    return shipped()[catalogue()["default_scheme"]]


def allowed_values() -> dict[str, Any]:
    """What an assessor may pick, as scales.yaml gives it: LEC and LS values (with their meanings),
    the schemes and their level palettes. The same for every org unit: schemes differ in bands only."""
    data = catalogue()
    lec = {k: [{"value": e["value"], "en": e["en"], "zh": e["zh"]} for e in data["lec"][k]] for k in "LEC"}
    return {
        "LEC": {**lec, "formula": "D = L × E × C", "source": data["lec"]["source"]},
        "LS": {
            **{k: [{"value": v} for v in data["ls"][k]] for k in ("L", "S")},
            "formula": "R = L × S",
            "source": data["ls"]["source"],
        },
        "default_scheme": data["default_scheme"],
        "schemes": {
            name: {
                "title": s["title"],
                "status": s["status"],
                "levels": data["levels"][s["levels"]]["entries"],
            }
            for name, s in data["schemes"].items()
        },
    }


def scheme_names() -> tuple[str, ...]:
    return tuple(catalogue()["schemes"])


def validate_catalogue() -> None:
    """Build every scheme anew: raises ScaleError naming the first inconsistency of scales.yaml."""
    for name in scheme_names():
        build_scale(name)
