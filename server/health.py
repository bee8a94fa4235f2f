"""GET /healthz: whether this API process can serve, and which dependency is down if not.

    {"status": "ok" | "degraded" | "unavailable",
     "checks": {"database": "ok" | "down: …", "broker": "ok" | "down: …"}}

The database down is HTTP 503 "unavailable": nothing but `submitServiceRequest`'s idempotent
retries could succeed, so load balancers should send callers elsewhere. The broker down is
HTTP 200 "degraded": the API still serves and commits every request; what it could not
enqueue it sends again once the broker answers (and the workers' sweep would anyway), so
taking API processes out of service would only make the outage wider.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from domain.infra.db import outage

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


async def health(request: Request) -> JSONResponse:
    """The checks, for load balancers, Kubernetes probes and people."""
    state = request.app.state
    database, broker = await asyncio.gather(database_check(state.sessions),
                                            asyncio.to_thread(state.background.health))
    checks = {"database": database, "broker": broker}
    if database != "ok":
        return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)
    return JSONResponse({"status": "ok" if broker == "ok" else "degraded", "checks": checks})
