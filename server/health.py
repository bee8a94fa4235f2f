"""GET /healthz: whether this API process can serve, and which dependency is down if not.

    {"status": "ok" | "degraded" | "unavailable",
     "checks": {"database": "ok" | "down: …", "broker": "ok" | "down: …",
                "replica": "ok, 0.02 s behind" | "ok, not in recovery" | "down: …"}}

(`replica` only when DATABASE_REPLICA_URL is set; "not in recovery" when that address now
leads to a primary, e.g. a replica promoted by a fail-over.)

The database down is HTTP 503 "unavailable": nothing but `submitServiceRequest`'s idempotent
retries could succeed, so load balancers should send callers elsewhere. The broker down is
HTTP 200 "degraded": the API still serves and commits every request; what it could not
enqueue it sends again once the broker answers (and the workers' sweep would anyway), so
taking API processes out of service would only make the outage wider. The replica down is
"degraded" too: writes and the primary's reads go on; the lag-tolerant reads fail (503 with
Retry-After) until it answers again or DATABASE_REPLICA_URL leads elsewhere.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from domain.infra.db import outage
from domain.infra.replica import LAG_SQL

#: How long the database may take to answer `SELECT 1`.
DATABASE_TIMEOUT_SECONDS = 3.0


async def database_check(sessions: Any) -> str:
    """"ok" once the database answers `SELECT 1`, else "down: " and why."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS), sessions() as session:
            await session.execute(text("SELECT 1"))
    except TimeoutError:
        return f"down: no answer within {DATABASE_TIMEOUT_SECONDS:g} s"
    except Exception as exc:
        return f"down: {outage(exc) or type(exc).__name__}"
    return "ok"


async def replica_check(sessions: Any) -> str:
    """"ok, N s behind" (since its last replayed transaction: on a quiet primary that grows
    though nothing is missing), "ok, not in recovery", or "down: " and why."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS), sessions() as session:
            recovering, behind = (await session.execute(text(LAG_SQL))).one()
    except TimeoutError:
        return f"down: no answer within {DATABASE_TIMEOUT_SECONDS:g} s"
    except Exception as exc:
        return f"down: {outage(exc) or type(exc).__name__}"
    if not recovering:
        return "ok, not in recovery"
    return "ok" if behind is None else f"ok, {behind:.2f} s behind"


async def _no_check() -> str:
    return "ok"


async def health(request: Request) -> JSONResponse:
    """The checks, for load balancers, Kubernetes probes and people."""
    state = request.app.state
    replica = getattr(state, "replica", None)
    database, broker, replicated = await asyncio.gather(
        database_check(state.sessions), asyncio.to_thread(state.background.health),
        replica_check(replica.sessions) if replica else _no_check())
    checks = {"database": database, "broker": broker}
    if replica:
        checks["replica"] = replicated
    if database != "ok":
        return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)
    healthy = broker == "ok" and replicated.startswith("ok")
    return JSONResponse({"status": "ok" if healthy else "degraded", "checks": checks})
