"""The HTTP contract of bento/service.py through BentoML's own ASGI app (`to_asgi()`: the
real request parsing, validation and error mapping; the worker runs in-process, so no
batching) on the real TREC models of tests/bento/conftest.py. Checks a hostile request
corpus (all 4xx, never 5xx), admin auth, live routing changes, feedback. (/metrics is only
served by a real `bentoml serve`: tests/bento/test_serve_process.py.)"""

import json
import time

import pytest
from starlette.testclient import TestClient

from bento.schemas import MAX_TEXT_CHARS, MAX_TEXTS
from bento.state import ServingState, read_state, write_state

TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(served, tmp_path_factory: pytest.TempPathFactory):
    """One app for the module: BentoML registers its Prometheus metrics once per process.
    Tests that change routing or models come last in the file."""
    from bento.service import Driftwise

    home = tmp_path_factory.mktemp("http") / "home"
    write_state(home, ServingState(champion=served.tags["1"]))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DRIFTWISE_HOME", str(home))
        mp.setenv("DRIFTWISE_ADMIN_TOKEN", TOKEN)
        mp.setenv("DRIFTWISE_LOG_RATE", "1.0")
        with TestClient(Driftwise.to_asgi()) as c:
            c.home = home  # type: ignore[attr-defined]
            yield c


HOSTILE = [
    ("invalid json", b"{not json", "application/json"),
    ("non-utf8 bytes", b"\xff\xfe\x00\x81", "application/json"),
    ("json array", b"[1, 2]", "application/json"),
    ("no texts", b"{}", "application/json"),
    ("empty list", b'{"texts": []}', "application/json"),
    ("string not list", b'{"texts": "hello"}', "application/json"),
    ("number in list", b'{"texts": [1]}', "application/json"),
    ("null in list", b'{"texts": [null]}', "application/json"),
    ("empty text", b'{"texts": [""]}', "application/json"),
    ("whitespace text", b'{"texts": ["  \\n\\t "]}', "application/json"),
    ("NUL byte", b'{"texts": ["a\\u0000b"]}', "application/json"),
    ("control char", b'{"texts": ["bell\\u0007"]}', "application/json"),
    ("too many texts", json.dumps({"texts": ["q"] * (MAX_TEXTS + 1)}).encode(), "application/json"),
    ("huge text", json.dumps({"texts": ["x" * (MAX_TEXT_CHARS + 1)]}).encode(), "application/json"),
    ("unknown field", b'{"texts": ["ok"], "return_probs": true}', "application/json"),
    ("wrong type flag", b'{"texts": ["ok"], "return_probabilities": "maybe"}', "application/json"),
    ("plain text body", b"What is the capital of France ?", "text/plain"),
    ("form body", b"texts=hello", "application/x-www-form-urlencoded"),
]


@pytest.mark.parametrize(("name", "body", "content_type"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_requests_are_4xx_with_a_message(client, name, body, content_type):
    response = client.post("/classify", content=body, headers={"content-type": content_type})
    assert 400 <= response.status_code < 500, (name, response.status_code, response.text)
    assert "error" in response.text
    # and the worker survived it
    ok = client.post("/classify", json={"texts": ["Who wrote Hamlet ?"]})
    assert ok.status_code == 200


def test_classify_answers_with_version_tier_and_probabilities(client, served):
    texts = served.questions["text"].head(3).tolist()
    response = client.post("/classify", json={"texts": texts, "return_probabilities": True})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_name"] == served.name and body["model_version"] == "1"
    assert body["arm"] == "champion" and len(body["request_id"]) == 32
    (first, *_) = body["predictions"]
    assert first["tier"] == "accurate"  # no cascade policy: the judged tier answers
    assert set(first["probabilities"]) == {"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"}
    assert first["label"] == max(first["probabilities"], key=first["probabilities"].get)


def test_past_the_queue_bound_requests_are_shed_with_retry_after(client, monkeypatch):
    import bento.service

    monkeypatch.setattr(bento.service, "MAX_IN_FLIGHT", 0)
    shed = client.post("/classify", json={"texts": ["Who wrote Hamlet ?"]})
    assert shed.status_code == 503 and shed.headers["retry-after"] == "1"
    monkeypatch.undo()
    assert client.post("/classify", json={"texts": ["Who wrote Hamlet ?"]}).status_code == 200


def test_admin_needs_the_token(client, monkeypatch: pytest.MonkeyPatch):
    assert client.post("/admin/state", json={}).status_code == 401
    wrong = client.post("/admin/state", json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    assert client.post("/admin/state", json={}, headers=AUTH).status_code == 200
    monkeypatch.delenv("DRIFTWISE_ADMIN_TOKEN")
    assert client.post("/admin/state", json={}, headers=AUTH).status_code == 404


def test_feedback_is_joined_and_logged(client):
    texts = ["Who painted the Mona Lisa ?", "How far is Paris from Rome ?"]  # not cached yet
    answer = client.post("/classify", json={"texts": texts})
    request_id = answer.json()["request_id"]
    ok = client.post("/feedback", json={"request_id": request_id, "index": 1, "label": "NUM"})
    assert ok.status_code == 200, ok.text
    assert (
        client.post("/feedback", json={"request_id": "x" * 32, "label": "NUM"}).status_code == 404
    )
    bad_label = client.post("/feedback", json={"request_id": request_id, "label": "positive"})
    assert bad_label.status_code == 422
    assert client.post("/feedback", json={"request_id": request_id}).status_code == 400
    lines = [
        json.loads(line)
        for path in sorted((client.home / "feedback").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    assert [(r["request_id"], r["label"]) for r in lines] == [(f"{request_id}-1", "NUM")]
    deadline = time.monotonic() + 5  # the prediction log is written off the request path
    while time.monotonic() < deadline and not list((client.home / "prediction_log").glob("*")):
        time.sleep(0.05)
    logged = [
        json.loads(line)
        for path in sorted((client.home / "prediction_log").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    mine = [r for r in logged if r["request_id"].startswith(request_id)]
    assert sorted(r["request_id"] for r in mine) == [f"{request_id}-0", f"{request_id}-1"]
    assert all(r["sampling_weight"] == 1.0 and r["cost_units"] > 0 for r in mine)
    assert all(r["text"] in texts and r["model_version"] == "1" for r in mine)


def test_admin_routes_traffic_live_and_persists_it(client, served):
    v2 = served.tags["2"].split(":v")[1]
    no_challenger = client.post(
        "/admin/routing", json={"mode": "canary", "challenger_weight": 0.5}, headers=AUTH
    )
    assert no_challenger.status_code == 409
    loaded = client.post("/admin/load", json={"version": v2, "role": "challenger"}, headers=AUTH)
    assert loaded.status_code == 200, loaded.text
    bad = client.post(
        "/admin/routing", json={"mode": "canary", "challenger_weight": 2}, headers=AUTH
    )
    assert bad.status_code == 400
    ok = client.post(
        "/admin/routing", json={"mode": "canary", "challenger_weight": 1.0}, headers=AUTH
    )
    assert ok.status_code == 200
    answer = client.post("/classify", json={"texts": ["Who wrote Hamlet ?"], "key": "u1"}).json()
    assert answer["arm"] == "challenger" and answer["model_version"] == v2
    state = read_state(client.home)
    assert state.challenger == served.tags["2"] and state.routing.challenger_weight == 1.0
    # promote: the challenger becomes champion, the old champion stays warm as previous
    client.post("/admin/load", json={"version": v2, "role": "champion"}, headers=AUTH)
    state = read_state(client.home)
    assert state.champion == served.tags["2"] and state.previous == served.tags["1"]
    assert state.challenger is None and state.routing.mode == "off"
    missing = client.post("/admin/load", json={"version": "99", "role": "champion"}, headers=AUTH)
    assert missing.status_code == 404
