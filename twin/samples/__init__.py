"""The deterministic sample campus: a secondary school in Luoyang's Luolong district.

`build_sample` writes the three files a demo or a test loads: the GeoPackage of every layer of
twin/ingest/spec.py (EPSG:4326), the DEM (EPSG:4546, 1 m) and the water network as EPANET .inp.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from twin.samples.campus import LocalCampus, build_local, place
from twin.samples.epanet import water_model, write_inp
from twin.samples.frame import Frame, Site
from twin.samples.gpkg import write_gpkg
from twin.samples.layout import buildings
from twin.samples.terrain import write_dem

__all__ = ["DEFAULT_SEED", "SAMPLE_SITE", "SampleFiles", "build_sample", "sample_campus"]

DEFAULT_SEED = 20261124

SAMPLE_SITE = Site(
    campus_code="LY01",
    campus_name="洛龙区实验中学本部校区",
    school_code="4103110001",
    school_name="洛阳市洛龙区实验中学",
    county_code="410311",
    address="河南省洛阳市洛龙区学子街66号",
    lon=112.45,
    lat=34.62,
    enrolment=2400,
    person_prefix="LY01-",
    device_prefix="SN-",
)


@dataclass(frozen=True)
class SampleFiles:
    gpkg: Path
    dem: Path
    inp: Path


def sample_campus(seed: int = DEFAULT_SEED) -> LocalCampus:
    """The sample campus in local metres (for tests and tools that want the plan, not the files)."""
    return build_local(SAMPLE_SITE, seed)


def build_sample(out_dir: Path, *, seed: int = DEFAULT_SEED) -> SampleFiles:
    """Write campus.gpkg, dem.tif and water.inp into `out_dir`; the same seed gives the same files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    local = sample_campus(seed)
    frame = Frame.for_site(SAMPLE_SITE)
    gpkg = write_gpkg(out_dir / "campus.gpkg", place(local.tables, frame))
    dem = write_dem(out_dir / "dem.tif", local.terrain, frame)
    model = water_model(local.networks["water"], buildings(), local.terrain, frame)
    inp = write_inp(out_dir / "water.inp", model)
    return SampleFiles(gpkg=gpkg, dem=dem, inp=inp)
