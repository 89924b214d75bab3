"""The live fan-out: snapshot, then the deltas of the `live_events` log, to each WebSocket / SSE client.

The database is the truth. A trigger writes each alert change into `live_events` and rings
`pg_notify('twin_live', id)` at commit (migration 0011); every server process LISTENs, so it works with
any number of uvicorn workers. The bell carries no rows: on a ring, each *group* of clients with the same
jurisdiction reads the new rows once, in a transaction scoped as one of its members (row-level security
decides what the group sees, never Python), and hands them to each member's bounded queue. A member whose
queue is full is dropped with a reason; nobody else waits for it.

Ids come from a sequence, so a transaction that started earlier can commit later with a smaller id than
one already read: a skipped id is awaited (`gap_wait_s`) and read when it appears. A bell that is lost
costs at most one second: groups also poll. The bell carries the event's org path (migration 0017): only
groups whose jurisdiction holds it are woken, and the others note the id as not theirs instead of waiting
for it as a gap (a lost bell only makes such an id look like a gap until it expires).
A transaction that ran for longer than `gap_wait_s` before committing its event would be missed by open
streams (a reconnect's snapshot has it): the alert transactions here take milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from twin.access import Caller, begin_request
from twin.access.roles import Role
from twin.access.tokens import TokenClaims
from twin.config import LiveSettings
from twin.errors import Unauthorized
from twin.live import queries as q

log = logging.getLogger(__name__)

CHANNEL = "twin_live"
POLL_S = 1.0  # a group reads at least this often, bell or not
RECENT_BELLS = 100_000  # bells whose path is remembered (ids of other jurisdictions are no gaps)
EVERYWHERE = ""  # by_scope key of the groups every bell wakes
SNAPSHOT_WINDOW = 256  # ids just below a snapshot that may belong to transactions still running


@dataclass(frozen=True)
class Event:
    """One log row as every client receives it; encoded once per process, whatever the number of clients."""

    id: int
    kind: str
    text: str
    gap: bool = False  # read late: its id was skipped while its transaction ran

    @property
    def message(self) -> dict[str, Any]:
        return dict(json.loads(self.text))


def encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def _event(row: dict[str, Any], gap: bool) -> Event:
    """The message around the payload; a payload read as JSON text is put in as it is, not parsed and
    written again for every group that reads it."""
    head = encode({"type": "event", "id": row["id"], "kind": row["kind"], "at": row["at"]})
    payload = row["payload"]
    data = payload if isinstance(payload, str) else encode(payload)
    return Event(row["id"], row["kind"], f'{head[:-1]},"data":{data}}}', gap)


class Dropped(Exception):
    """The client was dropped (too slow, or its account revoked); `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(eq=False)
class Member:
    claims: TokenClaims
    caller: Caller
    after: int
    queue: asyncio.Queue[Event]
    pending: list[Event] | None = field(default_factory=list)  # events held while catching up
    dropped: str | None = None
    waiter: asyncio.Future[None] | None = None  # the stream waiting for an event or a drop

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def offer(self, row: Event) -> None:
        if self.dropped is not None or (row.id <= self.after and not row.gap):
            return
        if self.pending is not None:
            self.pending.append(row)
            if len(self.pending) > self.queue.maxsize:
                self.drop(f"fell more than {self.queue.maxsize} events behind while catching up")
            return
        try:
            self.queue.put_nowait(row)
        except asyncio.QueueFull:
            self.drop(f"too slow: more than {self.queue.maxsize} events waiting; reconnect with the last id")
            return
        self.wake()

    def drop(self, reason: str) -> None:
        if self.dropped is None:
            self.dropped = reason
            self.wake()


def group_key(caller: Caller) -> tuple[str, int | None]:
    """Callers who see the same rows: same jurisdiction; a parent, only with themselves (their children)."""
    return (caller.org_path, caller.user_id if caller.role is Role.parent else None)


class Group:
    """Members sharing one scope, and the one reader of the log on their behalf."""

    def __init__(
        self,
        hub: Hub,
        key: tuple[str, int | None],
        cursor: int,
        gaps: dict[int, float],
        scopes: tuple[str, ...],
    ) -> None:
        self.hub, self.key, self.cursor, self.gaps = hub, key, cursor, gaps
        # The org paths whose bells wake this group: its jurisdiction; EVERYWHERE for the whole territory;
        # a parent's children's and buses' schools (row-level security still picks the rows).
        self.scopes = scopes
        self.members: list[Member] = []
        self.bell = asyncio.Event()
        self.task = asyncio.create_task(self._pump(), name=f"live-group-{key}")

    def foreign(self, event_id: int) -> bool:
        """The bell said this id is another jurisdiction's: no gap to wait for when it is skipped."""
        path = self.hub.bells.get(event_id)
        return (
            path is not None
            and EVERYWHERE not in self.scopes
            and not any(_within(path, s) for s in self.scopes)
        )

    async def _pump(self) -> None:
        while self.members:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.bell.wait(), POLL_S)
            self.bell.clear()
            try:
                await self._read()
            except Exception:  # a read that failed is retried on the next bell or poll
                log.exception("live group %s could not read the event log", self.key)
                await asyncio.sleep(POLL_S)
        self.hub.forget(self)

    async def _read(self) -> None:
        member = next((m for m in self.members if m.dropped is None), None)
        if member is None:
            return
        now = time.monotonic()
        self.gaps = {i: t for i, t in self.gaps.items() if t > now and not self.foreign(i)}
        rows = await self.hub.read(
            member, self.cursor, gaps=list(self.gaps), limit=self.hub.settings.queue_size
        )
        if rows is None:
            return
        events = []
        for row in rows:
            events.append(_event(row, gap=row["id"] in self.gaps))
            self.gaps.pop(row["id"], None)
            if row["id"] > self.cursor:
                deadline = now + self.hub.settings.gap_wait_s
                skipped = (i for i in range(self.cursor + 1, row["id"]) if not self.foreign(i))
                self.gaps.update(dict.fromkeys(skipped, deadline))
                self.cursor = row["id"]
        if len(rows) == self.hub.settings.queue_size:
            self.bell.set()  # more to read
        for event in events:
            for m in list(self.members):
                m.offer(event)


class Hub:
    """This process's side of the fan-out: the LISTEN connection and the groups of connected clients."""

    def __init__(
        self, engine: AsyncEngine, settings: LiveSettings, reader: AsyncEngine | None = None
    ) -> None:
        self.engine, self.settings = engine, settings
        # The groups' reads are one autocommit statement each (`twin_live_read`); snapshots and
        # catch-ups, rare, go through `engine` with the request's scope.
        self.reader = reader or engine.execution_options(isolation_level="AUTOCOMMIT")
        self.groups: dict[tuple[str, int | None], Group] = {}
        # A bell wakes the groups of the event's school and of its ancestors, found by scope, plus those
        # rung by everything: O(depth), not O(groups), per bell. The paths of recent bells let a group
        # tell another jurisdiction's ids from gaps.
        self.by_scope: dict[str, list[Group]] = {}
        self.bells: OrderedDict[int, str] = OrderedDict()
        self.dropped = 0
        self._listener: AsyncConnection | None = None
        self._watch: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def _listen(self) -> None:
        conn = await self.engine.connect()
        raw = await conn.get_raw_connection()
        await raw.driver_connection.add_listener(CHANNEL, self._ring)  # type: ignore[union-attr]
        # LISTEN takes effect at commit, and a session inside a transaction (a fresh connection has one
        # open since its role was set) gets no notification until it ends: end it.
        await conn.execute(text("SELECT 1"))
        await conn.commit()
        self._listener = conn

    def _ring(self, *args: Any) -> None:
        """The bell: `<id> <org path>` (ids alone from before migration 0017, or none: ring everyone)."""
        event_id, path = _bell(str(args[3]) if len(args) > 3 else "")
        if event_id is None or path is None:
            for group in self.groups.values():
                group.bell.set()
            return
        self.bells[event_id] = path
        if len(self.bells) > RECENT_BELLS:
            self.bells.popitem(last=False)
        for scope in (*_ancestors(path), EVERYWHERE):
            for group in self.by_scope.get(scope, ()):
                group.bell.set()

    def _add(self, group: Group) -> None:
        self.groups[group.key] = group
        for scope in group.scopes:
            self.by_scope.setdefault(scope, []).append(group)

    def forget(self, group: Group) -> None:
        self.groups.pop(group.key, None)
        for scope in group.scopes:
            peers = self.by_scope.get(scope, [])
            if group in peers:
                peers.remove(group)

    async def _watchdog(self) -> None:
        """Listen again after the connection dropped; the groups' polling covers the gap meanwhile."""
        while True:
            await asyncio.sleep(POLL_S)
            listener = self._listener
            raw = None if listener is None else (await listener.get_raw_connection()).driver_connection
            if raw is None or raw.is_closed():
                with contextlib.suppress(Exception):
                    if listener is not None:
                        await listener.invalidate()
                try:
                    await self._listen()
                    self._ring()
                except Exception as exc:  # the database is down: keep trying
                    log.warning("live: LISTEN failed (%s); retrying", exc)

    async def _ensure_listening(self) -> None:
        async with self._lock:
            if self._watch is None:
                await self._listen()
                self._watch = asyncio.create_task(self._watchdog(), name="live-listen-watchdog")

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        for group in list(self.groups.values()):
            group.task.cancel()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()

    def stats(self) -> dict[str, int]:
        return {
            "clients": sum(len(g.members) for g in self.groups.values()),
            "groups": len(self.groups),
            "dropped": self.dropped,
        }

    async def open(self, claims: TokenClaims, since: int | None) -> Stream:
        """A stream for the token's user: a snapshot when `since` is None, else the events after `since`."""
        await self._ensure_listening()
        async with self.engine.begin() as conn:
            caller = await begin_request(conn, claims.user_id, claims.version)
            if caller is None:
                raise Unauthorized("the account is disabled or the token was revoked; sign in again")
            snapshot = None
            if since is None:
                snapshot = await _snapshot(conn)
                after = snapshot["last_id"]
                window = after - SNAPSHOT_WINDOW
                seen = set(await q.ids_between(conn, window, after))
            else:
                after, window, seen = since, since, set()
            scopes = await _scopes(conn, caller)
        member = Member(claims, caller, after, asyncio.Queue(self.settings.queue_size))
        # From here to the catch-up read, nothing awaits: the group cannot move past what we read.
        key = group_key(caller)
        group = self.groups.get(key)
        if group is None:
            deadline = time.monotonic() + self.settings.gap_wait_s
            gaps = {i: deadline for i in range(max(window, 0) + 1, after + 1) if i not in seen}
            group = Group(self, key, after, gaps, scopes)
            self._add(group)
        group.members.append(member)
        stream = Stream(self, group, member, snapshot)
        try:
            await self._catch_up(member, group.cursor)
        except BaseException:
            stream.close()
            raise
        return stream

    async def read(self, member: Member, after: int, **bounds: Any) -> list[dict[str, Any]] | None:
        """Log rows after `after` as the member sees them (q.read_events); None, and the member dropped,
        once their account is disabled or their token revoked."""
        claims = member.claims
        try:
            async with self.reader.connect() as conn:
                return await q.read_events(conn, claims.user_id, claims.version, after, **bounds)
        except q.Revoked:
            member.drop("the account was disabled or the token revoked; sign in again")
            return None

    async def _catch_up(self, member: Member, upto: int) -> None:
        """Rows between the member's starting point and the group's cursor, then what arrived meanwhile."""
        rows: list[Event] = []
        if upto > member.after:
            found = await self.read(member, member.after, upto=upto, limit=self.settings.queue_size + 1)
            if found is None:
                return
            rows = [_event(row, gap=False) for row in found]
            if len(rows) > self.settings.queue_size:
                member.drop(
                    f"more than {self.settings.queue_size} events to catch up; reconnect without since"
                )
                return
        held, member.pending = member.pending or [], None
        for row in rows + held:
            member.offer(row)


async def _scopes(conn: AsyncConnection, caller: Caller) -> tuple[str, ...]:
    """Whose bells wake the caller's group (see Group.scopes)."""
    if caller.whole:
        return (EVERYWHERE,)
    if caller.role is Role.parent:
        return tuple(await q.parent_schools(conn))
    return (caller.org_path,)


def _within(path: str, scope: str) -> bool:
    return path == scope or path.startswith(scope + ".")


def _ancestors(path: str) -> list[str]:
    """'a.b.c' -> ['a', 'a.b', 'a.b.c']: the scopes that hold the path."""
    parts = path.split(".")
    return [".".join(parts[: n + 1]) for n in range(len(parts))]


def _bell(payload: str) -> tuple[int | None, str | None]:
    head, _, path = payload.partition(" ")
    try:
        return int(head), path or None
    except ValueError:
        return None, None


async def _snapshot(conn: AsyncConnection) -> dict[str, Any]:
    # Read in one transaction: the state and the id after which deltas start agree.
    last_id = await q.last_event_id(conn)
    return {
        "type": "snapshot",
        "last_id": last_id,
        "alerts": await q.active_alerts(conn),
        "buses": await q.visible_buses(conn),
    }


async def _wait(member: Member, timeout: float | None) -> None:
    """Until the member is offered an event or dropped, or `timeout` passes: one future and one timer per
    wait (not two tasks), as every client waits again after each message."""
    loop = asyncio.get_running_loop()
    waiter = member.waiter = loop.create_future()
    timer = None if timeout is None else loop.call_later(timeout, member.wake)
    try:
        await waiter
    finally:
        member.waiter = None
        if timer is not None:
            timer.cancel()


class Stream:
    """One client's view: the snapshot (if asked), then events in id order until closed or dropped."""

    def __init__(self, hub: Hub, group: Group, member: Member, snapshot: dict[str, Any] | None) -> None:
        self.hub, self.group, self.member, self.snapshot = hub, group, member, snapshot

    @property
    def last_id(self) -> int:
        return self.member.after

    async def next(self, timeout: float | None = None) -> Event | None:
        """The next event, None after `timeout` seconds without one; raises Dropped."""
        member = self.member
        if member.dropped is None and member.queue.empty():
            await _wait(member, timeout)
        if member.dropped is not None:
            self.hub.dropped += 1
            raise Dropped(member.dropped)
        if member.queue.empty():
            return None
        return self._delivered(member.queue.get_nowait())

    def _delivered(self, event: Event) -> Event:
        self.member.after = max(self.member.after, event.id)
        return event

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.group.members.remove(self.member)
