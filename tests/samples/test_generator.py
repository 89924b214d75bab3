"""The sample-campus generator: deterministic, within the layer contract, and physically consistent."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
import wntr
from pyproj import Transformer

from twin.ingest import validated_layers
from twin.ingest.spec import LAYERS
from twin.models.campus import BUILDING_USES, GROUND_KINDS
from twin.models.live import SENSOR_TYPES
from twin.models.org import PERSON_ROLES
from twin.models.pipes import DEVICE_KINDS, NODE_KINDS, UTILITIES
from twin.models.risk import HAZARD_STATES, RISK_CATEGORIES
from twin.samples import SampleFiles, build_sample
from twin.samples.gpkg import write_gpkg
from twin.samples.province import province_chunks

NOT_ON_CAMPUS = {"bus_routes", "bus_stops"}
OGR_TYPES = {
    "POINT": "Point",
    "LINESTRING": "LineString",
    "POLYGON": "Polygon",
    "MULTIPOLYGON": "MultiPolygon",
    "GEOMETRY": "Unknown",
}
TO_METRIC = Transformer.from_crs(4326, 4546, always_xy=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> SampleFiles:
    return build_sample(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def layers(files: SampleFiles) -> dict[str, pd.DataFrame]:
    return {
        str(name): pyogrio.read_dataframe(files.gpkg, layer=str(name))
        for name, _ in pyogrio.list_layers(files.gpkg)
    }


@pytest.fixture(scope="module")
def boundary(layers: dict[str, pd.DataFrame]) -> shapely.Geometry:
    return layers["campuses"].geometry.iloc[0]


def metric(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: np.column_stack(TO_METRIC.transform(xy[:, 0], xy[:, 1])))


# --- determinism and the layer contract -------------------------------------------------------------------


def test_same_seed_gives_the_same_files(files: SampleFiles, tmp_path: Path) -> None:
    again = build_sample(tmp_path)
    for name, _ in pyogrio.list_layers(files.gpkg):
        pd.testing.assert_frame_equal(
            pyogrio.read_dataframe(files.gpkg, layer=name), pyogrio.read_dataframe(again.gpkg, layer=name)
        )
    assert files.gpkg.read_bytes() == again.gpkg.read_bytes()
    assert files.dem.read_bytes() == again.dem.read_bytes()
    assert files.inp.read_bytes() == again.inp.read_bytes()


def test_another_seed_changes_attributes_not_the_plan(
    layers: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    other = build_sample(tmp_path, seed=1)
    buildings = pyogrio.read_dataframe(other.gpkg, layer="buildings")
    assert buildings.geometry.equals(layers["buildings"].geometry)
    assert not pyogrio.read_dataframe(other.gpkg, layer="people")["name"].equals(layers["people"]["name"])


def test_one_layer_per_spec_with_allowed_columns(files: SampleFiles, layers: dict[str, pd.DataFrame]) -> None:
    info = {str(name): kind for name, kind in pyogrio.list_layers(files.gpkg)}
    assert set(info) == {spec.table for spec in LAYERS}
    for spec in LAYERS:
        frame = layers[spec.table]
        columns = [c for c in frame.columns if c != "geometry"]
        assert set(columns) <= set(spec.columns), spec.table
        assert set(spec.required) <= set(columns), spec.table
        assert info[spec.table] == (OGR_TYPES[spec.geometry] if spec.geometry else None), spec.table
        for column in spec.required:
            assert frame[column].notna().all(), (spec.table, column)


def test_the_importer_accepts_every_layer(files: SampleFiles) -> None:
    validated = validated_layers(files.gpkg, None, None)
    assert validated["campuses"][0]["code"] == "LY01"
    assert validated["risk_points"][0]["inputs"]  # JSON text parsed back


def test_values_are_within_the_model_enums(layers: dict[str, pd.DataFrame]) -> None:
    assert set(layers["buildings"]["use"]) <= set(BUILDING_USES)
    assert set(layers["grounds"]["kind"]) == set(GROUND_KINDS)
    assert set(layers["pipe_nodes"]["kind"]) <= set(NODE_KINDS)
    assert set(layers["valves"]["kind"]) <= set(DEVICE_KINDS)
    assert set(layers["sensors"]["type"]) <= set(SENSOR_TYPES)
    assert set(layers["people"]["role"]) <= set(PERSON_ROLES)
    assert set(layers["hazards"]["state"]) <= set(HAZARD_STATES)
    for table in ("pipe_nodes", "pipe_segments", "service_connections"):
        assert set(layers[table]["utility"]) == set(UTILITIES), table


def test_org_units_and_campus(layers: dict[str, pd.DataFrame]) -> None:
    org = layers["org_units"].set_index("code")
    assert list(org["level"]) == ["province", "city", "county", "school"]
    assert org.loc["4103110001", "parent_code"] == "410311"
    assert org.loc["410311", "name"] == "洛龙区"
    campus = layers["campuses"].iloc[0]
    assert (campus["school_code"], int(campus["metric_srid"])) == ("4103110001", 4546)
    area = metric(campus.geometry).area
    assert 100_000 < area < 140_000  # about 400 m x 300 m
    assert (
        abs(campus.geometry.centroid.x - 112.45) < 0.001 and abs(campus.geometry.centroid.y - 34.62) < 0.001
    )


# --- geometry -----------------------------------------------------------------------------------------------


def test_geometries_are_valid_and_on_campus(
    layers: dict[str, pd.DataFrame], boundary: shapely.Geometry
) -> None:
    site = boundary.buffer(1e-8)
    for spec in LAYERS:
        if spec.geometry is None:
            continue
        geoms = layers[spec.table].geometry
        present = geoms[geoms.notna()]
        assert present.is_valid.all(), spec.table
        assert np.isfinite(shapely.get_coordinates(present.array)).all(), spec.table
        if spec.table not in NOT_ON_CAMPUS:
            assert site.covers(present).all(), spec.table


def test_buildings_do_not_overlap(layers: dict[str, pd.DataFrame]) -> None:
    footprints = [metric(g) for g in layers["buildings"].geometry]
    assert 20 <= len(footprints) <= 30
    for i, a in enumerate(footprints):
        for b in footprints[i + 1 :]:
            assert a.intersection(b).area < 1e-6
    b = layers["buildings"]
    ratio = b["height_m"] / b["floors"]
    assert (
        (ratio >= 3.3 - 1e-9) & (ratio <= 3.9 + 1e-9) | (b["floors"] == 1) | (b["use"] == "auditorium")
    ).all()


def test_roads_form_one_network(layers: dict[str, pd.DataFrame]) -> None:
    roads = layers["grounds"][layers["grounds"]["kind"] == "road"]
    graph = nx.Graph()
    for line in roads.geometry:
        coords = list(line.coords)
        graph.add_edge(coords[0], coords[-1])
    assert nx.is_connected(graph)
    gates = layers["grounds"][layers["grounds"]["kind"] == "gate"]
    assert all((p.x, p.y) in graph for p in gates.geometry)
    field = layers["grounds"][layers["grounds"]["code"] == "SF-01"].geometry.iloc[0]
    assembly = layers["grounds"][layers["grounds"]["kind"] == "assembly_point"]
    assert field.covers(assembly.geometry).all()


# --- networks -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("utility", UTILITIES)
def test_each_network_is_connected_with_exact_endpoints(
    layers: dict[str, pd.DataFrame], utility: str
) -> None:
    nodes = layers["pipe_nodes"][layers["pipe_nodes"]["utility"] == utility].set_index("code")
    segments = layers["pipe_segments"][layers["pipe_segments"]["utility"] == utility]
    assert nodes.index.is_unique and segments["code"].is_unique
    graph = nx.Graph()
    graph.add_nodes_from(nodes.index)
    for seg in segments.itertuples():
        graph.add_edge(seg.start_node, seg.end_node)
        coords = list(seg.geometry.coords)
        assert coords[0] == nodes.loc[seg.start_node].geometry.coords[0]
        assert coords[-1] == nodes.loc[seg.end_node].geometry.coords[0]
    assert set(graph.nodes) == set(nodes.index)
    assert nx.number_connected_components(graph) == 1


def test_valves_sit_on_their_segment_beside_their_node(layers: dict[str, pd.DataFrame]) -> None:
    valves = layers["valves"]
    assert set(valves["utility"]) == {"water", "gas", "heat", "power"}
    nodes = layers["pipe_nodes"].set_index(["utility", "code"])
    segments = layers["pipe_segments"].set_index(["utility", "code"])
    for v in valves.itertuples():
        seg = segments.loc[(v.utility, v.segment)]
        assert v.node in (seg.start_node, seg.end_node)
        assert metric(seg.geometry).distance(metric(v.geometry)) < 0.01
        assert metric(nodes.loc[(v.utility, v.node)].geometry).distance(metric(v.geometry)) <= 1.01
    closed = (valves["normal_position"] == "closed").mean()
    assert 0.05 <= closed <= 0.15
    assert (~valves["operable"].astype(bool)).sum() >= 3
    assert set(valves[valves["utility"] == "gas"]["kind"]) == {"gas_valve"}
    assert set(valves[valves["utility"] == "power"]["kind"]) <= {"switch", "breaker"}


def test_water_is_a_looped_grid_with_one_source(layers: dict[str, pd.DataFrame]) -> None:
    water = layers["pipe_segments"][layers["pipe_segments"]["utility"] == "water"]
    closed = set(layers["valves"].query("utility == 'water' and normal_position == 'closed'")["segment"])
    graph = nx.Graph([(s.start_node, s.end_node) for s in water.itertuples() if s.code not in closed])
    assert nx.is_connected(graph) and len(nx.cycle_basis(graph)) >= 1
    kinds = layers["pipe_nodes"].query("utility == 'water'")["kind"]
    assert (kinds == "source").sum() == 1 and (kinds == "hydrant").sum() >= 5
    assert set(water["diameter_mm"]) <= {50, 80, 100, 150, 200, 300}


def test_drainage_flows_downhill_to_one_outlet(layers: dict[str, pd.DataFrame]) -> None:
    nodes = layers["pipe_nodes"].query("utility == 'drainage'").set_index("code")
    segments = layers["pipe_segments"].query("utility == 'drainage'")
    assert (segments["depth_ref"] == "invert").all()
    assert (nodes["kind"] == "outlet").sum() == 1
    for s in segments.itertuples():
        upstream = nodes.loc[s.start_node, "ground_elev_m"] - s.start_depth_m
        downstream = nodes.loc[s.end_node, "ground_elev_m"] - s.end_depth_m
        assert upstream > downstream, s.code
        assert 1.5 <= s.start_depth_m <= s.end_depth_m <= 3.5
    graph = nx.DiGraph([(s.start_node, s.end_node) for s in segments.itertuples()])
    outlet = nodes.index[nodes["kind"] == "outlet"][0]
    assert all(nx.has_path(graph, n, outlet) for n in graph.nodes)


def test_services_reach_the_buildings(layers: dict[str, pd.DataFrame]) -> None:
    services = layers["service_connections"]
    buildings = layers["buildings"].set_index("code")
    served = {u: set(services[services["utility"] == u]["building"]) for u in UTILITIES}
    for utility in ("water", "power", "drainage"):
        assert served[utility] == set(buildings.index), utility
    assert served["gas"] == set(buildings.index[buildings["use"].isin(["canteen", "laboratory", "boiler"])])
    heated = buildings.index[buildings["use"].isin(["teaching", "dormitory", "library", "admin"])]
    assert served["heat"] == set(heated)
    assert len(served["telecom"]) >= 20
    nodes = layers["pipe_nodes"].set_index(["utility", "code"])
    for s in services.itertuples():
        start = s.geometry.coords[0]
        assert start == nodes.loc[(s.utility, s.node)].geometry.coords[0]
        assert (
            metric(buildings.loc[s.building].geometry.exterior).distance(
                metric(shapely.Point(s.geometry.coords[-1]))
            )
            < 0.01
        )


def test_epanet_model_matches_the_water_layers(files: SampleFiles, layers: dict[str, pd.DataFrame]) -> None:
    wn = wntr.network.WaterNetworkModel(str(files.inp))
    water_segments = layers["pipe_segments"].query("utility == 'water'")
    water_nodes = layers["pipe_nodes"].query("utility == 'water'")
    assert wn.num_pipes == len(water_segments)
    assert set(wn.pipe_name_list) == set(water_segments["code"])
    assert set(wn.node_name_list) == set(water_nodes["code"])
    assert wn.reservoir_name_list == list(water_nodes[water_nodes["kind"] == "source"]["code"])
    for seg in water_segments.itertuples():
        pipe = wn.get_link(seg.code)
        assert pipe.diameter == pytest.approx(seg.diameter_mm / 1000)
        assert pipe.length == pytest.approx(metric(seg.geometry).length, rel=1e-3)


def test_epanet_model_runs_with_plausible_pressures(files: SampleFiles, tmp_path: Path) -> None:
    wn = wntr.network.WaterNetworkModel(str(files.inp))
    results = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=str(tmp_path / "net"))
    pressure = results.node["pressure"][wn.junction_name_list]
    assert pressure.min().min() > 15 and pressure.max().max() < 60


# --- terrain ------------------------------------------------------------------------------------------------


def test_dem_covers_the_site_and_matches_elevations(
    files: SampleFiles, layers: dict[str, pd.DataFrame], boundary: shapely.Geometry
) -> None:
    with rasterio.open(files.dem) as dem:
        assert dem.crs.to_epsg() == 4546 and dem.res == (1.0, 1.0)
        assert dem.dtypes[0] == "float32" and dem.nodata is not None
        left, bottom, right, top = dem.bounds
        bx0, by0, bx1, by1 = metric(boundary).bounds
        assert left <= bx0 - 25 and bottom <= by0 - 25 and right >= bx1 + 25 and top >= by1 + 25
        data = dem.read(1)
        assert data.max() - data.min() < 15 and 140 < data.mean() < 160

        def sample(points: list[shapely.Point]) -> np.ndarray:
            xy = [metric(p).coords[0] for p in points]
            return np.array([v[0] for v in dem.sample(xy)])

        buildings = layers["buildings"]
        base = sample([g.centroid for g in buildings.geometry])
        assert np.abs(base - buildings["base_elev_m"]).max() <= 0.2
        nodes = layers["pipe_nodes"]
        ground = sample(list(nodes.geometry))
        assert np.abs(ground - nodes["ground_elev_m"]).max() <= 0.2


# --- risks, people, transport -------------------------------------------------------------------------------

LEC_ALLOWED: dict[str, set[float]] = {
    "L": {10, 6, 3, 1, 0.5, 0.2, 0.1},
    "E": {10, 6, 3, 2, 1, 0.5},
    "C": {100, 40, 15, 7, 3, 1},
}
CONTROL = {1: "school", 2: "department", 3: "grade", 4: "post"}


def expected_level(method: str, score: float) -> int:
    """risk.md default bands, written out independently of the generator."""
    if method == "LEC":
        return 1 if score >= 320 else 2 if score >= 160 else 3 if score >= 70 else 4
    return {20: 1, 25: 1, 15: 2, 16: 2, 9: 3, 10: 3, 12: 3}.get(int(score), 4)


def test_risk_levels_follow_the_bands(layers: dict[str, pd.DataFrame]) -> None:
    risks = pd.concat([layers["risk_zones"], layers["risk_points"]], ignore_index=True)
    assert 70 <= len(risks) <= 100 and 25 <= len(layers["risk_zones"]) <= 40
    assert set(risks["category"]) == set(RISK_CATEGORIES)
    staff = set(layers["people"].query("role in ('staff', 'teacher')")["code"])
    for r in risks.itertuples():
        inputs = json.loads(r.inputs)
        if r.method == "LEC":
            assert set(inputs) == {"L", "E", "C"}
            assert all(inputs[k] in LEC_ALLOWED[k] for k in inputs)
        else:
            assert set(inputs) == {"L", "S"} and all(v in range(1, 6) for v in inputs.values())
        assert r.score == pytest.approx(float(np.prod(list(inputs.values()))))
        assert r.level == expected_level(r.method, r.score), r.code
        assert r.control_level == CONTROL[r.level]
        assert set(json.loads(r.measures)) == {"engineering", "management", "training", "ppe", "emergency"}
        assert all(code.isdigit() and 1 <= int(code) <= 20 for code in r.accident_types.split(","))
        assert r.responsible in staff
    assert set(risks["level"]) == {1, 2, 3, 4}


def test_risk_points_refer_to_zones_that_hold_them(layers: dict[str, pd.DataFrame]) -> None:
    zones = layers["risk_zones"].set_index("code")
    points = layers["risk_points"]
    assert points["zone"].notna().sum() >= 10
    for p in points[points["zone"].notna()].itertuples():
        assert zones.loc[p.zone].geometry.buffer(1e-9).covers(p.geometry)
    inside = points[points["building"].notna()]
    footprints = layers["buildings"].set_index("code").geometry
    assert all(footprints[p.building].covers(p.geometry) for p in inside.itertuples())


def test_people_buses_and_hazards_are_linked(layers: dict[str, pd.DataFrame]) -> None:
    people = layers["people"].set_index("code")
    roles = Counter(people["role"])
    assert roles["student"] == 60 and roles["parent"] == 60 and roles["driver"] == 6
    assert 35 <= roles["staff"] + roles["teacher"] + roles["guard"] <= 45
    stops = layers["bus_stops"]
    assert set(stops["route"]) == set(layers["bus_routes"]["code"])
    for _, route_stops in stops.groupby("route"):
        assert 5 <= len(route_stops) <= 8
        assert list(route_stops["sequence"]) == list(range(1, len(route_stops) + 1))
        assert route_stops["scheduled_min"].is_monotonic_increasing
    students = people[people["role"] == "student"]
    assert set(students["stop"]) <= set(stops["code"]) and set(students["route"]) <= set(stops["route"])
    for s in students.itertuples():
        assert s.stop.startswith(s.route)
    guardians = layers["guardians"]
    assert set(people.loc[guardians["parent"], "role"]) == {"parent"}
    assert set(people.loc[guardians["student"], "role"]) == {"student"}
    vehicles = layers["vehicles"]
    assert set(people.loc[vehicles["driver"], "role"]) == {"driver"} and vehicles["plate"].is_unique
    assert vehicles["device_id"].str.fullmatch(r"\d{12}").all()
    for route in layers["bus_routes"].itertuples():
        assert 3000 < metric(route.geometry).length < 8000
    hazards = layers["hazards"]
    assert hazards["number"].is_unique and hazards["found_at"].str.startswith("2026-").all()
    assert set(hazards["risk_point"].dropna()) <= set(layers["risk_points"]["code"])
    assert set(hazards["grade"]) == {"general", "major"}


# --- province ------------------------------------------------------------------------------------------------


def test_a_province_campus_is_a_valid_delivery(tmp_path: Path) -> None:
    first, second = province_chunks(2, seed=5, chunk_size=1)
    expected = (["province", "city", "county", "school"], ["school"])  # ancestors come once, first
    for i, (chunk, levels) in enumerate(zip((first, second), expected, strict=True)):
        code = chunk.campuses["code"].iloc[0]
        validated = validated_layers(write_gpkg(tmp_path / f"{i}.gpkg", chunk.for_campus(code)), None, None)
        assert [r["level"] for r in validated["org_units"]] == levels
        assert validated["campuses"][0]["code"] == code
        assert len(validated["pipe_segments"]) > 300


def test_province_chunks_are_unique_and_spread_over_counties() -> None:
    chunks = list(province_chunks(130, seed=3, chunk_size=60))
    assert [len(c.campuses) for c in chunks] == [60, 60, 10]
    org = pd.concat([c.org_units for c in chunks], ignore_index=True)
    assert org["code"].is_unique
    seen: set[str] = set()
    for unit in org.itertuples():  # parents always come first
        assert pd.isna(unit.parent_code) or unit.parent_code in seen
        seen.add(unit.code)
    schools = org[org["level"] == "school"]
    assert schools["code"].str.fullmatch(r"41\d{8}").all()
    assert (schools["code"].str[:6] == schools["parent_code"]).all()
    campuses = gpd.GeoDataFrame(pd.concat([c.campuses for c in chunks], ignore_index=True), crs=4326)
    assert campuses["code"].is_unique and len(campuses) == 130
    bounds = campuses.total_bounds
    assert bounds[0] >= 110.4 and bounds[2] <= 116.6 and bounds[1] >= 31.4 and bounds[3] <= 36.4
    assert (
        not campuses.sjoin(campuses, predicate="intersects")
        .pipe(lambda j: j[j.index != j["index_right"]])
        .size
    )
    for key, column in (
        ("people", "code"),
        ("sensors", "device_id"),
        ("vehicles", "plate"),
        ("vehicles", "device_id"),
    ):
        values = pd.concat([c.layers[key][column] for c in chunks], ignore_index=True)
        assert values.is_unique, key
    for chunk in chunks:
        for table, frame in chunk.layers.items():
            assert set(frame["campus_code"]) == set(chunk.campuses["code"]), table
        people = chunk.layers["people"]
        assert set(people["code"].str[:10]) == set(chunk.campuses["code"].str[1:])
        assert all(
            code.startswith(campus[1:])
            for code, campus in zip(people["code"], people["campus_code"], strict=True)
        )
