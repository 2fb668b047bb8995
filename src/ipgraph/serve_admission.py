"""Which query runs next in ``ipgraph serve``: a bounded queue, fair across
clients, that runaway queries cannot starve.

Every query (the user's at ``/sparql`` and the pages' own) asks
:meth:`Admission.slot` for a slot, keyed by its client (the peer address).
A query starts when

- fewer than ``workers`` *young* queries run (younger than ``slow_after``
  seconds): a query that has run longer than that is a long one and no
  longer holds one of these slots, so a few runaways cannot keep cheap
  queries waiting until they time out;
- fewer than ``max_running`` queries run in all (each is a process: this
  bounds CPU and memory, whatever their age);
- its client runs fewer than ``per_client``: one client's runaways delay
  that client, not the others.

Otherwise it waits; of the waiting queries that may start, the one whose
client runs the fewest goes first (then the oldest). At most ``queue``
queries wait, and at most ``per_client_queue`` of one client: past that
:class:`Busy` is raised at once (``serve`` answers 503 with Retry-After).

Example:
    >>> import asyncio
    >>> admission = Admission(workers=1, queue=0)
    >>> async def two_at_once():
    ...     async with admission.slot("127.0.0.1"):
    ...         async with admission.slot("127.0.0.2"):
    ...             pass
    >>> asyncio.run(two_at_once())
    Traceback (most recent call last):
    ...
    ipgraph.serve_admission.Busy: the server is busy: 1 queries running, 0 waiting (at most 0); try again shortly
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

__all__ = ["Admission", "Busy"]


class Busy(Exception):
    """The queue is full: the query is not taken (HTTP 503)."""


@dataclass(eq=False)
class _Ticket:
    client: str
    future: asyncio.Future
    started: float | None = None
    waited: float = field(default_factory=time.monotonic)


class Admission:
    """The queue of one server (see the module's documentation). Used from
    the event loop only."""

    def __init__(
        self,
        workers: int = 4,
        *,
        max_running: int | None = None,
        per_client: int | None = None,
        queue: int = 32,
        per_client_queue: int | None = None,
        slow_after: float = 0.5,
    ) -> None:
        self.workers = workers
        self.max_running = max_running if max_running is not None else 4 * workers
        self.per_client = per_client if per_client is not None else workers
        self.queue = queue
        self.per_client_queue = per_client_queue if per_client_queue is not None else max(1, queue // 4)
        self.slow_after = slow_after
        self.running: list[_Ticket] = []
        self.waiting: deque[_Ticket] = deque()

    def stats(self) -> dict[str, int]:
        """Queries running (young ones among them) and waiting."""
        return {"running": len(self.running), "young": self._young(), "waiting": len(self.waiting)}

    @contextlib.asynccontextmanager
    async def slot(self, client: str) -> AsyncIterator[None]:
        """Wait for a slot for ``client``'s query and hold it while inside.

        Raises:
            Busy: the queue (or this client's part of it) is full.
        """
        ticket = self._enter(client)
        try:
            await ticket.future
        except BaseException:
            if ticket in self.waiting:
                self.waiting.remove(ticket)
            elif ticket in self.running:
                self._leave(ticket)
            raise
        try:
            yield
        finally:
            self._leave(ticket)

    # -- inside -----------------------------------------------------------------

    def _young(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        return sum(1 for ticket in self.running if now - ticket.started < self.slow_after)

    def _mine(self, client: str) -> int:
        return sum(1 for ticket in self.running if ticket.client == client)

    def _may_start(self, client: str) -> bool:
        return (
            self._young() < self.workers
            and len(self.running) < self.max_running
            and self._mine(client) < self.per_client
        )

    def _enter(self, client: str) -> _Ticket:
        ticket = _Ticket(client, asyncio.get_running_loop().create_future())
        if not self.waiting and self._may_start(client):
            self._grant(ticket)
            return ticket
        if len(self.waiting) >= self.queue:
            raise Busy(
                f"the server is busy: {len(self.running)} queries running, {len(self.waiting)} waiting "
                f"(at most {self.queue}); try again shortly"
            )
        if sum(1 for waiting in self.waiting if waiting.client == client) >= self.per_client_queue:
            raise Busy(
                f"you have {self.per_client_queue} queries waiting already (and {self._mine(client)} running); "
                "wait for them before sending more"
            )
        self.waiting.append(ticket)
        self._dispatch()  # others waiting may be held by their client's share, not this one
        return ticket

    def _grant(self, ticket: _Ticket) -> None:
        ticket.started = time.monotonic()
        self.running.append(ticket)
        if not ticket.future.done():
            ticket.future.set_result(None)
        # once it is no longer young, its slot may let a waiting query start
        asyncio.get_running_loop().call_later(self.slow_after + 0.01, self._dispatch)

    def _leave(self, ticket: _Ticket) -> None:
        if ticket in self.running:
            self.running.remove(ticket)
        self._dispatch()

    def _dispatch(self) -> None:
        while self.waiting:
            ready = [ticket for ticket in self.waiting if self._may_start(ticket.client)]
            if not ready:
                return
            best = min(ready, key=lambda ticket: (self._mine(ticket.client), ticket.waited))
            self.waiting.remove(best)
            if best.future.cancelled():
                continue
            self._grant(best)
