"""Grading with LS and LEC: every LS product, the LEC band edges, the variants, refusals naming the lists.

Reference tables are written out here from ../shared/domain/risk.md, not taken from scales.yaml.
"""

from __future__ import annotations

import copy

import pytest

from twin.errors import InvalidInput
from twin.riskmap.scales import (
    LS_PRODUCTS,
    ScaleError,
    assess,
    build_scale,
    catalogue,
    default_scale,
    lec_band,
    validate_catalogue,
)

PAIRS = [(l_, s) for l_ in range(1, 6) for s in range(1, 6)]
# risk.md default (AQ 3013 lineage): R >= 20 red 1; 15-16 orange 2; 9-12 yellow 3; R <= 8 blue 4.
AQ3013 = {1: 4, 2: 4, 3: 4, 4: 4, 5: 4, 6: 4, 8: 4, 9: 3, 10: 3, 12: 3, 15: 2, 16: 2, 20: 1, 25: 1}
# risk.md common variant: 20-25 red, 9-16 orange, 4-8 yellow, 1-3 blue.
COMMON = {1: 4, 2: 4, 3: 4, 4: 3, 5: 3, 6: 3, 8: 3, 9: 2, 10: 2, 12: 2, 15: 2, 16: 2, 20: 1, 25: 1}
# Three levels (orange merged into red): >= 15 red 1, 9-12 yellow 2, <= 8 blue 3.
THREE = {1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3, 8: 3, 9: 2, 10: 2, 12: 2, 15: 1, 16: 1, 20: 1, 25: 1}
COLOURS = {1: "#E02020", 2: "#F08C00", 3: "#F5D000", 4: "#2878F0"}


def test_only_fourteen_ls_products_exist() -> None:
    assert sorted(LS_PRODUCTS) == [1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 20, 25]
    assert set(AQ3013) == set(COMMON) == set(THREE) == LS_PRODUCTS


@pytest.mark.parametrize(("likelihood", "severity"), PAIRS)
def test_every_ls_product_grades_as_the_default_table(likelihood: int, severity: int) -> None:
    a = assess("LS", {"L": likelihood, "S": severity}, default_scale())
    assert a.score == likelihood * severity
    assert a.level == AQ3013[likelihood * severity]
    assert a.colour == COLOURS[a.level]
    assert a.graded


@pytest.mark.parametrize(("likelihood", "severity"), PAIRS)
def test_every_ls_product_grades_as_the_common_variant(likelihood: int, severity: int) -> None:
    assert (
        assess("LS", {"L": likelihood, "S": severity}, build_scale("common")).level
        == COMMON[likelihood * severity]
    )


@pytest.mark.parametrize(("likelihood", "severity"), PAIRS)
def test_every_ls_product_grades_as_the_three_level_variant(likelihood: int, severity: int) -> None:
    a = assess("LS", {"L": likelihood, "S": severity}, build_scale("three_level"))
    assert a.level == THREE[likelihood * severity]
    assert a.levels == 3
    assert a.colour == {1: "#E02020", 2: "#F5D000", 3: "#2878F0"}[a.level]


@pytest.mark.parametrize(
    ("d", "level", "graded"),
    [
        (0.05, 4, False),
        (19.9, 4, False),
        (20, 4, True),
        (69.9, 4, True),
        (70, 3, True),
        (159.9, 3, True),
        (160, 2, True),
        (319.9, 2, True),
        (320, 1, True),
        (10000, 1, True),
    ],
)
def test_lec_bands_are_half_open_with_the_lower_bound_inclusive(d: float, level: int, graded: bool) -> None:
    assert lec_band(d, default_scale()) == (level, graded)


@pytest.mark.parametrize(
    ("d", "level", "graded"), [(19.9, 3, False), (20, 3, True), (70, 2, True), (160, 1, True), (320, 1, True)]
)
def test_three_level_lec_bands(d: float, level: int, graded: bool) -> None:
    assert lec_band(d, build_scale("three_level")) == (level, graded)


@pytest.mark.parametrize(
    ("lec", "score", "level", "graded"),
    [
        ((1, 2, 7), 14, 4, False),  # below 20: shown as blue, not graded
        ((10, 2, 1), 20, 4, True),
        ((10, 1, 7), 70, 3, True),
        ((10, 6, 3), 180, 2, True),
        ((6, 6, 15), 540, 1, True),
        ((0.1, 0.5, 1), 0.05, 4, False),
    ],
)
def test_lec_assessment_multiplies_and_grades(
    lec: tuple[float, float, float], score: float, level: int, graded: bool
) -> None:
    a = assess("LEC", dict(zip("LEC", lec, strict=True)), default_scale())
    assert (a.score, a.level, a.graded) == (score, level, graded)
    assert a.label.startswith(f"{level} ")


@pytest.mark.parametrize(
    ("method", "inputs", "named"),
    [
        ("LEC", {"L": 4, "E": 6, "C": 7}, "10, 6, 3, 1, 0.5, 0.2, 0.1"),
        ("LEC", {"L": 6, "E": 4, "C": 7}, "10, 6, 3, 2, 1, 0.5"),
        ("LEC", {"L": 6, "E": 6, "C": 50}, "100, 40, 15, 7, 3, 1"),
        ("LS", {"L": 6, "S": 2}, "1, 2, 3, 4, 5"),
        ("LS", {"L": 2.5, "S": 2}, "1, 2, 3, 4, 5"),
        ("LS", {"L": 2}, "1, 2, 3, 4, 5"),
    ],
)
def test_values_outside_the_lists_are_refused_naming_the_allowed_values(
    method: str, inputs: dict[str, float], named: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        assess(method, inputs, default_scale())
    assert named in refused.value.detail


def test_an_unknown_method_is_refused_naming_the_methods() -> None:
    with pytest.raises(InvalidInput, match="LEC, LS"):
        assess("HAZOP", {"L": 1}, default_scale())


def test_the_shipped_scales_are_valid() -> None:
    validate_catalogue()


def _broken(change: str) -> dict:  # type: ignore[type-arg]
    data = copy.deepcopy(catalogue())
    scheme = data["schemes"]["aq3013"]
    if change == "missing product":
        scheme["ls_bands"][4].remove(8)
    elif change == "product twice":
        scheme["ls_bands"][3].append(8)
    elif change == "not a product":
        scheme["ls_bands"][4].append(7)
    elif change == "gap":
        scheme["lec_bands"][1]["min"] = 170
    elif change == "open top":
        scheme["lec_bands"][0]["max"] = 1000
    return data


@pytest.mark.parametrize("change", ["missing product", "product twice", "not a product", "gap", "open top"])
def test_inconsistent_band_tables_are_rejected_at_load(change: str) -> None:
    with pytest.raises(ScaleError):
        build_scale("aq3013", data=_broken(change))


def test_colours_can_be_overridden_but_must_be_hex_and_of_a_known_level() -> None:
    assert build_scale("aq3013", colours={"1": "#FF0000"}).level(1).colour == "#FF0000"
    with pytest.raises(InvalidInput, match="#RRGGBB"):
        build_scale("aq3013", colours={1: "red"})
    with pytest.raises(InvalidInput, match="levels"):
        build_scale("three_level", colours={4: "#000000"})


def test_every_entry_of_the_scales_file_names_its_source_and_status() -> None:
    data = catalogue()
    entries = [*data["levels"].values(), data["lec"], data["ls"], *data["schemes"].values(), data["dynamic"]]
    for entry in [*entries, data["control_levels"]]:
        assert entry["source"] and entry["status"] in {"standard", "common", "assumed"}
