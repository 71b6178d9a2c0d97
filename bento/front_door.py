"""The service's front door: what a request must be before any handler sees it, one error
shape for every refusal, and the OpenAPI document at /docs.

An ASGI middleware (installed on the BentoML service, so it runs under `bentoml serve` and
under `to_asgi()` alike). For a POST to one of our JSON routes it:
- refuses a content type other than application/json (415);
- refuses a declared Content-Length over the body limit before reading a byte (413), and a
  streamed body as soon as it passes the limit (413);
- answers a body shorter than its Content-Length with 400 after `body_timeout` seconds
  instead of holding the connection (and never counts it as a server error);
- parses the JSON itself (an optional UTF-8 BOM is ignored, as RFC 8259 allows), so a broken
  body gets a message that says where, and a non-object body is refused;
then hands the buffered body on. Any 4xx the handlers or BentoML produce is rewritten into
`{"error", "status", "field", "reason"}`; BentoML's pydantic dumps never reach a client.

`quiet_client_errors` turns BentoML's ERROR-with-traceback log of every refused request into
one WARNING line: a client's mistake is not a server fault.
"""

import asyncio
import json
import logging
from collections.abc import Callable
from importlib import metadata
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bento.settings import ServiceSettings
from data.length import LengthPolicy

log = logging.getLogger(__name__)

BODY_TIMEOUT_S = 10.0
JSON_ROUTES = ("/classify", "/feedback", "/admin/state", "/admin/routing", "/admin/load")
ERROR_STATUSES = {
    400: "Malformed body or a field that breaks the schema (see `field`, `reason`)",
    401: "Admin route without a bearer token",
    403: "Wrong admin token",
    404: "Unknown request id / model version, or admin disabled",
    409: "Conflicts with the current state (e.g. feedback that contradicts earlier feedback)",
    413: "Body over the size limit",
    415: "Content-Type is not application/json",
    422: "Well-formed, but not acceptable for this model (e.g. an unknown label)",
    503: "No champion loaded yet, or overloaded: retry after `Retry-After` seconds",
}


def error_body(
    status: int, message: str, field: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    """The one error shape of the service."""
    return {"error": message, "status": status, "field": field, "reason": reason or message}


def _from_bentoml(status: int, raw: Any) -> dict[str, Any]:
    """Reshape a BentoML error body (pydantic details, or a one-element list) into ours."""
    if isinstance(raw, list) and len(raw) == 1:  # BentoML 1.4.40 wraps str(exc) in a tuple
        raw = raw[0]
    if not isinstance(raw, dict):
        return error_body(status, str(raw))
    if {"status", "field", "reason"} <= raw.keys():
        return raw  # ours already
    details = raw.get("detail")
    if isinstance(details, list) and details and isinstance(details[0], dict):
        first = details[0]
        field = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body",)) or None
        reason = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
        return error_body(status, f"{field}: {reason}{more}" if field else reason, field, reason)
    return error_body(status, str(raw.get("error", raw)))


class FrontDoor:
    def __init__(
        self,
        app: ASGIApp,
        spec: Callable[[], dict[str, Any]] | None = None,
        max_body_bytes: int | None = None,
        body_timeout: float = BODY_TIMEOUT_S,
    ) -> None:
        self.app = app
        self.spec = spec
        settings = ServiceSettings()  # built by BentoML beside the service: its own read
        self.max_body_bytes = max_body_bytes or settings.max_body_bytes
        self.length = settings.length
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == "/openapi.json" and self.spec is not None:
            await _send_json(send, 200, openapi(self.spec(), self.max_body_bytes, self.length))
            return
        if path == "/docs":
            await _send(send, 200, DOCS_HTML.encode(), "text/html; charset=utf-8")
            return
        if path not in JSON_ROUTES or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body, refusal = await self._checked_body(scope, receive)
        if refusal is not None:
            status, message, field = refusal
            log.warning("%s %s refused: %d %s", "POST", path, status, message)
            await _send_json(send, status, error_body(status, message, field))
            return
        await self.app(scope, _replay(body), _reshaping(send))

    async def _checked_body(
        self, scope: Scope, receive: Receive
    ) -> tuple[bytes, tuple[int, str, str | None] | None]:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            got = media or "no Content-Type"
            return b"", (415, f"send Content-Type: application/json (got {got})", None)
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                return b"", (400, f"Content-Length {declared!r} is not a number", None)
            if int(declared) > self.max_body_bytes:
                return b"", (413, self._too_big(int(declared)), None)
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), timeout=self.body_timeout)
            except TimeoutError:
                got = f"{size} of {declared} bytes" if declared else f"{size} bytes"
                return b"", (400, f"body incomplete after {self.body_timeout:g} s ({got})", None)
            if message["type"] == "http.disconnect":
                return b"", (400, "client disconnected before the body was complete", None)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return b"", (413, self._too_big(size), None)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks).removeprefix(b"\xef\xbb\xbf")
        try:
            parsed = json.loads(body)
        except UnicodeDecodeError as exc:
            return b"", (400, f"body is not UTF-8 (byte {exc.start})", None)
        except json.JSONDecodeError as exc:
            return b"", (
                400,
                f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                None,
            )
        if not isinstance(parsed, dict):
            return b"", (400, f"body must be a JSON object, not {type(parsed).__name__}", None)
        return body, None

    def _too_big(self, size: int) -> str:
        return f"body of {size} bytes is over the limit of {self.max_body_bytes} bytes"


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _reshaping(send: Send) -> Send:
    """A send that rewrites 4xx JSON bodies into the one error shape."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def wrapped(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start" and 400 <= message["status"] < 500:
            start = message
            return
        if start is None:
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        status = start["status"]
        try:
            reshaped = _from_bentoml(status, json.loads(b"".join(chunks) or b"null"))
        except json.JSONDecodeError:
            reshaped = error_body(status, b"".join(chunks).decode("utf-8", "replace"))
        body = json.dumps(reshaped).encode()
        headers = [
            (k, v)
            for k, v in start.get("headers", [])
            if k.lower() not in (b"content-length", b"content-type")
        ]
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return wrapped


async def _send(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    await _send(send, status, json.dumps(payload).encode(), "application/json")


def project_version() -> str:
    try:
        return metadata.version("driftwise")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def openapi(spec: dict[str, Any], max_body_bytes: int, length: LengthPolicy) -> dict[str, Any]:
    """BentoML's generated spec with our title, version, limits and error responses."""
    from bento.schemas import MAX_TEXT_CHARS, MAX_TEXTS

    spec = json.loads(json.dumps(spec))  # a copy we may change
    spec["info"] = {
        "title": "Driftwise",
        "version": project_version(),
        "description": (
            "Text classification with canary routing, a cheap-model-first cascade and a "
            f"prediction cache. Limits: body <= {max_body_bytes} bytes, Content-Type "
            f"application/json, 1-{MAX_TEXTS} texts per request, each with at least one "
            f"visible character and <= {length.max_chars} characters ({length.long_text}: "
            + (
                "longer texts are scored on their first characters"
                if length.long_text == "truncate"
                else "longer texts are refused"
            )
            + f"; hard cap {MAX_TEXT_CHARS}). Every error is "
            '`{"error", "status", "field", "reason"}`.'
        ),
    }
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = {
        "type": "object",
        "required": ["error", "status", "reason"],
        "properties": {
            "error": {"type": "string"},
            "status": {"type": "integer"},
            "field": {"type": ["string", "null"]},
            "reason": {"type": "string"},
        },
    }
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for route in JSON_ROUTES:
        post = spec.get("paths", {}).get(route, {}).get("post")
        if post is None:
            continue
        responses = post.setdefault("responses", {})
        for status, text in ERROR_STATUSES.items():
            if route == "/classify" and status in (401, 403, 409):
                continue
            responses[str(status)] = {"description": text, "content": error}
    return spec


class _ClientErrorsOneLine(logging.Filter):
    """BentoML logs every refused request as ERROR with a traceback; a 4xx is one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            code = getattr(getattr(exc, "error_code", None), "value", None)
            if type(exc).__name__ == "ValidationError" or (code is not None and code < 500):
                record.msg = f"{record.getMessage()}: client error: {str(exc).splitlines()[0]}"
                record.args = ()
                record.exc_info = None
                record.exc_text = None
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_client_errors() -> None:
    logger = logging.getLogger("bentoml._internal.server.http_app")
    if not any(isinstance(f, _ClientErrorsOneLine) for f in logger.filters):
        logger.addFilter(_ClientErrorsOneLine())


# Swagger UI from the files BentoML ships (no CDN, no tag manager: the service is offline).
DOCS_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8"><title>Driftwise API</title>
<link rel="stylesheet" type="text/css" href="./static_content/swagger-ui.css" /></head>
<body><div id="swagger-ui"></div>
<script src="./static_content/swagger-ui-bundle.js" charset="UTF-8"></script>
<script>window.ui = SwaggerUIBundle({url: "./openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>
"""
