"""The live fan-out: snapshot, then the deltas of the `live_events` log, to each WebSocket / SSE client.

The database is the truth. A trigger writes each alert change into `live_events` and rings
`pg_notify('twin_live', '<id> <org path>')` at commit (migrations 0011, 0017); every server process
LISTENs, so it works with any number of uvicorn workers. The bell carries no rows: a *group* of clients
with the same jurisdiction reads the rows once, scoped as one of its members (row-level security decides
what the group sees, never Python), and hands them to each member's bounded queue. A member whose queue is
full is dropped with a reason; nobody else waits for it.

Only the groups whose jurisdiction holds a bell's path are woken, and each notes the id: while bells are
heard, a group reads just the ids rung for it (one index probe each), and the cursor moves past every
other jurisdiction's id without a read. The reads that are due at one moment (a bell wakes a school's,
its county's and its city's groups) go as one statement, each group in its own scope (migration 0027).
A group that nobody rang reads nothing when it polls.

Ids come from a sequence, so a transaction that started earlier can commit later with a smaller id than
one already read: an id skipped before its bell came is awaited (`gap_wait_s`) and read when it rings.
Until the first bell after a (re)LISTEN nothing is known of the ids, and groups read ranges and poll
every second, as a lost bell would otherwise cost an event. A transaction that ran for longer than
`gap_wait_s` before committing its event would be missed by open streams (a reconnect's snapshot has it):
the alert transactions here take milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field, replace
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
REVOKED = "the account was disabled or the token revoked; sign in again"  # why a member is dropped
RECENT_EVENTS = 4096  # events kept encoded: the groups that read one row share its text


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
    limit: int  # events waiting at most; one more and the member is dropped
    queue: deque[Event] = field(default_factory=deque)
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
            if len(self.pending) > self.limit:
                self.drop(f"fell more than {self.limit} events behind while catching up")
            return
        if len(self.queue) >= self.limit:
            self.drop(f"too slow: more than {self.limit} events waiting; reconnect with the last id")
            return
        self.queue.append(row)
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
        # Ids belled in the group's scopes since its last read: what it reads, by id, while the hub
        # knows every id after the cursor (otherwise, and first of all, it reads the range after it:
        # the bells rung before the group was made did not reach it).
        self.heard: set[int] = set()
        self.ranged = True
        self.bell.set()
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
            belled = self.bell.is_set()
            self.bell.clear()
            try:
                if (
                    belled
                    or self.heard
                    or not self.hub.knows(min([self.cursor, *(i - 1 for i in self.gaps)]))
                ):
                    await self._read()
                else:  # the poll while bells are heard: nothing of ours was rung, no read needed
                    self._move_to(self.hub.top_belled, set(), self.hub.rung, time.monotonic())
            except Exception:  # a read that failed is retried on the next bell or poll
                log.exception("live group %s could not read the event log", self.key)
                await asyncio.sleep(POLL_S)
        self.hub.forget(self)

    async def _read(self) -> None:
        member = next((m for m in self.members if m.dropped is None), None)
        if member is None:
            return
        hub = self.hub
        now = time.monotonic()
        self.gaps = {i: t for i, t in self.gaps.items() if t > now and not self.foreign(i)}
        mark = hub.rung  # bells heard from here on may be of rows this read's snapshot misses
        heard, self.heard = self.heard, set()
        # Up to the last id belled: every row up there is committed, and the cursor moves past the
        # other jurisdictions' rows, which no read walks again.
        upto = hub.top_belled if hub.hearing else None
        limit = hub.settings.queue_size
        ranged = self.ranged or not hub.knows(self.cursor)
        if ranged:
            wanted, until = list(self.gaps), upto
        else:  # only the ids rung for us and the gaps: one index probe each
            wanted, until = sorted(heard.union(self.gaps)), self.cursor
        try:
            rows = await hub.read_together(member, self.cursor, upto=until, gaps=wanted)
        except BaseException:
            self.heard |= heard  # read again, whatever failed
            raise
        if rows is None:  # the member was dropped: the next one reads
            self.heard |= heard
            self.bell.set()
            return
        full = len(rows) == limit
        self.ranged = ranged and full  # a range cut short by the limit goes on as a range
        events = [hub.event(row, gap=row["id"] in self.gaps) for row in rows]
        read = {event.id for event in events}
        top = max(read, default=self.cursor)
        if full:
            self.heard |= {i for i in heard if i > top}
            self.bell.set()  # more to read
        elif upto is not None:
            top = max(top, upto)
        self._move_to(top, read, mark, now)
        for event in events:
            for m in list(self.members):
                m.offer(event)

    def _move_to(self, top: int, read: set[int], mark: int, now: float) -> None:
        """The cursor to `top`; the ids skipped that may still commit are awaited as gaps."""
        if top > self.cursor:
            deadline = now + self.hub.settings.gap_wait_s
            for i in self.hub.unsettled(self.cursor, top + 1, mark):
                if i not in read and not self.foreign(i):
                    self.gaps[i] = deadline
            self.cursor = top
        for i in read:
            self.gaps.pop(i, None)


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
        # What the bells say of ids, so that a group need not look at every id it skipped: ids below the
        # highest one belled whose bell has not come (a transaction still running, or rolled back), until
        # `gap_wait_s`; `bells` keeps the order they came in, to know which ones a read may have missed.
        self.first_belled: int | None = None
        self.top_belled = 0
        self.unbelled: dict[int, float] = {}
        self.rung = 0  # bells heard
        self.events: OrderedDict[int, Event] = OrderedDict()
        self.dropped = 0
        self.reads = 0  # statements reading the log for groups (each one for all the groups then due)
        self._listener: AsyncConnection | None = None
        self._watch: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        # Group reads due at one moment, made as one statement (q.read_many) by one task at a time.
        self._due: list[tuple[Member, q.Read, asyncio.Future[list[dict[str, Any]] | None]]] = []
        self._reading: asyncio.Task[None] | None = None

    async def _listen(self) -> None:
        conn = await self.engine.connect()
        raw = await conn.get_raw_connection()
        await raw.driver_connection.add_listener(CHANNEL, self._ring)  # type: ignore[union-attr]
        # LISTEN takes effect at commit, and a session inside a transaction (a fresh connection has one
        # open since its role was set) gets no notification until it ends: end it.
        await conn.execute(text("SELECT 1"))
        await conn.commit()
        self._forget_bells()
        self._listener = conn

    def _ring(self, *args: Any) -> None:
        """The bell: `<id> <org path>`, or several joined by `;` (a batch's count-ups); ids alone from
        before migration 0017, or none: ring everyone."""
        bells = _bells(str(args[3]) if len(args) > 3 else "")
        if bells is None:
            self._forget_bells()
            for group in self.groups.values():
                group.bell.set()
            return
        for event_id, path in bells:
            self._heard(event_id, path)

    def _heard(self, event_id: int, path: str) -> None:
        self.bells[event_id] = path
        if len(self.bells) > RECENT_BELLS:
            self.bells.popitem(last=False)
        self._note(event_id)
        for scope in (*_ancestors(path), EVERYWHERE):
            for group in self.by_scope.get(scope, ()):
                group.heard.add(event_id)
                group.bell.set()

    @property
    def hearing(self) -> bool:
        """Bells are heard (since the last LISTEN): ids up to the highest belled are known."""
        return self.first_belled is not None

    def knows(self, after: int) -> bool:
        """Every id after `after` that commits will be belled to this process (bells are heard since)."""
        return self.first_belled is not None and after + 1 >= self.first_belled

    def _forget_bells(self) -> None:
        """After a (re)LISTEN nothing is known of the ids before the next bell."""
        self.first_belled, self.top_belled = None, 0
        self.unbelled.clear()

    def _note(self, event_id: int) -> None:
        now = time.monotonic()
        self.rung += 1
        if self.first_belled is None:
            self.first_belled = self.top_belled = event_id
        elif event_id > self.top_belled:
            deadline = now + self.settings.gap_wait_s
            self.unbelled.update(
                dict.fromkeys(range(max(self.top_belled + 1, event_id - RECENT_BELLS), event_id), deadline)
            )
            self.top_belled = event_id
        else:
            self.unbelled.pop(event_id, None)
        while self.unbelled and next(iter(self.unbelled.values())) < now:  # oldest first: rolled back
            del self.unbelled[next(iter(self.unbelled))]

    def unsettled(self, low: int, high: int, mark: int) -> set[int]:
        """Ids between `low` and `high` whose row a read begun when `rung` was `mark` may have missed:
        not belled before it began (a bell is rung at commit, so a row belled before is in the read)."""
        known = self.first_belled if self.first_belled is not None else high
        late = self.rung - mark
        if late > len(self.bells):  # too many bells since to tell: every id is suspect
            return set(range(low + 1, high))
        ids = set(range(low + 1, min(high, known)))  # below the first bell nothing is known
        ids.update(range(max(low, self.top_belled) + 1, high))  # beyond the last bell neither
        ids.update(i for i in self.unbelled if low < i < high)
        ids.update(i for i in itertools.islice(reversed(self.bells), late) if low < i < high)
        return ids

    def event(self, row: dict[str, Any], gap: bool) -> Event:
        """The row as sent, encoded once for all the groups that read it."""
        event = self.events.get(row["id"])
        if event is None:
            event = self.events[row["id"]] = _event(row, gap=False)
            if len(self.events) > RECENT_EVENTS:
                self.events.popitem(last=False)
        return replace(event, gap=True) if gap else event

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
                self._forget_bells()
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
            "reads": self.reads,
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
        member = Member(claims, caller, after, self.settings.queue_size)
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
            member.drop(REVOKED)
            return None

    async def read_together(
        self, member: Member, after: int, *, upto: int | None, gaps: list[int]
    ) -> list[dict[str, Any]] | None:
        """As `read`, for a group: gathered with the other groups' reads that are due meanwhile (those
        woken by one bell, those due while a read is on its way) into one statement; at most `queue_size`
        rows."""
        claims = member.claims
        due: asyncio.Future[list[dict[str, Any]] | None] = asyncio.get_running_loop().create_future()
        self._due.append((member, q.Read(claims.user_id, claims.version, after, upto, gaps), due))
        if self._reading is None:
            self._reading = asyncio.create_task(self._read_due(), name="live-reads")
        return await due

    async def _read_due(self) -> None:
        try:
            while self._due:
                batch, self._due = self._due, []
                self.reads += 1
                try:
                    async with self.reader.connect() as conn:
                        found = await q.read_many(conn, [r for _m, r, _f in batch], self.settings.queue_size)
                except Exception as exc:  # each group logs it and reads again later
                    for _m, _r, due in batch:
                        if not due.done():
                            due.set_exception(exc)
                    continue
                for (member, _r, due), rows in zip(batch, found, strict=True):
                    if rows is None:
                        member.drop(REVOKED)
                    if not due.done():
                        due.set_result(rows)
        finally:
            self._reading = None

    async def _catch_up(self, member: Member, upto: int) -> None:
        """Rows between the member's starting point and the group's cursor, then what arrived meanwhile."""
        rows: list[Event] = []
        if upto > member.after:
            found = await self.read(member, member.after, upto=upto, limit=self.settings.queue_size + 1)
            if found is None:
                return
            rows = [self.event(row, gap=False) for row in found]
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


def _bells(payload: str) -> list[tuple[int, str]] | None:
    """'<id> <path>[;<id> <path>…]' as (id, path) pairs; None when a part has no id or no path."""
    bells = []
    for part in payload.split(";"):
        head, _, path = part.partition(" ")
        if not head.isdigit() or not path:
            return None
        bells.append((int(head), path))
    return bells


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
        if member.dropped is None and not member.queue:
            await _wait(member, timeout)
        if member.dropped is not None:
            self.hub.dropped += 1
            raise Dropped(member.dropped)
        if not member.queue:
            return None
        return self._delivered(member.queue.popleft())

    def _delivered(self, event: Event) -> Event:
        self.member.after = max(self.member.after, event.id)
        return event

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.group.members.remove(self.member)
