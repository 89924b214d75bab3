"""The fan-out hub itself: bounded queues per client, and the database log as the only source."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import text

from twin.access.tokens import TokenClaims
from twin.config import LiveSettings, Settings
from twin.db.engine import async_engine, reader_engine, sync_engine
from twin.live import queries as q
from twin.live.fanout import Dropped, Hub, _bells


def publish(settings: Settings, n: int, campus: str = "LY01") -> list[int]:
    """`n` notification events for the sample school (or another campus's), as any domain would log them."""
    engine = sync_engine(settings.db)
    ids = []
    with engine.begin() as conn:
        org = conn.execute(
            text("SELECT org_path::text FROM campuses WHERE code = :c"), {"c": campus}
        ).scalar_one()
        for i in range(n):
            ids.append(
                conn.execute(
                    text("SELECT twin_live_publish(CAST(:org AS ltree), 'notification', CAST(:p AS jsonb))"),
                    {"org": org, "p": json.dumps({"n": i})},
                ).scalar_one()
            )
    engine.dispose()
    return ids


def claims_of(settings: Settings, username: str) -> TokenClaims:
    engine = sync_engine(settings.db)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT id, token_version FROM users WHERE username = :u"), {"u": username}
        ).one()
    engine.dispose()
    return TokenClaims(user_id=row.id, version=row.token_version, kind="access")


async def test_a_slow_client_is_dropped_with_a_reason_and_the_others_get_everything(
    live_db: Settings,
) -> None:
    engine = async_engine(live_db.db)
    hub = Hub(engine, LiveSettings(queue_size=5, gap_wait_s=1))
    try:
        slow = await hub.open(claims_of(live_db, "leader"), None)
        fast = await hub.open(claims_of(live_db, "officer"), None)
        assert slow.group is fast.group  # same jurisdiction: one reader of the log for both
        got = []
        publish(live_db, 4)
        while len(got) < 4:
            event = await fast.next(timeout=5)
            assert event is not None
            got.append(event.message["data"]["n"])
        publish(live_db, 4)  # the slow one never read: 8 waiting > 5
        while len(got) < 8:
            event = await fast.next(timeout=5)
            assert event is not None
            got.append(event.message["data"]["n"])
        assert got == [0, 1, 2, 3, 0, 1, 2, 3]
        with pytest.raises(Dropped, match="too slow"):
            while True:
                await slow.next(timeout=5)
        assert hub.stats()["dropped"] == 1
        slow.close()
        fast.close()
    finally:
        await hub.close()
        await engine.dispose()


async def test_a_stream_from_an_id_replays_the_log_after_it(live_db: Settings) -> None:
    publish(live_db, 3)
    engine = async_engine(live_db.db)
    hub = Hub(engine, LiveSettings())
    try:
        stream = await hub.open(claims_of(live_db, "leader"), 1)
        assert stream.snapshot is None
        events = [await stream.next(timeout=5) for _ in range(2)]
        assert [e.message["data"]["n"] for e in events if e] == [1, 2]
        stream.close()
    finally:
        await hub.close()
        await engine.dispose()


async def test_the_bell_wakes_only_the_schools_group_and_other_schools_ids_are_no_gaps(
    live_db: Settings,
) -> None:
    engine = async_engine(live_db.db)
    hub = Hub(engine, LiveSettings(gap_wait_s=30))
    try:
        stream = await hub.open(claims_of(live_db, "leader"), None)
        foreign = publish(live_db, 5, campus="SIB")  # the sibling school's: the leader's group is not woken
        await asyncio.sleep(0.5)
        assert not stream.group.bell.is_set() and all(stream.group.foreign(i) for i in foreign)
        own = publish(live_db, 1)
        event = await stream.next(timeout=5)
        assert event is not None and event.id == own[0]
        # The sibling's ids lie between the cursor and the own event: known foreign, not awaited for 30 s.
        assert not set(foreign) & set(stream.group.gaps)
        stream.close()
    finally:
        await hub.close()
        await engine.dispose()


async def test_a_stream_whose_account_is_revoked_meanwhile_is_dropped_and_reads_nothing_more(
    live_db: Settings,
) -> None:
    engine, reader = async_engine(live_db.db), reader_engine(live_db.db)
    hub = Hub(engine, LiveSettings(), reader)
    owner = sync_engine(live_db.db)
    try:
        stream = await hub.open(claims_of(live_db, "officer"), None)
        with owner.begin() as conn:  # what `twin user revoke` does: old tokens stop working
            conn.execute(
                text("UPDATE users SET token_version = token_version + 1 WHERE username = 'officer'")
            )
        publish(live_db, 1)
        with pytest.raises(Dropped, match="revoked"):
            await stream.next(timeout=5)
        stream.close()
    finally:
        with owner.begin() as conn:
            conn.execute(
                text("UPDATE users SET token_version = token_version - 1 WHERE username = 'officer'")
            )
        owner.dispose()
        await hub.close()
        await engine.dispose()
        await reader.dispose()


async def test_a_parents_group_is_woken_by_their_childs_school_only_and_gets_its_bus(
    live_db: Settings,
) -> None:
    """Not by every bell of the territory: a thousand parents must not each read the log for every bus."""
    engine = async_engine(live_db.db)
    hub = Hub(engine, LiveSettings(gap_wait_s=30))
    owner = sync_engine(live_db.db)
    with owner.connect() as conn:
        bus = conn.execute(
            text(
                "SELECT v.id, v.org_path::text AS org FROM vehicles v JOIN people p ON p.route_id = v.route_id"
                " JOIN guardians g ON g.student_id = p.id JOIN users u ON u.person_id = g.parent_id"
                " WHERE u.username = 'parent' ORDER BY v.id LIMIT 1"
            )
        ).one()
    owner.dispose()
    try:
        stream = await hub.open(claims_of(live_db, "parent"), None)
        assert stream.group.scopes == (bus.org,)  # the sample school, not the whole province
        foreign = publish(live_db, 3, campus="SIB")
        await asyncio.sleep(0.5)
        assert not stream.group.bell.is_set() and all(stream.group.foreign(i) for i in foreign)
        position = publish_position(live_db, bus.org, bus.id)
        event = await stream.next(timeout=5)
        assert event is not None and (event.id, event.kind) == (position, "position")
        stream.close()
    finally:
        await hub.close()
        await engine.dispose()


def publish_position(settings: Settings, org: str, vehicle_id: int) -> int:
    engine = sync_engine(settings.db)
    with engine.begin() as conn:
        event_id = conn.execute(
            text("SELECT twin_live_publish(CAST(:org AS ltree), 'position', CAST(:p AS jsonb))"),
            {"org": org, "p": json.dumps({"vehicle_id": vehicle_id, "lon": 112.4, "lat": 34.6})},
        ).scalar_one()
    engine.dispose()
    return int(event_id)


async def test_a_read_returns_the_range_and_the_awaited_ids_once_each_in_order_within_the_scope(
    live_db: Settings,
) -> None:
    """twin_live_read: ids after the cursor up to `upto`, plus the awaited gaps (one of them inside the
    range, one below it), each once, oldest first, at most `limit`; another school's never. Read more than
    five times in one session, so the plan it keeps for the session is the one checked too."""
    own = publish(live_db, 6)
    foreign = publish(live_db, 3, campus="SIB")
    later = publish(live_db, 2)
    claims = claims_of(live_db, "leader")
    reader = reader_engine(live_db.db)
    try:
        async with reader.connect() as conn:
            for _ in range(7):
                rows = await q.read_events(
                    conn, claims.user_id, claims.version, own[2], upto=foreign[-1], gaps=[own[0], own[3]]
                )
                assert [r["id"] for r in rows] == [own[0], own[3], own[4], own[5]]
            everything = await q.read_events(conn, claims.user_id, claims.version, 0)
            assert [r["id"] for r in everything][-8:] == own + later
            assert not {r["id"] for r in everything} & set(foreign)
            first = await q.read_events(conn, claims.user_id, claims.version, own[0], limit=2)
            assert [r["id"] for r in first] == own[1:3]
    finally:
        await reader.dispose()


async def test_reads_of_several_groups_in_one_statement_keep_each_to_its_own_scope(live_db: Settings) -> None:
    """twin_live_read_many: the whole territory first, then a school, its sibling, a parent and a revoked
    account, in one call: each gets what its own read would, and the role switched for the territory does
    not carry over to the readers after it."""
    own = publish(live_db, 2)
    foreign = publish(live_db, 2, campus="SIB")
    names = ["province", "leader", "sibling", "parent", "officer"]
    claims = [claims_of(live_db, name) for name in names]
    revoked = claims[-1].version + 1  # as after `twin user revoke`
    reads = [q.Read(c.user_id, c.version, own[0] - 1, None, []) for c in claims[:-1]]
    reads.append(q.Read(claims[-1].user_id, revoked, own[0] - 1, None, []))
    reader = reader_engine(live_db.db)
    try:
        async with reader.connect() as conn:
            for _ in range(7):  # past the plan PL/pgSQL keeps for the session
                found = await q.read_many(conn, reads, limit=100)
                ids = [None if rows is None else [r["id"] for r in rows] for rows in found]
                assert ids == [own + foreign, own, foreign, [], None]
            assert (await conn.execute(text("SELECT current_user"))).scalar_one() == "twin_app"
    finally:
        await reader.dispose()


async def test_a_transaction_that_commits_after_a_later_id_is_delivered_once(live_db: Settings) -> None:
    """Ids come from a sequence: the earlier id of a slower transaction is read when its bell rings, after
    the later one, and flagged so that the client takes it although its last id is past it."""
    engine = async_engine(live_db.db)
    hub = Hub(engine, LiveSettings(gap_wait_s=30))
    owner = sync_engine(live_db.db)
    publish_one = text("SELECT twin_live_publish(CAST(:org AS ltree), 'notification', CAST(:p AS jsonb))")
    try:
        stream = await hub.open(claims_of(live_db, "leader"), None)
        publish(live_db, 1)  # bells are heard from here on
        assert await stream.next(timeout=5) is not None
        with owner.connect() as slow:
            org = slow.execute(text("SELECT org_path::text FROM campuses WHERE code = 'LY01'")).scalar_one()
            early = slow.execute(publish_one, {"org": org, "p": '{"n": "early"}'}).scalar_one()
            [late] = publish(live_db, 1)
            first = await stream.next(timeout=5)
            assert first is not None and first.id == late > early
            slow.commit()
        second = await stream.next(timeout=5)
        assert second is not None and (second.id, second.gap) == (early, True)
        publish(live_db, 1)
        third = await stream.next(timeout=5)
        assert third is not None and third.id > late  # nothing delivered twice
        stream.close()
    finally:
        owner.dispose()
        await hub.close()
        await engine.dispose()


async def test_ids_of_the_log_are_listed_whoever_may_read_the_rows(live_db: Settings) -> None:
    """A new stream tells ids still to come from other schools' ids by the ids alone (twin_live_ids)."""
    own = publish(live_db, 1)
    foreign = publish(live_db, 2, campus="SIB")
    engine = async_engine(live_db.db)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("SELECT 1 FROM twin_begin_request(:u, :v)"), _uv(claims_of(live_db, "leader"))
            )
            assert await q.ids_between(conn, own[0] - 1, foreign[-1]) == own + foreign
            rows = await conn.execute(text("SELECT id FROM live_events WHERE id > :a"), {"a": own[0] - 1})
            assert [r.id for r in rows] == own  # the rows themselves stay behind the policies
    finally:
        await engine.dispose()


def _uv(claims: TokenClaims) -> dict[str, int]:
    return {"u": claims.user_id, "v": claims.version}


async def test_a_quiet_group_reads_nothing_while_bells_are_heard(live_db: Settings) -> None:
    """The poll of a group nobody rang only moves its cursor: a thousand idle parents cost no reads."""
    engine = async_engine(live_db.db)
    hub = Hub(engine, LiveSettings(gap_wait_s=30))
    try:
        stream = await hub.open(claims_of(live_db, "leader"), None)
        publish(live_db, 1)
        assert await stream.next(timeout=5) is not None
        reads = hub.stats()["reads"]
        foreign = publish(live_db, 3, campus="SIB")
        await asyncio.sleep(2.5)  # two polls
        assert hub.stats()["reads"] == reads
        assert stream.group.cursor >= foreign[-1] and not stream.group.gaps
        own = publish(live_db, 1)
        event = await stream.next(timeout=5)
        assert event is not None and event.id == own[0]
        stream.close()
    finally:
        await hub.close()
        await engine.dispose()


def test_a_bell_names_one_or_several_events_and_anything_else_rings_everyone() -> None:
    assert _bells("41 410000.410300") == [(41, "410000.410300")]
    assert _bells("41 a.b;42 a.c") == [(41, "a.b"), (42, "a.c")]
    assert _bells("41") is None and _bells("") is None and _bells("41 a.b;x a.c") is None


async def test_ids_rung_for_a_group_whose_read_failed_are_read_on_the_next_try(live_db: Settings) -> None:
    """A failed read (the database away a moment) must not let the next poll move the cursor past them."""
    engine, reader = async_engine(live_db.db), reader_engine(live_db.db)
    away = reader_engine(live_db.db.model_copy(update={"name": "no_such_database"}))
    hub = Hub(engine, LiveSettings(gap_wait_s=30), reader)
    try:
        stream = await hub.open(claims_of(live_db, "leader"), None)
        publish(live_db, 1)
        assert await stream.next(timeout=5) is not None
        hub.reader = away
        [own] = publish(live_db, 1)
        await asyncio.sleep(0.5)  # the group's read fails
        assert own in stream.group.heard
        hub.reader = reader
        event = await stream.next(timeout=5)
        assert event is not None and event.id == own
        stream.close()
    finally:
        await hub.close()
        for e in (engine, reader, away):
            await e.dispose()
