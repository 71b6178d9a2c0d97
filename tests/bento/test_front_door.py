"""bento/front_door.py as an ASGI middleware around a small echo app (the ways a body can
arrive that a test client cannot send): a body shorter than its Content-Length is answered
400 after the body timeout, a streamed body is cut off at the limit with 413 without
reading the rest, a good body reaches the app byte for byte, and 4xx bodies of the app are
reshaped (BentoML's pydantic details and its one-element list) into the one error shape."""

import asyncio
import json

from bento.front_door import FrontDoor, _from_bentoml


async def echo(scope, receive, send):
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def call(door, chunks, headers, stall=False):
    """Drive `door` with body `chunks`; `stall`: the client never sends the rest."""
    sent: list[dict] = []
    reads = 0

    async def receive():
        nonlocal reads
        if reads < len(chunks):
            reads += 1
            return {
                "type": "http.request",
                "body": chunks[reads - 1],
                "more_body": reads < len(chunks) or stall,
            }
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/classify",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(door(scope, receive, send))
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return status, body, reads


JSON = {"content-type": "application/json"}


def test_a_truncated_body_is_a_400_after_the_timeout():
    door = FrontDoor(echo, body_timeout=0.2)
    status, body, _ = call(door, [b'{"texts": '], {**JSON, "content-length": "40"}, stall=True)
    assert status == 400
    assert "incomplete after 0.2 s (10 of 40 bytes)" in json.loads(body)["error"]


def test_a_streamed_body_stops_at_the_limit():
    door = FrontDoor(echo, max_body_bytes=100)
    chunks = [b"x" * 60] * 10
    status, body, reads = call(door, chunks, JSON)
    assert status == 413 and json.loads(body)["status"] == 413
    assert reads == 2  # refused at the chunk that passed the limit, the rest never read


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    door = FrontDoor(echo, max_body_bytes=100)
    status, _, reads = call(door, [b"{}"], {**JSON, "content-length": "5000"})
    assert status == 413 and reads == 0


def test_a_good_body_reaches_the_app_unchanged():
    door = FrontDoor(echo)
    payload = json.dumps({"texts": ["caf\u00e9"]}).encode()
    status, body, _ = call(door, [payload[:5], payload[5:]], JSON)
    assert status == 200 and body == payload


def test_bentoml_error_bodies_are_reshaped():
    pydantic = {
        "error": "1 validation error for Input",
        "detail": [
            {
                "type": "bool_type",
                "loc": ["return_probabilities"],
                "msg": "Input should be a valid boolean",
            }
        ],
    }
    shaped = _from_bentoml(400, pydantic)
    assert shaped == {
        "error": "return_probabilities: Input should be a valid boolean",
        "status": 400,
        "field": "return_probabilities",
        "reason": "Input should be a valid boolean",
    }
    assert _from_bentoml(404, [{"error": "not found"}])["error"] == "not found"
