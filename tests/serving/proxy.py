"""The TCP proxy that cuts a server off from PostgreSQL: the reliability harness's own.

The reliability run and the HTTP suite stage the same cut, so they share one proxy.
"""

from bench.reliability.harness.proxy import Proxy

__all__ = ["Proxy"]
