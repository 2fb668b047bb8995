"""Defence in depth behind the guard: should an engine still try to reach
the network or a file during a query, it cannot.

- :func:`rdflib_services` (in every process): rdflib's SERVICE evaluation
  refuses an endpoint that is not allowed for the query being run (a
  ``CUSTOM_EVALS`` hook, the extension point rdflib calls for every algebra
  node), and rdflib's graph loading (``SPARQL_LOAD_GRAPHS``: ``FROM`` read
  with ``Graph.parse``) is off.
- :func:`confine` (in a query worker, once, right after it is forked):
  a Python audit hook refuses ``socket.connect`` (and ``sendto``) to any
  address but the allowed endpoints', and ``open`` of any file outside
  Python's own installation and ipgraph's package; and, when the worker is for
  queries that call no endpoint at all, a seccomp filter makes the kernel
  refuse to create any socket but a Unix one (``socket(2)`` fails with
  EPERM), which holds for Oxigraph's Rust code too, which no audit hook sees.
  Linux on x86-64 and arm64 only; elsewhere the audit hook alone.

Example:
    >>> with rdflib_services(()):
    ...     import rdflib
    ...     rdflib.Graph().query("SELECT * WHERE { SERVICE <urn:x> { ?s ?p ?o } }")
    Traceback (most recent call last):
    ...
    ipgraph.errors.QueryRefused: SERVICE <urn:x> is not allowed in this query (refused by rdflib's SERVICE hook)
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import os
import platform
import socket
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import rdflib.plugins.sparql as rdflib_sparql

from ipgraph.errors import QueryRefused

__all__ = ["confine", "confined", "rdflib_services"]

_ALLOWED: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("ipgraph_allowed_services", default=())
_STATE = {"confined": None}


def _service_guard(ctx, part):
    """rdflib ``CUSTOM_EVALS`` hook: handles only SERVICE nodes it refuses."""
    if part.name != "ServiceGraphPattern":
        raise NotImplementedError
    from ipgraph.store.guard import RDFLIB_SERVICE_CALL

    allowed = _ALLOWED.get()
    match = RDFLIB_SERVICE_CALL.match(str(part["service_string"]) if "service_string" in part else "")
    endpoints = {str(part["term"]) if "term" in part else ""} | ({match[1]} if match else set())
    refused = sorted(endpoint for endpoint in endpoints if endpoint not in allowed)
    if refused:
        raise QueryRefused(f"SERVICE <{refused[0]}> is not allowed in this query (refused by rdflib's SERVICE hook)")
    raise NotImplementedError  # allowed: rdflib's own evaluation calls it


def _install_rdflib_hooks() -> None:
    rdflib_sparql.SPARQL_LOAD_GRAPHS = False
    rdflib_sparql.CUSTOM_EVALS["ipgraph-service-guard"] = _service_guard


@contextlib.contextmanager
def rdflib_services(allowed: tuple[str, ...]) -> Iterator[None]:
    """Let rdflib call only the ``allowed`` SERVICE endpoints while inside."""
    _install_rdflib_hooks()
    token = _ALLOWED.set(tuple(allowed))
    try:
        yield
    finally:
        _ALLOWED.reset(token)


# --- the worker's confinement -------------------------------------------------


def _roots() -> tuple[str, ...]:
    """Folders a worker may read files from: Python's and ipgraph's own code."""
    import sysconfig

    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    folders |= {path for path in sysconfig.get_paths().values() if path}
    folders.add(str(Path(__file__).resolve().parents[1]))  # the ipgraph package
    folders |= {path for path in sys.path if path and Path(path).is_dir()}
    return tuple(sorted(os.path.join(os.path.realpath(folder), "") for folder in folders))


def _addresses(endpoints: tuple[str, ...]) -> set[tuple[str, int]]:
    addresses = set()
    for endpoint in endpoints:
        parts = urlsplit(endpoint)
        if not parts.hostname:
            continue
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with contextlib.suppress(OSError):
            for *_, address in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM):
                addresses.add((address[0], address[1]))
    return addresses


def confine(allowed: tuple[str, ...] = ()) -> dict[str, bool]:
    """Confine this process (a freshly forked query worker) for good: it may
    connect only to the ``allowed`` endpoints and read only code files.
    Returns which layers are in force (``audit``, ``seccomp``)."""
    _install_rdflib_hooks()
    _ALLOWED.set(tuple(allowed))
    roots = _roots()
    addresses = _addresses(allowed)

    def hook(event: str, args: tuple) -> None:
        if event in ("socket.connect", "socket.sendto"):
            address = args[1]
            if isinstance(address, tuple) and (str(address[0]), int(address[1])) in addresses:
                return
            raise PermissionError(f"ipgraph query worker: no connection to {address!r}")
        if event == "open":
            path = args[0]
            if isinstance(path, int):
                return
            name = os.path.realpath(os.fsdecode(path))
            if name == os.devnull or name.startswith(roots):
                return
            raise PermissionError(f"ipgraph query worker: no file access to {name!r}")

    sys.addaudithook(hook)
    seccomp = not allowed and _deny_sockets()
    _STATE["confined"] = {"audit": True, "seccomp": seccomp}
    return _STATE["confined"]


def confined() -> dict[str, bool] | None:
    """The layers :func:`confine` put in force in this process, or ``None``."""
    return _STATE["confined"]


# seccomp-bpf: socket(domain, ...) fails with EPERM unless domain is AF_UNIX.
_ARCHES = {  # machine: (AUDIT_ARCH_*, socket syscall numbers)
    "x86_64": (0xC000003E, (41, 41 | 0x40000000)),  # and its x32 variant
    "aarch64": (0xC00000B7, (198, 198)),
}


def _deny_sockets() -> bool:
    arch = _ARCHES.get(platform.machine())
    if arch is None or not sys.platform.startswith("linux"):
        return False
    audit_arch, (nr_socket, nr_socket_x32) = arch
    ld_abs, jeq, ret = 0x20, 0x15, 0x06
    allow, deny = 0x7FFF0000, 0x00050000 | 1  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
    program = [
        (ld_abs, 0, 0, 4),  # 0: seccomp_data.arch
        (jeq, 0, 5, audit_arch),  # 1: another ABI (int 0x80 from a 64-bit process) -> 7 (deny)
        (ld_abs, 0, 0, 0),  # 2: seccomp_data.nr
        (jeq, 1, 0, nr_socket),  # 3: socket -> 5
        (jeq, 0, 3, nr_socket_x32),  # 4: not socket -> 8 (allow)
        (ld_abs, 0, 0, 16),  # 5: args[0], the domain
        (jeq, 1, 0, socket.AF_UNIX),  # 6: AF_UNIX -> 8 (allow)
        (ret, 0, 0, deny),  # 7
        (ret, 0, 0, allow),  # 8
    ]
    filters = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(filters, len(filters))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(program), ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(fprog), 0, 0) == 0
