"""Valve segmentation and the isolation trace against WNTR 1.5, side by side in one run.

Full segmentation of WNTR's own Net6 (3,892 links) and ky10 (1,061 links) with strategic valve layers:
WNTR's `valve_segments` (from the model: graph and segments) against ours (from the model: Network and
segments); the two partitions must be identical. Then a single break as a user asks for it —
`POST /pipes/isolation` through the app, token check, RLS, the network fingerprint and the trace — on Net6
loaded into a campus (imported from .inp with `twin load`'s importer, its strategic valves inserted as the
campus's isolation valves). WNTR has no single-break query: it segments the whole network.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

import wntr
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import text

from bench.common import Timing, bench_database, measure, write_section
from twin.access.roles import Role
from twin.access.users import NewUser, add_user
from twin.api import create_app
from twin.db.engine import sync_engine
from twin.ingest import load_path
from twin.pipes.epanet import network_from_wntr, partition, wntr_segments
from twin.pipes.trace import CACHE

console = Console()
NETWORKS = Path(wntr.__file__).parent / "library" / "networks"
PASSWORD = "bench-password-1"  # noqa: S105 (a throw-away bench user)
SCHOOL = "4103119901"
CAMPUS = "NET6"
ORIGIN = (632_000.0, 3_830_000.0)  # Net6's coordinates, scaled ×10 as metres, placed in EPSG:4546
SCALE = 10.0


def model(name: str) -> Any:
    return wntr.network.WaterNetworkModel(str(NETWORKS / f"{name}.inp"))


def segmentation(name: str, layer_n: int) -> dict[str, Any]:
    wn = model(name)
    layer = wntr.network.generate_valve_layer(wn, "strategic", layer_n, seed=11)
    theirs = wntr_segments(wn, layer)
    ours = partition(network_from_wntr(wn, layer, honour_status=False))
    assert ours == theirs, f"{name}: partitions differ"
    wntr_t = measure("wntr", lambda: wntr_segments(wn, layer), repeat=3, warmup=1)
    ours_t = measure("ours", lambda: partition(network_from_wntr(wn, layer, honour_status=False)), repeat=7)
    return {
        "network": f"{name} (n={layer_n})",
        "links": wn.num_links,
        "valves": len(layer),
        "segments": len(ours),
        "wntr": wntr_t,
        "ours": ours_t,
    }


def load_net6(settings: Any) -> tuple[Any, list[int]]:
    """Net6 as campus NET6 of a school of its own: nodes and pipes via the .inp importer, valves inserted."""
    wn = model("Net6")
    for _, node in wn.nodes():
        x, y = node.coordinates
        node.coordinates = (ORIGIN[0] + SCALE * x, ORIGIN[1] + SCALE * y)
    for _, link in wn.links():
        link.vertices = [(ORIGIN[0] + SCALE * x, ORIGIN[1] + SCALE * y) for x, y in link.vertices]
    layer = wntr.network.generate_valve_layer(wn, "strategic", 1, seed=11)
    engine = sync_engine(settings.db)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM campuses WHERE code = :c"), {"c": CAMPUS})
        conn.execute(text("DELETE FROM users WHERE username = 'bench_crew'"))
        conn.execute(
            text(
                "INSERT INTO org_units (code, name, level, path)"
                " VALUES (:s, 'Net6 school', 'school', CAST(:p AS ltree)) ON CONFLICT DO NOTHING"
            ),
            {"s": SCHOOL, "p": f"41.4103.410311.{SCHOOL}"},
        )
        conn.execute(
            text(
                "INSERT INTO campuses (org_path, school_id, code, name, metric_srid, boundary)"
                " SELECT path, id, :c, 'Net6', 4546,"
                " ST_Multi(ST_Transform(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4546), 4326))"
                " FROM org_units WHERE code = :s"
            ),
            {
                "c": CAMPUS,
                "s": SCHOOL,
                "x0": ORIGIN[0],
                "y0": ORIGIN[1],
                "x1": ORIGIN[0] + 4000,
                "y1": ORIGIN[1] + 3000,
            },
        )
        add_user(conn, NewUser("bench_crew", Role.maintenance, SCHOOL, PASSWORD))
    with tempfile.TemporaryDirectory() as tmp:
        inp = Path(tmp) / "net6.inp"
        wntr.network.write_inpfile(wn, str(inp))
        load_path(engine, inp, campus=CAMPUS, crs="EPSG:4546")
    with engine.begin() as conn:
        for number, row in layer.iterrows():
            conn.execute(
                text(
                    "INSERT INTO valves (org_path, campus_id, utility, code, kind, segment_id, node_id, geom)"
                    " SELECT s.org_path, s.campus_id, 'water', :code, 'gate_valve', s.id, n.id, n.geom"
                    " FROM pipe_segments s JOIN campuses c ON c.id = s.campus_id AND c.code = :campus"
                    " JOIN pipe_nodes n ON n.campus_id = c.id AND n.code = :node WHERE s.code = :link"
                ),
                {"code": f"V{number}", "campus": CAMPUS, "node": row["node"], "link": row["link"]},
            )
        conn.execute(text("ANALYZE"))
        pipes = [
            int(i)
            for i in conn.execute(
                text(
                    "SELECT s.id FROM pipe_segments s JOIN campuses c ON c.id = s.campus_id WHERE c.code = :c"
                ),
                {"c": CAMPUS},
            ).scalars()
        ]
    engine.dispose()
    return layer, pipes


def break_queries(settings: Any, pipes: list[int]) -> tuple[Timing, Timing, int]:
    rng = random.Random(5)  # noqa: S311 (which pipes break, not a secret)
    with TestClient(create_app(settings)) as client:
        token = client.post("/auth/token", data={"username": "bench_crew", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}

        def one() -> int:
            body = {"campus": CAMPUS, "utility": "water", "pipe_id": rng.choice(pipes)}
            response = client.post("/pipes/isolation", json=body, headers=headers)
            assert response.status_code == 200, response.text
            return len(response.json()["valves_to_close"])

        def cold() -> None:
            CACHE.entries.clear()
            one()

        cold_t = measure("cold", cold, repeat=5, warmup=1)
        warm_t = measure("warm", one, repeat=50, warmup=3)
        closes = one()
    return cold_t, warm_t, closes


def pure_break() -> Timing:
    from twin.pipes import isolate

    wn = model("Net6")
    net = network_from_wntr(wn, wntr.network.generate_valve_layer(wn, "strategic", 1, seed=11))
    links = wn.link_name_list
    rng = random.Random(7)  # noqa: S311 (which pipes break, not a secret)
    return measure("isolate", lambda: isolate(net, rng.choice(links)), repeat=200, warmup=5)


def main() -> None:
    rows = [segmentation("Net6", 1), segmentation("Net6", 2), segmentation("ky10", 2)]
    for r in rows:
        console.print(
            f"{r['network']}: WNTR {r['wntr'].median_ms:.1f} ms, ours {r['ours'].median_ms:.1f} ms,"
            f" ×{r['wntr'].median_ms / r['ours'].median_ms:.1f}"
        )
    settings = bench_database("twin_bench_pipes")
    _, pipes = load_net6(settings)
    cold, warm, closes = break_queries(settings, pipes)
    wntr_net6 = rows[0]["wntr"].median_ms
    pure = pure_break()
    console.print(f"break: cold {cold.median_ms:.1f} ms, warm {warm.median_ms:.1f} ms")
    table = "\n".join(
        f"| {r['network']} | {r['links']:,} | {r['valves']:,} | {r['segments']:,} | {r['wntr'].median_ms:.1f}"
        f" | {r['ours'].median_ms:.1f} | {r['wntr'].median_ms / r['ours'].median_ms:.1f} | identical |"
        for r in rows
    )
    write_section(
        "Valve segmentation and isolation trace against WNTR",
        f"""
WNTR 1.5 `valve_segments` against `twin.pipes` on WNTR's own networks with strategic valve layers
(`generate_valve_layer(wn, 'strategic', n, seed=11)`: n=1 puts a valve at nearly every pipe end), both
from the model (WNTR: graph and segments; ours: Network and segments). Median of 3 (WNTR) and 7 (ours)
runs after a warm-up; the partitions are compared as sets of sets and must be identical. The machine
(2 cores) was shared with other test runs: absolute times are noisy, the ratios less so. Most of
"ours" is reading WNTR's model objects into a Network; the segmentation itself is a sparse-graph
connected-components pass (scipy).

Reproduce: `.venv/bin/python -m bench pipes`.

| network | links | valves | segments | WNTR ms | ours ms | WNTR / ours | partitions |
|---|---:|---:|---:|---:|---:|---:|---|
{table}

Single break on Net6 loaded as a campus (3,892 pipes, {len(pipes):,} in the database, strategic valves):
`POST /pipes/isolation` by pipe id through the app in-process (token, scoped transaction with RLS, the
network's fingerprint, the trace, valve positions and segment GeoJSON from PostGIS).

| break query | median ms | runs |
|---|---:|---:|
| warm (network cached, fingerprint unchanged) | {warm.median_ms:.1f} | {len(warm.seconds)} |
| cold (network loaded from PostGIS first) | {cold.median_ms:.1f} | {len(cold.seconds)} |
| `isolate()` alone on the built Network (no database) | {pure.median_ms:.2f} | {len(pure.seconds)} |
| WNTR: the whole segmentation, its only way to answer | {wntr_net6:.1f} | 3 |

The last break closed {closes} valves. Goals: identical partitions, ≥ 5× faster than WNTR, one break
< 20 ms.
""",
    )
