"""A TCP proxy on 127.0.0.1 in front of PostgreSQL, cut and restored to stage an outage.

The reliability run and the HTTP suite both take the database away from a real
server this way: nothing of the service is touched, only its network path. (A
restart of the machine's PostgreSQL would also cut every other client of it.)
"""

from __future__ import annotations

import socket
import threading
from contextlib import suppress

from bench.reliability.harness.servers import LOCAL, free_port


class Proxy:
    """A TCP proxy on 127.0.0.1 that can be cut and restored, counting what the cut hit.

    Cut, it drops every established connection and closes each new one as soon as it is
    accepted; the listener stays open throughout. Closing the listener instead does not
    stop a thread blocked in ``accept()`` on Linux: the first reconnect after the cut
    still reached PostgreSQL, and the service went on serving (and storing) through it,
    so the scenario tested nothing. ``dropped`` and ``refused`` let the scenario prove
    the cut reached the service's real connections.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        #: Established connections dropped by :meth:`cut`, and connections refused while cut.
        self.dropped = 0
        self.refused = 0
        #: The most connections passed through at once: what the clients really hold open.
        self.peak = 0
        self._listener: socket.socket | None = None
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        #: Pairs neither end has closed yet (the cut counts ``_pairs``, as it always has).
        self._open: set[tuple[socket.socket, socket.socket]] = set()
        self._cut = False
        self._lock = threading.Lock()

    def open(self) -> None:
        """Pass connections through (listening first, if not yet)."""
        with self._lock:
            self._cut = False
            if self._listener is not None:
                return
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((LOCAL, self.port))
            listener.listen(64)
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Drop every connection and refuse new ones: the database is gone."""
        with self._lock:
            self._cut = True
            doomed = list(self._pairs)
            self._pairs.clear()
            self.dropped += len(doomed)
        for pair in doomed:
            for sock in pair:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        """Cut, and stop listening (``shutdown`` wakes the thread blocked in ``accept``)."""
        self.cut()
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            with suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                refuse = self._cut or self._listener is not listener
                self.refused += refuse
            if refuse:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._cut:  # cut while connecting upstream
                    self.refused += 1
                    client.close()
                    upstream.close()
                    continue
                self._pairs.add((client, upstream))
                self._open.add((client, upstream))
                self.peak = max(self.peak, len(self._open))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @property
    def connections(self) -> int:
        """Connections passing through now (neither end has closed)."""
        with self._lock:
            return len(self._open)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:  # closed by either end (or cut): no longer held open
                self._open.discard((source, sink))
                self._open.discard((sink, source))
            source.close()  # each socket is one pump's source: its descriptor is freed once
