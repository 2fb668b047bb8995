"""Query worker processes: forked once from a fork server, reused, killed on
timeout, confined (:mod:`ipgraph.store.sandbox`).

Neither engine can be interrupted from Python once it is inside a join, so
a query with a timeout runs in another process that is killed (SIGKILL)
when the timeout passes. See the comment below for how and why.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import pickle
import select
import signal
import socket
import stat
import struct
import threading
import time
import weakref
from typing import TYPE_CHECKING

from ipgraph.errors import IpgraphError, QueryError, QueryTimeout, QueryTooLarge
from ipgraph.store import sandbox
from ipgraph.store.guard import check_query, query_error

if TYPE_CHECKING:
    from ipgraph.store.base import QueryDataset, Store

__all__ = ["pool", "run_in_worker"]

# Worker processes: forked once from a fork server, reused, killed on timeout
# ---------------------------------------------------------------------------
#
# Neither engine can be interrupted from Python once it is inside a join, so
# a query with a timeout runs in another process that is killed (SIGKILL)
# when the timeout passes. Forking a large process per query costs ~10 ms
# and slows the query itself (copy-on-write faults), so each store has a
# pool of workers that are reused:
#
# - a *fork server*, forked from the process when the store is opened
#   (:func:`open_store`, before a server starts its threads), holds a
#   snapshot of the loaded store and forks the workers. It has one thread, so
#   forking it is safe even when the parent has started threads (``serve``
#   runs queries from anyio worker threads; forking a process whose other
#   threads hold locks can leave the child waiting on them forever). A store
#   is read-only once loaded (an on-disk Oxigraph store is reopened
#   read-only, so RocksDB has no background work at a fork either); changes
#   made to it afterwards by hand are not seen by queries with a timeout
#   (``load`` restarts the fork server). A store not opened by
#   :func:`open_store` starts its fork server at its first such query, from
#   whatever thread runs it. The fork server closes the pipes and sockets it
#   inherited (:func:`_detach`), so that it keeps none of the parent's open;
# - a worker answers queries one at a time over a socket pair, streaming the
#   results as frames; past the row limit it stops the query itself (the
#   writer raises, Oxigraph stops evaluating) and stays usable;
# - on a timeout the worker is killed and reaped before ``execute`` returns;
#   the next query gets a new worker from the fork server. A worker also
#   kills itself (SIGALRM, default action) a little after its timeout, in
#   case the caller has died; workers and fork server exit when their
#   socket closes (the store is garbage-collected or the process exits);
# - a worker is confined at birth (sandbox.confine): for queries that call no
#   SERVICE it cannot create an internet socket at all, for queries that call
#   allow-listed endpoints it can connect only to them; it reads no file but
#   code. Idle workers are kept per confinement ("policy": the endpoints
#   allowed) and reused only for queries with the same one;
# - the parent reads at most ``max_bytes`` of results: past that it kills the
#   worker (which stops itself there too) and raises QueryTooLarge;
# - a query that runs longer than _SLOW_AFTER is a long one: its worker is
#   niced (setpriority), so that short queries running beside it get the CPU
#   first, and it is not reused afterwards (a process cannot be un-niced
#   without privilege).

_FRAME = struct.Struct("!cI")  # kind (b"D" data, b"E" end, b"X" error), payload length
_GRACE = 2.0  # seconds past its timeout after which a worker stops itself
_MAX_IDLE = 8  # idle workers kept per store
_MAX_USES = 1000  # queries a worker answers before it is replaced (bounds its memory growth)
_SLOW_AFTER = 1.0  # seconds after which a query is a long one: its worker is niced (and not reused)
_NICE = 10  # the niceness of a long query's worker: CPU goes to the short queries first


class _Enough(Exception):
    """Raised by the worker's writer once the row limit is reached: stops the query."""


def too_large(max_bytes: int) -> QueryTooLarge:
    return QueryTooLarge(
        f"the result is larger than {max_bytes:,} bytes and was stopped (ask for fewer rows or shorter values, "
        "or raise the limit with --max-bytes)"
    )


class _FrameWriter(io.RawIOBase):
    """The worker's output: data frames on the socket, cut after the row limit.

    The first write starts with the payload-format line (``tsv``, ``nt``,
    ``json``); the first is followed by the header line. Streamed formats
    are cut after ``limit + 1`` rows (one more, so that the reader knows
    the result was cut), raising :class:`_Enough`; later writes are dropped.
    """

    def __init__(self, sock: socket.socket, limit: int | None, max_bytes: int | None = None) -> None:
        self.sock, self.limit, self.max_bytes = sock, limit, max_bytes
        self.lines, self.enough, self.done, self.size = 0, None, False, 0
        self.pending = b""  # the last chunk, sent with the next one or with the end frame

    def send(self, data: bytes = b"", end: bytes | None = None) -> None:
        """Send the pending chunk, keep ``data`` pending; with ``end`` (the
        final frame), send everything."""
        frames = self.pending
        if end is not None:
            frames += (_FRAME.pack(b"D", len(data)) + data if data else b"") + end
            data = b""
        self.pending = _FRAME.pack(b"D", len(data)) + data if data else b""
        if frames:
            self.sock.sendall(frames)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        size = len(data)
        if self.done:
            return size
        data = bytes(data)
        self.size += size
        if self.max_bytes is not None and self.size > self.max_bytes:
            self.done = True
            raise too_large(self.max_bytes)
        if self.limit is not None:
            if self.enough is None:
                head = data.partition(b"\n")[0]
                self.enough = {b"tsv": self.limit + 3, b"nt": self.limit + 2}.get(head, 0)
            if self.enough:
                lines = data.count(b"\n")
                if self.lines + lines >= self.enough:
                    self.send(data[: _nth_newline(data, self.enough - self.lines) + 1])
                    self.done = True
                    raise _Enough
                self.lines += lines
        self.send(data)
        return size


def _detach(keep: socket.socket) -> None:
    """In the freshly forked fork server: let go of what belongs to the parent.

    It would otherwise hold, for as long as it lives, every pipe and socket
    the parent had open (a driver's stdin, a server's listening socket,
    another store's worker sockets), and their readers would never see
    end-of-file. Regular files stay open: an on-disk store needs its own.
    Objects inherited from the parent are frozen (``gc.freeze``), so that no
    finalizer of theirs closes a descriptor number that is reused here.
    """
    gc.freeze()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 4096))
    for fd in fds:
        if fd <= 2 or fd == keep.fileno():
            continue
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            os.close(fd)


def _receive_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _worker_main(store: Store, sock: socket.socket, policy: tuple[str, ...]) -> None:
    """A worker: confine itself, answer requests from ``sock`` until it closes, then exit."""
    status = 0
    try:
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
        sandbox.confine(policy)
        while True:
            size = _receive_exactly(sock, 4)
            if size is None:
                break
            request = _receive_exactly(sock, struct.unpack("!I", size)[0])
            if request is None:
                break
            text, bindings, limit, dataset, timeout, max_bytes = pickle.loads(request)  # noqa: S301 - our parent's
            signal.setitimer(signal.ITIMER_REAL, timeout + _GRACE)  # SIGALRM's default action ends the process
            raw = _FrameWriter(sock, limit, max_bytes)
            out = io.BufferedWriter(raw, buffer_size=1 << 16)
            kind, body = b"E", b""
            try:
                # the worker reads the query again, with the guard (the same parse as
                # the parent's), and runs what it read under its own confinement
                checked = check_query(text, policy, dataset.base)
                store._evaluate(checked, bindings, out, limit, dataset)
                out.flush()
            except _Enough:
                pass
            except Exception as error:
                try:
                    body = pickle.dumps(query_error(error))
                except Exception:
                    body = pickle.dumps(QueryError(f"the query failed: {error}"))
                kind = b"X"
            raw.done = True
            signal.setitimer(signal.ITIMER_REAL, 0)
            if kind == b"X":
                raw.pending = b""
            raw.send(end=_FRAME.pack(kind, len(body)) + body)
    except BaseException:
        status = 1
    finally:
        os._exit(status)


def _fork_server_main(store: Store, control: socket.socket) -> None:
    """The fork server: for each socket the parent sends, fork a worker on it."""
    status = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the workers
        while True:
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 1)
            if not message or not fds:
                break
            policy = tuple(pickle.loads(message))  # noqa: S301 - from our own parent
            pid = os.fork()
            if pid == 0:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _worker_main(store, socket.socket(fileno=fds[0]), policy)
            os.close(fds[0])
            control.sendall(struct.pack("!i", pid))
        with contextlib.suppress(ChildProcessError):
            os.wait()  # with SIGCHLD ignored: returns once every worker has ended
    except BaseException:
        status = 1
    finally:
        os._exit(status)


class _Worker:
    """The parent's handle on a worker process."""

    def __init__(self, sock: socket.socket, pid: int, policy: tuple[str, ...] = ()) -> None:
        self.sock, self.pid, self.uses, self.closed, self.policy = sock, pid, 0, False, policy
        self.niced = False
        self.view = memoryview(bytearray(1 << 20))  # receive buffer, reused
        try:
            self.pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.pidfd = None

    def close(self) -> None:
        """Let the worker go: it exits when it reads the end of its socket."""
        self.closed = True
        self.sock.close()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None

    def kill(self) -> None:
        """Kill the worker and wait (up to 5 s) until it is gone."""
        if self.closed:
            return
        try:
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
                select.select([self.pidfd], [], [], 5.0)  # readable once the process has ended
            else:
                os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, OSError):
            pass
        self.close()

    def run(self, request: bytes, timeout: float, max_bytes: int | None = None) -> bytes:
        """Send a request and collect the payload; raise the query's error,
        :class:`QueryTimeout` or :class:`QueryTooLarge` (the worker is then
        killed by the caller)."""
        self.uses += 1
        self.sock.sendall(struct.pack("!I", len(request)) + request)
        started = time.monotonic()
        deadline = started + timeout
        chunks: list[bytearray] = []
        buffer = bytearray()
        received_bytes = 0
        view = self.view
        fd = self.sock.fileno()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QueryTimeout(f"the query ran longer than {timeout:g} s and was stopped (raise it with --timeout)")
            if not self.niced:
                left = min(left, max(0.0, started + _SLOW_AFTER - time.monotonic()))
            ready, _, _ = select.select([fd], [], [], left)
            if not self.niced and time.monotonic() - started >= _SLOW_AFTER:
                self.niced = True
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, self.pid, _NICE)
            if not ready:
                continue
            received = self.sock.recv_into(view)
            if not received:
                raise QueryError("the query process ended abnormally (out of memory?)")
            received_bytes += received
            if max_bytes is not None and received_bytes > max_bytes + (1 << 16):  # frames and the error frame
                raise too_large(max_bytes)
            buffer += view[:received]
            position = 0
            while len(buffer) - position >= _FRAME.size:
                kind, size = _FRAME.unpack_from(buffer, position)
                start = position + _FRAME.size
                if len(buffer) - start < size:
                    break
                payload = buffer[start : start + size]
                position = start + size
                if kind == b"D":
                    chunks.append(payload)
                elif kind == b"X":
                    raise pickle.loads(bytes(payload))  # noqa: S301 - written by our own worker
                else:
                    return b"".join(chunks)
            del buffer[:position]


class _Pool:
    """A store's fork server and its idle workers (parent side)."""

    def __init__(self, store: Store) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Worker] = []
        self.busy: set[_Worker] = set()
        self.closed = False
        control, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            _detach(theirs)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _fork_server_main(store, theirs)
        theirs.close()
        self.control, self.pid = control, pid

    def acquire(self, policy: tuple[str, ...] = ()) -> _Worker:
        """An idle worker confined to ``policy`` (the endpoints it may call), or a new one."""
        with self.lock:
            if self.closed:
                raise QueryError("the store's worker processes have been shut down")
            fitting = [worker for worker in self.idle if worker.policy == policy]
            if fitting:
                worker = fitting[-1]
                self.idle.remove(worker)
            else:
                mine, theirs = socket.socketpair()
                try:
                    socket.send_fds(self.control, [pickle.dumps(policy)], [theirs.fileno()])
                    answer = _receive_exactly(self.control, 4)
                except OSError:
                    answer = None
                finally:
                    theirs.close()
                if answer is None:
                    mine.close()
                    self.closed = True  # the next query starts a new fork server
                    raise QueryError("the query process server has ended (out of memory?); try again")
                mine.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
                worker = _Worker(mine, struct.unpack("!i", answer)[0], policy)
            self.busy.add(worker)
            return worker

    def release(self, worker: _Worker, healthy: bool) -> None:
        with self.lock:
            self.busy.discard(worker)
            keep = healthy and not self.closed and worker.uses < _MAX_USES and not worker.niced
            if keep:
                self.idle.append(worker)
                if len(self.idle) > _MAX_IDLE:
                    self.idle.pop(0).close()  # the least recently used
        if not healthy:
            worker.kill()
        elif not keep:
            worker.close()

    def close(self) -> None:
        """Stop the fork server and its workers, busy ones included."""
        with self.lock:
            idle, self.idle = self.idle, []
            busy, self.busy = self.busy, set()
            self.closed = True
        for worker in idle:
            worker.close()
        for worker in busy:
            worker.kill()
        with contextlib.suppress(OSError):
            self.control.close()
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(self.pid, 0)  # it exits once its workers have (at once when idle)


_POOLS_LOCK = threading.Lock()


def pool(store: Store) -> _Pool:
    """The store's pool of workers, started (its fork server forked) on first use."""
    found = store.__dict__.get("_pool")
    if found is None or found.closed:
        with _POOLS_LOCK:
            found = store.__dict__.get("_pool")
            if found is None or found.closed:
                found = _Pool(store)
                store._pool = found
                weakref.finalize(store, found.close)
    return found


def run_in_worker(
    store: Store,
    query: str,
    bindings: dict,
    timeout: float,
    limit: int | None,
    dataset: QueryDataset,
    allow_services: tuple[str, ...] = (),
    max_bytes: int | None = None,
) -> bytes:
    """Run ``query`` (already checked by the caller) in one of the store's workers;
    the payload as :meth:`Store._evaluate` writes it."""
    workers = pool(store)
    request = pickle.dumps((query, bindings, limit, dataset, timeout, max_bytes))
    worker = workers.acquire(tuple(sorted(set(allow_services))))
    healthy = False
    try:
        payload = worker.run(request, timeout, max_bytes)
        healthy = True
        return payload
    except IpgraphError as error:
        healthy = not isinstance(error, QueryTimeout | QueryTooLarge) and "abnormally" not in str(error)
        raise
    finally:
        workers.release(worker, healthy)


def _nth_newline(data: bytes, n: int) -> int:
    position = -1
    for _ in range(n):
        position = data.index(b"\n", position + 1)
    return position
