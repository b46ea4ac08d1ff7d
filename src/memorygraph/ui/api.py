"""The JSON API the pages read, under `api/`: each endpoint parses the request, calls
one library operation for the request's principal and returns the operation's own
model (the same shape as the MCP tool's structured content).

    GET  api/session                          who is signed in, with which scopes
    POST api/session            {"token"}     sign in (sets the HttpOnly cookie)
    DELETE api/session                        sign out
    GET  api/search?q=…&limit=&offset=        recall_memories' ranking
    GET  api/memories/{id}?content_offset=    get_memory
    GET  api/memories/{id}/neighbourhood?depth=N
    GET  api/memories/{id}/related?offset=    get_related_memories (one hop, invalidated too)
    GET  api/activity?days=&limit=            get_recent_activity
    GET  api/stats                            get_memory_statistics
    GET  api/migrations                       list_migrations (admin)
    POST api/migrations/{id}/rollback         rollback_migration (admin, every namespace)
    POST api/migrations/{id}/resume           resume_migration (admin, every namespace)

An error is `{"error": {"code", "reason", "field"}}` with the tools' codes and the
matching HTTP status.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from memorygraph.errors import InvalidRecordError, MemoryGraphError
from memorygraph.mcp_server.faults import Code, code_of
from memorygraph.ops import graph
from memorygraph.ops import memories as ops
from memorygraph.ops.migrations import MigrationDesk
from memorygraph.principal import SCOPES, Principal
from memorygraph.ui.session import Access, forget_token, keep_token

log = logging.getLogger("memorygraph.ui")

#: The HTTP status of each error code.
STATUS: dict[Code, int] = {
    "invalid_argument": 400,
    "too_large": 413,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "unavailable": 503,
    "cancelled": 409,
    "failed": 422,
    "internal": 500,
}
#: Bytes of a request body the API reads at most (a token, a confirmation).
MAX_BODY = 16_384


@dataclass(frozen=True)
class Context:
    """What every endpoint needs: the store, the migration desk and the access rule."""

    store: ops.MemoryStore
    desk: MigrationDesk
    access: Access

    def store_for(self, principal: Principal) -> ops.MemoryStore:
        if principal == self.store.principal:
            return self.store
        return self.store.for_principal(principal)


def json_response(data: Any, status: int = 200) -> Response:
    body = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def error_response(code: Code, reason: str, status: int, field: str | None = None) -> Response:
    return json_response({"error": {"code": code, "reason": reason, "field": field}}, status)


def signed_out() -> Response:
    return error_response(
        "forbidden", "sign in with a token first; no valid token came with this request", 401
    )


Endpoint = Callable[[Request, Context, Principal], Awaitable[Any]]


def endpoint(handler: Endpoint, ctx: Context) -> Callable[[Request], Awaitable[Response]]:
    """`handler` as a Starlette endpoint: the principal resolved first (401 without
    one), library errors turned into the API's error shape."""

    async def run(request: Request) -> Response:
        try:
            principal = await ctx.access.principal(request)
            if principal is None:
                return signed_out()
            return json_response(await handler(request, ctx, principal))
        except MemoryGraphError as e:
            code = code_of(e)
            return error_response(code, str(e), STATUS[code], e.field)
        except Exception as e:
            # Named by its kind only, here and in the log: its message may quote the
            # store's data or a token.
            log.error("%s failed unexpectedly: %s", request.url.path, type(e).__name__)
            return error_response(
                "internal", f"the request failed unexpectedly ({type(e).__name__})", 500
            )

    return run


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidRecordError(
            f"{name} must be a whole number, not {raw!r}", field=name
        ) from None


async def _body(request: Request) -> dict[str, Any]:
    """The JSON object a POST carries. Only `application/json` is read: a page of
    another site cannot send that without the browser asking this server first."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise InvalidRecordError("send the request as application/json", field="content-type")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:  # stop reading: the body is refused whatever follows
            raise InvalidRecordError(f"the request body is over {MAX_BODY} bytes", field="body")
    try:
        data = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise InvalidRecordError("the request body is not JSON", field="body") from None
    if not isinstance(data, dict):
        raise InvalidRecordError("the request body must be a JSON object", field="body")
    return data


# --- the session -------------------------------------------------------------------


def who(principal: Principal, access: Access) -> dict[str, Any]:
    return {
        "principal": principal.name,
        "scopes": [s for s in SCOPES if principal.may(s)],
        "namespaces": list(principal.namespaces) if principal.namespaces is not None else None,
        "authenticated": access.authenticated,
    }


async def session(request: Request, ctx: Context, principal: Principal) -> dict[str, Any]:
    return who(principal, ctx.access)


def session_routes(ctx: Context) -> Callable[[Request], Awaitable[Response]]:
    """POST signs in with a token, DELETE signs out, GET says who is signed in."""
    read = endpoint(session, ctx)

    async def run(request: Request) -> Response:
        if request.method == "GET":
            return await read(request)
        if request.method == "DELETE":
            response = json_response({"signed_out": True})
            forget_token(response, request)
            return response
        try:
            token = (await _body(request)).get("token")
        except MemoryGraphError as e:
            return error_response("invalid_argument", str(e), 400, e.field)
        if not ctx.access.authenticated:
            return error_response(
                "invalid_argument", "this server needs no sign-in; open the pages directly", 400
            )
        principal = await ctx.access.sign_in(token) if isinstance(token, str) else None
        if principal is None or not isinstance(token, str):
            log.info("refused a sign-in")
            return error_response(
                "forbidden", "that token is not accepted; check it, or ask for a new one", 401
            )
        response = json_response(who(principal, ctx.access))
        keep_token(response, request, token)
        return response

    return run


# --- memories ---------------------------------------------------------------------------


async def search(request: Request, ctx: Context, principal: Principal) -> BaseModel:
    query = request.query_params.get("q", "")
    if not query.strip():
        raise InvalidRecordError("give words to search for", field="q")
    return await ops.recall_memories(
        ctx.store_for(principal),
        query=query,
        limit=_int(request, "limit", 20),
        offset=_int(request, "offset", 0),
    )


async def memory(request: Request, ctx: Context, principal: Principal) -> BaseModel:
    return await ops.get_memory(
        ctx.store_for(principal),
        memory_id=request.path_params["memory_id"],
        content_offset=_int(request, "content_offset", 0),
    )


async def neighbourhood(request: Request, ctx: Context, principal: Principal) -> BaseModel:
    return await graph.neighbourhood(
        ctx.store_for(principal),
        request.path_params["memory_id"],
        depth=_int(request, "depth", 1),
    )


async def related(request: Request, ctx: Context, principal: Principal) -> BaseModel:
    return await ops.get_related_memories(
        ctx.store_for(principal),
        memory_id=request.path_params["memory_id"],
        include_invalidated=True,
        limit=_int(request, "limit", 50),
        offset=_int(request, "offset", 0),
    )


async def activity(request: Request, ctx: Context, principal: Principal) -> BaseModel:
    return await ops.get_recent_activity(
        ctx.store_for(principal),
        days=_int(request, "days", 30),
        limit=_int(request, "limit", 20),
    )


async def stats(request: Request, ctx: Context, principal: Principal) -> BaseModel:
    return await ops.get_memory_statistics(ctx.store_for(principal))


# --- migrations -------------------------------------------------------------------------


async def migrations(request: Request, ctx: Context, principal: Principal) -> BaseModel:
    return ctx.desk.list(principal)


async def rollback(request: Request, ctx: Context, principal: Principal) -> BaseModel:
    await _confirmed(request, "a rollback deletes what the migration wrote")
    return await ctx.desk.rollback(request.path_params["migration_id"], principal=principal)


async def resume(request: Request, ctx: Context, principal: Principal) -> BaseModel:
    await _confirmed(request, "a resume writes the rest of the migration into its target")
    return await ctx.desk.resume(request.path_params["migration_id"], principal=principal)


async def _confirmed(request: Request, why: str) -> None:
    body = await _body(request)
    if body.get("confirm") is not True:
        raise InvalidRecordError(f'send {{"confirm": true}}: {why}', field="confirm")
