"""The `twin` command: services, migrations, imports, the sample campus and the server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table
from sqlalchemy import Engine

from twin.config import ROOT, Settings, get_settings
from twin.errors import TwinError
from twin.progress import LineProgress, progress
from twin.services import ServiceError

app = typer.Typer(help="Campus Twin: GIS and 3D digital-twin server for school safety.", no_args_is_help=True)
services_app = typer.Typer(help="The private PostGIS and Mosquitto under the data directory.")
db_app = typer.Typer(help="Database migrations (Alembic).")
sample_app = typer.Typer(help="The sample campus and province-size datasets.")
app.add_typer(services_app, name="services")
app.add_typer(db_app, name="db")
app.add_typer(sample_app, name="sample")
user_app = typer.Typer(help="Users and their roles.")
app.add_typer(user_app, name="user")
scheduler_app = typer.Typer(help="The escalation scheduler of overdue hazards (for cron).")
app.add_typer(scheduler_app, name="scheduler")
inspections_app = typer.Typer(help="Inspection tasks (排查) of the risk points.")
app.add_typer(inspections_app, name="inspections")
live_app = typer.Typer(help="Live sensor alerts: the MQTT ingest worker.")
app.add_typer(live_app, name="live")
stats_app = typer.Typer(help="Statistics of an org unit's subtree, as files.")
app.add_typer(stats_app, name="stats")

console = Console(stderr=True)
SAMPLE_DIR = ROOT / "data" / "samples" / "out"


def _settings() -> Settings:
    return get_settings()


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


@contextmanager
def _owner_engine() -> Iterator[Engine]:
    """The schema owner's engine for a command; a domain refusal becomes a one-line error and exit 2."""
    from twin.db.engine import sync_engine

    engine = sync_engine(_settings().db)
    try:
        yield engine
    except TwinError as exc:
        raise _fail(exc.detail) from exc
    finally:
        engine.dispose()


@services_app.command("up")
def services_up() -> None:
    """Start the private services that no URL replaces, and create the database."""
    from twin.db.provision import services_up as up

    try:
        up(_settings())
    except ServiceError as exc:
        raise _fail(str(exc)) from exc
    services_status()


@services_app.command("down")
def services_down() -> None:
    """Stop the private services."""
    from twin.db.provision import services_down as down

    down(_settings())
    services_status()


@services_app.command("status")
def services_status() -> None:
    """Say where the database and the broker are, and whether they run."""
    from twin.db.provision import private_broker, private_cluster

    s = _settings()
    table = Table("service", "mode", "state")
    table.add_row(
        "postgis", "url" if s.db.url else "private", (s.db.url and "external") or private_cluster(s).status()
    )
    table.add_row(
        "mosquitto",
        "url" if s.broker.url else "private",
        (s.broker.url and "external") or private_broker(s).status(),
    )
    Console().print(table)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the schema up to REVISION (default: the newest)."""
    from twin.db import migrate
    from twin.db.provision import services_up as up

    s = _settings()
    up(s)
    migrate.upgrade(s.db, revision)
    console.print(f"schema at {migrate.current(s.db)}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Migrate the schema down to REVISION ('base' removes every table)."""
    from twin.db import migrate

    s = _settings()
    migrate.downgrade(s.db, revision)
    console.print(f"schema at {migrate.current(s.db)}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision."""
    from twin.db import migrate

    print(migrate.current(_settings().db))


@db_app.command("retention")
def db_retention(
    keep_months: int = typer.Option(..., "--keep-months", help="whole months kept before the current one"),
    export: Path | None = typer.Option(None, "--export", help="dump each month to DIR/<partition>.parquet"),
    dry_run: bool = typer.Option(False, "--dry-run", help="say what would be made and retired; change none"),
    table: list[str] = typer.Option([], "--table", help="positions, alert_events or bus_incidents (all)"),
) -> None:
    """Make the coming months' partitions and retire the older ones (for cron), with progress."""
    from twin.db import retention

    tables = table or list(retention.TABLES)
    report = Table("table", "partition", "action", "rows", "file")
    with _owner_engine() as engine, _progress() as bar:
        task = bar.add_task("retention", total=len(tables))
        for name in tables:
            bar.update(task, description=f"{name}: months ahead")
            made, retired = retention.retire_months(
                engine,
                name,
                keep_months,
                export_dir=export,
                dry_run=dry_run,
                on_month=lambda p: bar.update(task, description=f"{p.name}: retiring"),
            )
            for partition in made:
                report.add_row(name, partition, "would make" if dry_run else "made", "", "")
            for r in retired:
                estimate = r.partition.estimated_rows  # -1: never analysed
                rows = f"{r.rows:,}" if r.rows is not None else f"~{estimate:,}" if estimate >= 0 else "?"
                action = "would retire" if dry_run else "retired"
                report.add_row(name, r.partition.name, action, rows, str(r.file or ""))
            bar.update(task, advance=1, description=f"{name}: {len(retired)} month(s) retired")
    Console().print(report)


@app.command("load")
def load(
    path: Path,
    campus: str | None = typer.Option(None, help="campus code the layers belong to"),
    crs: str | None = typer.Option(None, help="input CRS when the file's is missing or wrong, e.g. GCJ-02"),
    encoding: str | None = typer.Option(None, help="attribute encoding of Shapefiles without .cpg"),
    replace: bool = typer.Option(False, help="replace a campus that is already stored"),
) -> None:
    """Import a GeoPackage, Shapefile, GeoJSON or DEM GeoTIFF; all of it or nothing."""
    from twin.ingest import load_path

    s = _settings()
    tasks: dict[str, TaskID] = {}
    with _owner_engine() as engine, _progress() as bar:

        def advance(layer: str, done: int, total: int) -> None:
            if layer not in tasks:
                tasks[layer] = bar.add_task(layer, total=total)
            bar.update(tasks[layer], completed=done)

        report = load_path(
            engine,
            path,
            campus=campus,
            crs=crs,
            encoding=encoding,
            replace=replace,
            paths=s.paths,
            progress=advance,
        )
    summary = ", ".join(f"{n} {t}" for t, n in report.counts.items())
    where = f" into {report.campus}" if report.campus else ""
    console.print(f"[green]loaded[/green] {path.name}{where}: {summary}")


@sample_app.command("build")
def sample_build(
    out: Path = typer.Option(SAMPLE_DIR, help="where the files are written"),
    load_it: bool = typer.Option(True, "--load/--no-load", help="also load it into the database"),
    replace: bool = typer.Option(False, help="reload even when the sample campus is stored"),
) -> None:
    """Generate the sample campus (GeoPackage, DEM, EPANET .inp) and load it."""
    from twin.samples import build_sample
    from twin.samples.loading import load_sample

    files = build_sample(out)
    console.print(f"sample written to {out}")
    if not load_it:
        return
    with _owner_engine() as engine:
        loaded = load_sample(engine, files, replace=replace, paths=_settings().paths)
    console.print("[green]sample campus loaded[/green]" if loaded else "sample campus already stored")


@sample_app.command("province")
def sample_province(
    schools: int = typer.Option(..., min=1, help="how many schools"),
    seed: int = typer.Option(20261124),
    copy: bool = typer.Option(True, "--copy/--insert", help="COPY in chunks (fast) or the import path"),
    chunk: int = typer.Option(100, min=1, help="schools per COPY transaction (bounds memory)"),
    buses: int = typer.Option(10_000, min=0, help="buses given a school day of GPS fixes (0: none)"),
    day: str = typer.Option("2026-11-20", help="the local date of the buses' fixes"),
    timings: bool = typer.Option(False, help="print where the load's time went, per phase"),
) -> None:
    """Build a province-size dataset of N schools in the database, and a day of its buses' fixes."""
    from datetime import date

    from twin.db.provision import libpq_dsn
    from twin.samples.copyload import load_province_copy
    from twin.samples.loading import load_province
    from twin.samples.positions import load_day_positions

    dsn = libpq_dsn(_settings().db.sync_url())
    phases: dict[str, float] = {}
    with _owner_engine() as engine, _progress() as bar:
        task = bar.add_task("schools", total=schools)
        advance = lambda n: bar.update(task, completed=n)  # noqa: E731
        if copy:
            load_province_copy(dsn, schools, seed=seed, chunk_size=chunk, progress=advance, phases=phases)
        else:
            load_province(engine, schools, seed=seed, progress=advance)
        if buses:
            fixes = bar.add_task("buses' fixes", total=buses)
            rows = load_day_positions(
                dsn, date.fromisoformat(day), buses, progress=lambda n: bar.update(fixes, completed=n)
            )
            console.print(f"{rows:,} bus positions on {day}")
    if timings:
        for phase, seconds in sorted(phases.items(), key=lambda kv: -kv[1]):
            console.print(f"{phase:32} {seconds:9.1f} s")


@stats_app.command("export")
def stats_export(
    topic: str = typer.Argument(
        ..., help="risks, hazards, inspections, alerts, drills, education, bus_incidents"
    ),
    out: Path = typer.Option(..., "--out", "-o", help="the file to write; its suffix picks the format"),
    org: str = typer.Option("410000", help="the org unit whose subtree is counted (admin or school code)"),
    group_by: str = typer.Option("school", help="province, city, county or school"),
    period: str | None = typer.Option(None, help="2026, 2026-Q2, 2026-05 or 2026-03-01/2026-06-30"),
    per: str | None = typer.Option(None, help="day, week, month, quarter or year buckets"),
    split: str | None = typer.Option(None, help="a second key: category, type, grade, kind…"),
) -> None:
    """Export a statistic as CSV, XLSX, GeoPackage or GeoParquet (by the file's suffix), with progress."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    from twin.stats import exports
    from twin.stats.service import Query, statistic_for_org

    fmt = out.suffix.lstrip(".").lower()
    if fmt not in exports.FORMATS:
        raise _fail(f"--out must end in one of {', '.join('.' + f for f in exports.FORMATS)}, not {out.name}")
    query = Query(topic, group_by, period, per, split)
    with _owner_engine() as engine, _progress() as bar:
        task = bar.add_task("export", total=4)
        with engine.connect() as conn:
            path = conn.execute(text("SELECT path FROM org_units WHERE code = :c"), {"c": org}).scalar()
            if path is None:
                raise _fail(f"there is no org unit {org}")
            bar.update(task, advance=1, description="counting")
            now = datetime.now(UTC)
            result = statistic_for_org(
                conn, str(path), query, now, _settings().stats, geometry=fmt in exports.SPATIAL
            )
        bar.update(task, advance=1, description=f"{len(result.rows)} rows")
        content = exports.export(
            result.rows,
            result.columns,
            fmt,
            f"{topic}_by_{group_by}",
            progress=lambda step: bar.update(task, description=step),
        )
        bar.update(task, advance=1, description="writing")
        out.write_bytes(content)
        bar.update(task, advance=1, description=f"{out} ({len(content):,} bytes)")


@user_app.command("add")
def user_add(
    name: str,
    role: str = typer.Option(..., help="admin, leader, safety_officer, maintenance, analyst or parent"),
    org: str = typer.Option(..., help="org unit code: 6-digit admin code or school code"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin"),
    person: str | None = typer.Option(None, help="a parent's person code (links the account to children)"),
) -> None:
    """Create a user."""
    from twin.access.roles import Role
    from twin.access.users import NewUser, add_user

    if role not in Role.__members__:
        raise _fail(f"unknown role {role!r}; roles: {', '.join(Role.__members__)}")
    password = _read_password(password_stdin)
    with _owner_engine() as engine, engine.begin() as conn:
        user_id = add_user(conn, NewUser(name, Role(role), org, password, person))
    console.print(f"user {name!r} ({role} at {org}) created with id {user_id}")


@user_app.command("disable")
def user_disable(name: str, enable: bool = typer.Option(False, "--enable", help="enable instead")) -> None:
    """Disable a user (every token it holds stops working), or enable it again."""
    from twin.access.users import set_user_disabled

    with _owner_engine() as engine, engine.begin() as conn:
        set_user_disabled(conn, name, disabled=not enable)
    console.print(f"user {name!r} {'enabled' if enable else 'disabled'}")


@user_app.command("password")
def user_password(name: str, password_stdin: bool = typer.Option(False, "--password-stdin")) -> None:
    """Set a user's password (every earlier token stops working)."""
    from twin.access.users import set_user_password

    password = _read_password(password_stdin)
    with _owner_engine() as engine, engine.begin() as conn:
        set_user_password(conn, name, password)
    console.print(f"password of {name!r} changed")


def _read_password(from_stdin: bool) -> str:
    import sys

    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@scheduler_app.command("run-once")
def scheduler_run_once(
    at: str | None = typer.Option(None, "--at", help="act as if it were this ISO time (default: now)"),
) -> None:
    """Fire the escalation steps due now (or at --at), store and publish their notifications."""
    import asyncio
    from datetime import UTC, datetime

    from twin.db.engine import async_engine
    from twin.riskmap.escalation import Scheduler

    s = _settings()
    try:
        when = datetime.fromisoformat(at) if at else datetime.now(UTC)
    except ValueError as exc:
        raise _fail(f"--at must be an ISO time such as 2026-10-15T18:00:00+08:00, not {at!r}") from exc
    if when.tzinfo is None:
        raise _fail("--at needs a time zone, e.g. 2026-10-15T18:00:00+08:00")

    async def once() -> int:
        engine = async_engine(s.db)
        try:
            scheduler = Scheduler(engine, s.broker.effective_url(), 0, clock=lambda: when)
            return len(await scheduler.run_once())
        finally:
            await engine.dispose()

    console.print(f"{asyncio.run(once())} notifications sent for escalation steps due by {when.isoformat()}")


@inspections_app.command("generate")
def inspections_generate(
    start: str = typer.Option(..., "--from", help="first day, YYYY-MM-DD"),
    end: str = typer.Option(..., "--to", help="last day, YYYY-MM-DD (inclusive)"),
    campus: str | None = typer.Option(None, help="one campus code (default: every campus)"),
) -> None:
    """Make the inspection tasks of a period for every risk point (idempotent; for cron)."""
    import asyncio

    from pydantic import ValidationError

    from twin.db.engine import async_engine
    from twin.riskmap.inspections import Period, generate
    from twin.riskmap.queries_escalation import act_as_scheduler

    try:
        period = Period.model_validate({"from": start, "to": end, "campus": campus})
    except ValidationError as exc:
        raise _fail(f"--from and --to are days such as 2026-10-12: {exc.errors()[0]['msg']}") from exc

    async def run() -> int:
        engine = async_engine(_settings().db)
        try:
            async with engine.begin() as conn:
                await act_as_scheduler(conn)
                return await generate(conn, None, period)
        finally:
            await engine.dispose()

    try:
        created = asyncio.run(run())
    except TwinError as exc:
        raise _fail(exc.detail) from exc
    console.print(f"{created} inspection tasks created for {start} to {end}")


@app.command("serve")
def serve(
    host: str | None = typer.Option(None),
    port: int | None = typer.Option(None),
    workers: int | None = typer.Option(None),
) -> None:
    """Serve HTTP; starts the private services first when no URL is configured."""
    import uvicorn

    from twin.db.provision import services_up as up

    s = _settings()
    try:
        up(s)
    except ServiceError as exc:
        raise _fail(str(exc)) from exc
    uvicorn.run(
        "twin.api.app:create_app",
        factory=True,
        host=host or s.server.host,
        port=port or s.server.port,
        workers=workers or s.server.workers,
        proxy_headers=False,
        ws_per_message_deflate=s.server.ws_deflate,
    )


@live_app.command("ingest")
def live_ingest() -> None:
    """Take sensor events in from MQTT (and fire due escalations) until stopped; run several to share."""
    from twin.live.ingest import run_forever

    run_forever(_worker_settings())


def _worker_settings() -> Settings:
    """A long-running worker's settings, with its log on stderr and the services it needs up."""
    import logging

    from twin.db.provision import services_up as up

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    s = _settings()
    try:
        up(s)
    except ServiceError as exc:
        raise _fail(str(exc)) from exc
    return s


@live_app.command("jt808")
def live_jt808() -> None:
    """Run the JT/T 808 listener alone (JT808_PORT, default 5015), e.g. when the server runs without it."""
    import asyncio

    from twin.access.tokens import signing_secret
    from twin.live.buses import start_buses

    s = _worker_settings()
    s = s.model_copy(update={"bus": s.bus.model_copy(update={"jt808": True})})

    async def run() -> None:
        buses = await start_buses(s, signing_secret(s.auth, s.paths))
        assert buses.jt808 is not None
        try:
            await buses.jt808.serve_forever()
        finally:
            await buses.close()

    asyncio.run(run())


def _progress() -> Progress | LineProgress:
    return progress(console)


if __name__ == "__main__":
    app()


pipes_app = typer.Typer(help="Pipe networks: topology check.")
app.add_typer(pipes_app, name="pipes")


@pipes_app.command("check")
def pipes_check(
    campus: str = typer.Option(..., help="campus code"),
    utility: list[str] = typer.Option([], help="utilities to check (default: all six)"),
    snap: float | None = typer.Option(None, help="snap tolerance in metres (default from settings)"),
) -> None:
    """Topology report: dangles, duplicate pipes, unconnected parts and missing depths per utility."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    from twin.pipes.checks import topology

    s = _settings()

    async def run() -> list[dict[str, object]]:
        engine = create_async_engine(s.db.async_url())  # the schema owner: no scope to set
        try:
            async with engine.connect() as conn:
                return await topology(conn, None, campus, utility or None, snap or s.pipes.snap_tolerance_m)
        finally:
            await engine.dispose()

    try:
        reports = asyncio.run(run())
    except TwinError as exc:
        raise _fail(exc.detail) from exc
    table = Table("utility", "nodes", "pipes", "parts", "dangles", "duplicates", "missing depths", "clean")
    for r in reports:
        parts: list[int] = r["parts"]  # type: ignore[assignment]
        table.add_row(
            str(r["utility"]), str(r["nodes"]), str(r["links"]), str(len(parts)), _few(r["dangles"]),
            _few(r["duplicates"]), _few(r["missing_depths"]), "yes" if r["clean"] else "no",
        )  # fmt: skip
    Console().print(table)


def _few(items: object, shown: int = 5) -> str:
    values = list(items)  # type: ignore[call-overload]
    head = ", ".join(str(v) for v in values[:shown])
    return f"{len(values)}: {head}…" if len(values) > shown else (f"{len(values)}: {head}" if values else "0")
