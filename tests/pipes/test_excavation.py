"""plan_excavation(): the trench arithmetic of the domain note, checked against numbers worked by hand."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from twin.pipes.excavation import (
    DemNotCovering,
    MissingDepths,
    OtherPipe,
    TrenchOptions,
    plan_excavation,
)
from twin.pipes.network import XY, Link


def flat(level: float = 100.0, *, until_x: float = 1e9) -> object:
    def ground(points: Sequence[XY]) -> list[float | None]:
        return [level if x <= until_x else None for x, _ in points]

    return ground


def pipe(depth: float | None = 1.5, *, ref: str = "top", d: float = 300, end: float | None = None) -> Link:
    return Link(
        "P", "A", "B", diameter_mm=d, start_depth_m=depth, end_depth_m=depth if end is None else end,
        depth_ref=ref, coords=((0.0, 0.0), (10.0, 0.0)), code="JS-P001", material="PE",
    )  # fmt: skip


OPTS = TrenchOptions(soil="sandy_loam", load="static", bedding_m=0.15, survey_ground=(100.0, 100.0))


def test_sloped_trench_volume_by_average_end_area() -> None:
    # DN300 PE, top 1.5 m deep on flat ground: H = 1.5 + 0.3 + 0.15 = 1.95 m > 1.25 m (sandy loam: slope)
    plan = plan_excavation(pipe(), "water", flat(), [], OPTS)  # type: ignore[arg-type]
    assert plan.walls == "sloped"
    assert plan.bottom_width_m == pytest.approx(0.3 + 2 * 0.40)  # b1 = 0.40 m, flexible pipe ≤ DN500
    assert plan.stations[0].slope == 0.75  # 1:0.75, stiff silt with static load (GB 50268 Table 4.3.3)
    assert plan.max_depth_m == pytest.approx(1.95)
    area = (1.1 + 0.75 * 1.95) * 1.95
    assert plan.volume_m3 == pytest.approx(area * 10, abs=0.01)
    assert plan.stations[0].top_width == pytest.approx(1.1 + 2 * 0.75 * 1.95)
    assert plan.top.area == pytest.approx(10 * (1.1 + 2 * 0.75 * 1.95), rel=1e-3)
    assert plan.bottom.area == pytest.approx(10 * 1.1)


def test_invert_depth_is_to_the_bottom_of_the_pipe() -> None:
    plan = plan_excavation(pipe(2.0, ref="invert"), "drainage", flat(), [], OPTS)  # type: ignore[arg-type]
    assert plan.max_depth_m == pytest.approx(2.0 + 0.15)
    assert plan.stations[0].pipe_top == pytest.approx(98.3)


def test_shallow_trench_has_vertical_walls_without_shoring() -> None:
    plan = plan_excavation(pipe(0.7, d=100), "telecom", flat(), [], OPTS)  # type: ignore[arg-type]
    assert plan.walls == "vertical"  # 0.95 m ≤ 1.25 m
    assert not any(plan.flags.values())


def test_deep_trench_needs_special_plan_and_beyond_five_metres_a_calculation() -> None:
    three = plan_excavation(pipe(2.8), "water", flat(), [], OPTS)  # type: ignore[arg-type]
    assert three.flags == {"shoring_needed": False, "special_plan": True, "calculation_needed": False}
    six = plan_excavation(
        pipe(5.0), "water", flat(), [], TrenchOptions(shored=True, survey_ground=(100, 100))
    )  # type: ignore[arg-type]
    assert six.flags == {"shoring_needed": True, "special_plan": True, "calculation_needed": True}
    assert six.bottom_width_m == pytest.approx(0.3 + 2 * (0.40 + 0.2))
    assert any("calculation" in note for note in six.safety)
    sloped = plan_excavation(pipe(5.0), "water", flat(), [], OPTS)  # type: ignore[arg-type]
    assert sloped.walls == "sloped"
    assert sloped.flags["shoring_needed"]  # beyond 5 m the slope table no longer holds


def test_dem_not_covering_the_trench_is_refused() -> None:
    with pytest.raises(DemNotCovering, match="no ground height at 4 of 11 stations"):
        plan_excavation(pipe(), "water", flat(until_x=6.5), [], OPTS)  # type: ignore[arg-type]


def test_missing_depths_are_refused_unless_an_assumption_is_given() -> None:
    with pytest.raises(MissingDepths, match="assumed_depth_m"):
        plan_excavation(pipe(None), "water", flat(), [], OPTS)  # type: ignore[arg-type]
    opts = TrenchOptions(survey_ground=(100, 100), assumed_depth_m=1.2)
    plan = plan_excavation(pipe(None), "water", flat(), [], opts)  # type: ignore[arg-type]
    assert any("assumed 1.2 m" in a for a in plan.assumptions)


def test_one_missing_end_depth_uses_the_other_and_says_so() -> None:
    link = Link("P", "A", "B", diameter_mm=300, start_depth_m=1.5, end_depth_m=None, coords=((0, 0), (10, 0)))
    plan = plan_excavation(link, "water", flat(), [], OPTS)  # type: ignore[arg-type]
    assert plan.max_depth_m == pytest.approx(1.95)
    assert any("one end not surveyed" in a for a in plan.assumptions)


def test_trench_around_a_point_is_short_and_centred_on_it() -> None:
    opts = TrenchOptions(survey_ground=(100, 100), around=(4.0, 0.3), length_m=3.0)
    plan = plan_excavation(pipe(), "water", flat(), [], opts)  # type: ignore[arg-type]
    assert plan.length_m == 3.0
    assert (plan.stations[0].s, plan.stations[-1].s) == (2.5, 5.5)


def crossing(depth: float, utility: str = "gas", x: float = 5.0, d: float = 100) -> OtherPipe:
    link = Link(
        "G", "C", "D", diameter_mm=d, start_depth_m=depth, end_depth_m=depth, coords=((x, -5), (x, 5))
    )
    return OtherPipe(utility, link, "low")


def test_pipe_crossing_the_trench_prism_is_a_conflict() -> None:
    plan = plan_excavation(pipe(), "water", flat(), [crossing(1.0)], OPTS)  # type: ignore[arg-type]
    [c] = plan.conflicts
    assert c.kind == "crosses the trench"
    assert c.required_m == 0.15  # gas–water crossing clearance
    assert c.vertical_gap_m == pytest.approx(0.4)  # gas bottom 98.9, water top 98.5


def test_pipe_crossing_far_below_the_trench_is_no_conflict() -> None:
    plan = plan_excavation(pipe(), "water", flat(), [crossing(4.0)], OPTS)  # type: ignore[arg-type]
    assert plan.conflicts == []


def test_parallel_pipe_within_gb50289_clearance_widened_by_survey_uncertainty() -> None:
    sewer = Link("S", "E", "F", diameter_mm=300, start_depth_m=2.0, end_depth_m=2.0, depth_ref="invert",
                 coords=((0, 1.9), (10, 1.9)))  # fmt: skip
    # wall to wall 1.9 − 0.15 − 0.15 = 1.6 m; water DN300 (> 200) needs 1.5 m, + 0.10·h plan tolerance;
    # under the sloped wall (1:0.75) the trench is only ~0.6 m deep there: the sewer is not dug into
    plan = plan_excavation(pipe(), "water", flat(), [OtherPipe("drainage", sewer)], OPTS)  # type: ignore[arg-type]
    [c] = plan.conflicts
    assert (c.kind, c.distance_m, c.required_m) == ("within clearance", 1.6, 1.5)
    assert c.uncertainty_m == pytest.approx(0.10 * 1.85, abs=0.005)  # sewer centre 1.85 m deep
    assert "GB 50289" in c.source and not c.fallback


def test_unlisted_pair_falls_back_to_the_default_and_says_so() -> None:
    heat = Link(
        "H", "E", "F", diameter_mm=100, start_depth_m=1.2, end_depth_m=1.2, coords=((0, 3.0), (10, 3.0))
    )
    opts = TrenchOptions(survey_ground=(100, 100), default_clearance_m=3.0)
    plan = plan_excavation(pipe(), "water", flat(), [OtherPipe("heat", heat)], opts)  # type: ignore[arg-type]
    [c] = plan.conflicts
    assert c.kind == "within clearance" and c.distance_m == 2.8
    assert c.fallback and c.required_m == 3.0 and "default" in c.source


def test_line_digitised_against_its_start_and_end_is_turned_round_before_planning() -> None:
    from twin.pipes.digging import oriented
    from twin.pipes.network import Node, build_network

    backwards = Link(
        "P", "A", "B", diameter_mm=300, start_depth_m=1.0, end_depth_m=3.0, coords=((10, 0), (0, 0))
    )
    net = build_network("water", [Node("A", xy=(0.0, 0.0)), Node("B", xy=(10.0, 0.0))], [backwards])
    plan = plan_excavation(oriented(net, "P"), "water", flat(), [], OPTS)  # type: ignore[arg-type]
    first = plan.stations[0]
    assert (first.x, first.pipe_top) == (0.0, pytest.approx(99.0))  # A, where the pipe is 1 m deep
