"""A province-size dataset: the sample campus repeated at thousands of schools across Henan.

The plan is small and made up front: 17 prefecture cities at their real centres and plate letters;
counties are 0.3-degree cells (about 27 km x 33 km, the size of a Henan county) given to the nearest city,
each with 50-300 schools on a grid about 1.5 km apart, so campuses never overlap. County codes are the
city's code plus 21, 22, ... (synthetic; they avoid district codes such as 410311 of the sample) and names
are made up. The rows themselves are produced chunk by chunk from one template campus, translated to each
school and given that school's codes, so memory stays bounded whatever the number of schools.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, box

from twin.crs import transformer
from twin.ingest.spec import LAYERS
from twin.samples.campus import attributes, build_local
from twin.samples.frame import LONLAT_DECIMALS, STORAGE_SRID, Frame, Site
from twin.samples.layout import campus_outline
from twin.samples.people import plate

LON_RANGE, LAT_RANGE, CELL_DEG = (110.4, 116.6), (31.4, 36.4), 0.3
SCHOOLS_PER_COUNTY = (50, 300)
TEMPLATE_BASE_M = 150.0  # the template terrain's height at the campus centre

# code (4 digits), name, centre lon, lat, plate letter
CITIES = (
    ("4101", "郑州市", 113.65, 34.76, "A"),
    ("4102", "开封市", 114.31, 34.80, "B"),
    ("4103", "洛阳市", 112.45, 34.62, "C"),
    ("4104", "平顶山市", 113.19, 33.77, "D"),
    ("4105", "安阳市", 114.39, 36.10, "E"),
    ("4106", "鹤壁市", 114.30, 35.75, "F"),
    ("4107", "新乡市", 113.93, 35.30, "G"),
    ("4108", "焦作市", 113.24, 35.22, "H"),
    ("4109", "濮阳市", 115.03, 35.76, "J"),
    ("4110", "许昌市", 113.85, 34.04, "K"),
    ("4111", "漯河市", 114.02, 33.58, "L"),
    ("4112", "三门峡市", 111.20, 34.77, "M"),
    ("4113", "南阳市", 112.53, 33.00, "R"),
    ("4114", "商丘市", 115.66, 34.41, "N"),
    ("4115", "信阳市", 114.09, 32.15, "S"),
    ("4116", "周口市", 114.70, 33.63, "P"),
    ("4117", "驻马店市", 114.02, 32.98, "Q"),
)
NAME_CHARS = "安平宁康丰阳城山川河源泉兴华林桥集滑温原淇汤封杞通尉兰考登密巩荥新汝鲁宝叶郏舞"
PERSON_COLUMNS = {
    "people": ("code",),
    "guardians": ("parent", "student"),
    "vehicles": ("driver",),
    "risk_zones": ("responsible",),
    "risk_points": ("responsible",),
    "hazards": ("responsible",),
}
PER_CAMPUS = [spec for spec in LAYERS if spec.per_campus]


@dataclass(frozen=True)
class County:
    code: str
    name: str
    city: int  # index into CITIES
    cell: tuple[float, float, float, float]  # lon0, lat0, lon1, lat1
    schools: int


@dataclass
class ProvinceChunk:
    """Rows for a run of schools. `org_units` holds the units first met in this chunk (parents before
    children), `campuses` one row per school; `layers` the per-campus layers of all these schools together,
    each with an extra column `campus_code` (not part of the layer contract) naming the campus a row
    belongs to, so a loader can resolve campus ids and references per campus."""

    org_units: gpd.GeoDataFrame
    campuses: gpd.GeoDataFrame
    layers: dict[str, gpd.GeoDataFrame | pd.DataFrame] = field(default_factory=dict)

    def for_campus(self, code: str) -> dict[str, gpd.GeoDataFrame | pd.DataFrame]:
        """One campus as a delivery of the layer contract (what build_sample writes), in load order: its
        school's org chain as far as this chunk holds it, its campus row, its per-campus rows."""
        campus = self.campuses[self.campuses["code"] == code]
        chain, parent = [], campus["school_code"].iloc[0]
        by_code = self.org_units.set_index("code")
        while isinstance(parent, str) and parent in by_code.index:
            chain.append(parent)
            parent = by_code.loc[parent, "parent_code"]
        out: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {
            "org_units": self.org_units[self.org_units["code"].isin(chain)].reset_index(drop=True),
            "campuses": campus.reset_index(drop=True),
        }
        for table, frame in self.layers.items():
            rows = frame[frame["campus_code"] == code].drop(columns="campus_code").reset_index(drop=True)
            out[table] = rows
        return out


def plan_counties(n_schools: int, seed: int) -> list[County]:
    """Counties, cities taking turns, until every school has a county."""
    rng = random.Random(seed)
    cols = int((LON_RANGE[1] - LON_RANGE[0]) // CELL_DEG)
    rows = int((LAT_RANGE[1] - LAT_RANGE[0]) // CELL_DEG)
    cells: list[list[tuple[float, float, float]]] = [[] for _ in CITIES]
    for i in range(cols):
        for j in range(rows):
            lon, lat = LON_RANGE[0] + (i + 0.5) * CELL_DEG, LAT_RANGE[0] + (j + 0.5) * CELL_DEG
            dist = [math.hypot((lon - c[2]) * math.cos(math.radians(lat)), lat - c[3]) for c in CITIES]
            nearest = int(np.argmin(dist))
            cells[nearest].append((dist[nearest], lon - CELL_DEG / 2, lat - CELL_DEG / 2))
    for city_cells in cells:
        city_cells.sort()
    counties: list[County] = []
    names: set[str] = set()
    taken = [0] * len(CITIES)
    left = n_schools
    while left > 0:
        progressed = False
        for city, city_cells in enumerate(cells):
            if left <= 0 or taken[city] >= min(len(city_cells), 79):
                continue
            _, lon0, lat0 = city_cells[taken[city]]
            count = min(left, rng.randint(*SCHOOLS_PER_COUNTY))
            name = _county_name(rng, names)
            code = f"{CITIES[city][0]}{21 + taken[city]:02d}"
            counties.append(County(code, name, city, (lon0, lat0, lon0 + CELL_DEG, lat0 + CELL_DEG), count))
            taken[city] += 1
            left -= count
            progressed = True
        if not progressed:
            raise ValueError(f"{n_schools} schools do not fit in the province's {len(counties)} counties")
    return counties


def _county_name(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = rng.choice(NAME_CHARS) + rng.choice(NAME_CHARS) + "县"
        if name not in taken and name[0] != name[1]:
            taken.add(name)
            return name


def school_sites(counties: list[County], seed: int) -> Iterator[Site]:
    """Each school's site: on a grid over its county with a little jitter, codes from the county's."""
    vehicles_per_city = [0] * len(CITIES)
    index = 0
    for county in counties:
        rng = random.Random(f"{seed}:{county.code}")
        side = math.ceil(math.sqrt(county.schools))
        lon0, lat0, lon1, lat1 = county.cell
        step_lon, step_lat = (lon1 - lon0 - 0.02) / side, (lat1 - lat0 - 0.02) / side
        _, city_name, _, _, plate_letter = CITIES[county.city]
        for k in range(county.schools):
            lon = lon0 + 0.01 + (k % side + 0.5 + rng.uniform(-0.2, 0.2)) * step_lon
            lat = lat0 + 0.01 + (k // side + 0.5 + rng.uniform(-0.2, 0.2)) * step_lat
            school = f"{county.code}{k + 1:04d}"
            first_vehicle = vehicles_per_city[county.city]
            vehicles_per_city[county.city] += 6
            yield Site(
                campus_code=f"C{school}",
                campus_name=f"{county.name}第{k + 1}中学校区",
                school_code=school,
                school_name=f"{city_name}{county.name}第{k + 1}中学",
                county_code=county.code,
                address=f"河南省{city_name}{county.name}",
                lon=round(lon, 6),
                lat=round(lat, 6),
                enrolment=rng.randint(800, 3600),
                person_prefix=f"{school}-",
                device_prefix=f"SN-{school}-",
                plate_prefix=f"豫{plate_letter}·",
                plate_serial=first_vehicle,
                terminal_start=20_000_000_000 + index * 6,
                elevation_offset_m=round(_ground_height(lon, lat) - TEMPLATE_BASE_M, 2),
            )
            index += 1


def _ground_height(lon: float, lat: float) -> float:
    """A rough relief: the Huang-Huai plain in the east, rising into the western hills."""
    return 45.0 + 140.0 * max(0.0, 114.0 - lon) + 25.0 * math.sin(lat * 2.0) ** 2


def province_chunks(n_schools: int, seed: int, *, chunk_size: int = 100) -> Iterator[ProvinceChunk]:
    """Every layer for `n_schools` schools, `chunk_size` schools at a time."""
    counties = plan_counties(n_schools, seed)
    template = _template(seed)
    county_of = {c.code: c for c in counties}
    emitted: set[str] = set()
    sites = school_sites(counties, seed)
    while True:
        batch = list(itertools.islice(sites, chunk_size))
        if not batch:
            return
        orgs: list[dict[str, object]] = []
        for site in batch:
            orgs += _new_org_rows(site, county_of, counties, emitted)
        frames = [Frame.for_site(site) for site in batch]
        outlines = _placed(np.array([MultiPolygon([campus_outline()])], dtype=object), frames)
        campuses: list[dict[str, object]] = []
        for site, outline in zip(batch, outlines, strict=True):
            orgs.append(
                {
                    "code": site.school_code,
                    "name": site.school_name,
                    "level": "school",
                    "parent_code": site.county_code,
                    "enrolment": site.enrolment,
                    "geometry": outline,
                }
            )
            campuses.append(
                {
                    "code": site.campus_code,
                    "name": site.campus_name,
                    "school_code": site.school_code,
                    "address": site.address,
                    "metric_srid": site.metric_srid,
                    "geometry": outline,
                }
            )
        yield ProvinceChunk(
            org_units=_geo(orgs, ("code", "name", "level", "parent_code", "enrolment")),
            campuses=_geo(campuses, ("code", "name", "school_code", "address", "metric_srid")),
            layers={s.table: _chunk_table(s.table, template, batch, frames) for s in PER_CAMPUS},
        )


@dataclass(frozen=True)
class _Template:
    """The template campus, attributes typed as in the GeoPackage, geometries in local metres."""

    frames: dict[str, pd.DataFrame]
    geoms: dict[str, np.ndarray]
    elevation_offset_m: float


def _template(seed: int) -> _Template:
    site = Site("T", "", "T", "", "410311", "", 112.45, 34.62, person_prefix="", device_prefix="")
    local = build_local(site, seed)
    return _Template(
        frames={s.table: attributes(s, local.tables[s.table]) for s in PER_CAMPUS},
        geoms={
            s.table: np.array([r["geometry"] for r in local.tables[s.table]], dtype=object)
            for s in PER_CAMPUS
            if s.geometry
        },
        elevation_offset_m=site.elevation_offset_m,
    )


def _placed(geoms: np.ndarray, frames: list[Frame]) -> np.ndarray:
    """The local geometries at every site of a chunk, site after site, in EPSG:4326: one pyproj call per
    metric CRS instead of one per site."""
    per_site = int(shapely.get_num_coordinates(geoms).sum())
    out = np.empty(len(geoms) * len(frames), dtype=object)
    by_srid: dict[int, list[int]] = {}
    for i, frame in enumerate(frames):
        by_srid.setdefault(frame.metric_srid, []).append(i)
    for srid, sites in by_srid.items():
        origins = np.array([(frames[i].origin_e, frames[i].origin_n) for i in sites])
        shift = np.repeat(origins, per_site, axis=0)
        to_lonlat = transformer(srid, STORAGE_SRID)

        def run(xy: np.ndarray, shift: np.ndarray = shift, to_lonlat: Transformer = to_lonlat) -> np.ndarray:
            lon, lat = to_lonlat.transform(xy[:, 0] + shift[:, 0], xy[:, 1] + shift[:, 1])
            return np.round(np.column_stack([lon, lat]), LONLAT_DECIMALS)

        rows = (np.array(sites)[:, None] * len(geoms) + np.arange(len(geoms))).ravel()
        out[rows] = shapely.transform(np.tile(geoms, len(sites)), run)
    return out


def _chunk_table(
    table: str, template: _Template, sites: list[Site], frames: list[Frame]
) -> gpd.GeoDataFrame | pd.DataFrame:
    """The template's rows of one table repeated for every site, with each site's codes, heights, place."""
    base = template.frames[table]
    m = len(base)
    data = base.iloc[np.tile(np.arange(m), len(sites))].reset_index(drop=True)

    def per_row(values: list[Any]) -> np.ndarray:
        return np.repeat(np.array(values, dtype=object), m)

    for column in PERSON_COLUMNS.get(table, ()):
        codes = data[column].to_numpy(dtype=object, copy=True)
        known = pd.notna(codes)
        codes[known] = per_row([s.person_prefix for s in sites])[known] + codes[known]
        data[column] = codes
    if table == "sensors":
        data["device_id"] = per_row([s.device_prefix for s in sites]) + data["device_id"].to_numpy(
            dtype=object
        )
    if table == "vehicles":
        data["plate"] = [plate(s.plate_prefix, s.plate_serial + i) for s in sites for i in range(m)]
        data["device_id"] = [f"{s.terminal_start + i:012d}" for s in sites for i in range(m)]
    shift = np.repeat([s.elevation_offset_m - template.elevation_offset_m for s in sites], m)
    for column in ("base_elev_m", "ground_elev_m"):
        if column in data:
            data[column] = (data[column] + shift).round(2)
    data["campus_code"] = per_row([s.campus_code for s in sites])
    if table not in template.geoms:
        return data
    return gpd.GeoDataFrame(data, geometry=_placed(template.geoms[table], frames), crs="EPSG:4326")


def _geo(rows: list[dict[str, object]], columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    data = pd.DataFrame({c: [r[c] for r in rows] for c in columns})
    if "enrolment" in data:
        data["enrolment"] = data["enrolment"].astype("Int64")
    return gpd.GeoDataFrame(data, geometry=[r["geometry"] for r in rows], crs="EPSG:4326")


def _new_org_rows(
    site: Site, county_of: dict[str, County], counties: list[County], emitted: set[str]
) -> list[dict[str, object]]:
    """Province, city and county rows the first time a school of theirs comes by."""
    county = county_of[site.county_code]
    city_code, city_name = CITIES[county.city][0], CITIES[county.city][1]
    rows: list[dict[str, object]] = []
    chain = (
        ("410000", "河南省", "province", None, counties),
        (f"{city_code}00", city_name, "city", "410000", [c for c in counties if c.city == county.city]),
        (county.code, county.name, "county", f"{city_code}00", [county]),
    )
    for code, name, level, parent, area in chain:
        if code not in emitted:
            emitted.add(code)
            outline = shapely.union_all([box(*c.cell) for c in area])
            rows.append(
                {
                    "code": code,
                    "name": name,
                    "level": level,
                    "parent_code": parent,
                    "enrolment": None,
                    "geometry": MultiPolygon(list(shapely.get_parts(outline))),
                }
            )
    return rows
