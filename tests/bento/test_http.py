"""The HTTP contract of bento/service.py through BentoML's own ASGI app (`to_asgi()`: the
real request parsing, validation and error mapping; the worker runs in-process, so no
batching across processes) and the front door (bento/front_door.py) on the real TREC models
of tests/served_models.py. Checks a hostile request corpus (each refused with its own 4xx
in the one error shape, logged as one line, never a 5xx), /docs and /openapi.json, admin
auth, live routing changes, feedback (idempotent, 409 on a contradicting label). (/metrics is only
served by a real `bentoml serve`: tests/bento/test_serve_process.py.)"""

import json
import time

import bentoml
import pytest
from bentoml._internal.context import server_context
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
            # the instance BentoML built: its settings were read once, at start
            c.service = bentoml.get_current_service()  # type: ignore[attr-defined]
            yield c


JSON = "application/json"
HOSTILE = [
    # (name, body, content type, status)
    ("invalid json", b"{not json", JSON, 400),
    ("non-utf8 bytes", b"\xff\xfe\x00\x81", JSON, 400),
    ("json array", b"[1, 2]", JSON, 400),
    ("no texts", b"{}", JSON, 400),
    ("empty list", b'{"texts": []}', JSON, 400),
    ("string not list", b'{"texts": "hello"}', JSON, 400),
    ("number in list", b'{"texts": [1]}', JSON, 400),
    ("null in list", b'{"texts": [null]}', JSON, 400),
    ("empty text", b'{"texts": [""]}', JSON, 400),
    ("whitespace text", b'{"texts": ["  \\n\\t "]}', JSON, 400),
    ("zero-width only", '{"texts": ["\u200b\u200d\u2060"]}'.encode(), JSON, 400),
    ("lone surrogate", b'{"texts": ["ok \\ud800"]}', JSON, 400),
    ("NUL byte", b'{"texts": ["a\\u0000b"]}', JSON, 400),
    ("control char", b'{"texts": ["bell\\u0007"]}', JSON, 400),
    ("too many texts", json.dumps({"texts": ["q"] * (MAX_TEXTS + 1)}).encode(), JSON, 400),
    ("huge text", json.dumps({"texts": ["x" * (MAX_TEXT_CHARS + 1)]}).encode(), JSON, 400),
    ("unknown field", b'{"texts": ["ok"], "return_probs": true}', JSON, 400),
    ("wrong type flag", b'{"texts": ["ok"], "return_probabilities": "maybe"}', JSON, 400),
    ("string as bool", b'{"texts": ["ok"], "return_probabilities": "true"}', JSON, 400),
    ("number as bool", b'{"texts": ["ok"], "return_probabilities": 1}', JSON, 400),
    ("body over the limit", json.dumps({"texts": ["x" * (3 * 1024 * 1024)]}).encode(), JSON, 413),
    ("json sent as text/plain", b'{"texts": ["ok"]}', "text/plain", 415),
    ("json without content type", b'{"texts": ["ok"]}', None, 415),
    ("plain text body", b"What is the capital of France ?", "text/plain", 415),
    ("form body", b"texts=hello", "application/x-www-form-urlencoded", 415),
]


def _error_shape(response, status: int) -> dict:
    body = response.json()
    assert set(body) == {"error", "status", "field", "reason"}, body
    assert body["status"] == status and body["error"] and body["reason"]
    return body


@pytest.mark.parametrize(
    ("name", "body", "content_type", "status"), HOSTILE, ids=[h[0] for h in HOSTILE]
)
def test_hostile_requests_get_their_4xx_in_one_shape_and_one_log_line(
    client, caplog, name, body, content_type, status
):
    headers = {"content-type": content_type} if content_type else {}
    with caplog.at_level("INFO"):
        response = client.post("/classify", content=body, headers=headers)
    assert response.status_code == status, (name, response.text)
    _error_shape(response, status)
    assert not [r for r in caplog.records if r.exc_info], "a refused request logged a traceback"
    # and the service survived it
    ok = client.post("/classify", json={"texts": ["Who wrote Hamlet ?"]})
    assert ok.status_code == 200


def test_a_schema_error_names_its_field(client):
    response = client.post("/classify", json={"texts": ["fine", "\u200b"]})
    body = _error_shape(response, 400)
    assert body["field"] == "texts" and "texts[1]" in body["reason"]
    flag = _error_shape(
        client.post("/classify", json={"texts": ["ok"], "return_probabilities": 1}), 400
    )
    assert flag["field"] == "return_probabilities"


def test_a_bom_before_the_json_is_ignored(client):
    body = b"\xef\xbb\xbf" + json.dumps({"texts": ["Who wrote Hamlet ?"]}).encode()
    response = client.post("/classify", content=body, headers={"content-type": JSON})
    assert response.status_code == 200, response.text


def test_docs_and_openapi_name_driftwise_its_limits_and_errors(client):
    from bento.front_door import project_version

    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "Driftwise"
    assert spec["info"]["version"] == project_version() != "0+unknown"
    assert "2097152 bytes" in spec["info"]["description"]
    responses = spec["paths"]["/classify"]["post"]["responses"]
    assert {"400", "413", "415", "503"} <= set(responses)
    assert "409" in spec["paths"]["/feedback"]["post"]["responses"]
    page = client.get("/docs")
    assert page.status_code == 200 and "openapi.json" in page.text
    assert "http" not in page.text.split("<body>")[1]  # nothing fetched from outside


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


def test_the_dataset_length_policy_cuts_or_refuses_long_texts(client, monkeypatch):
    """data/length.py in the service: by default a text over max_text_chars (20,000) is
    scored on its first 20,000 characters (the cut text is the same cache entry); with
    long_text=quarantine it is refused with a 400 naming the text."""
    from data.length import LengthPolicy

    long = "Who wrote Hamlet and when ? " * 1_000  # 28,000 characters
    first = client.post("/classify", json={"texts": [long]})
    assert first.status_code == 200, first.text
    cut = client.post("/classify", json={"texts": [long[:20_000].rstrip()]})
    assert cut.json()["predictions"][0]["cached"] is True  # the same text was scored
    assert cut.json()["predictions"][0]["label"] == first.json()["predictions"][0]["label"]

    monkeypatch.setattr(client.service, "length", LengthPolicy(100, "quarantine"))
    refused = client.post("/classify", json={"texts": ["Who wrote Hamlet ?", "x" * 101]})
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "texts[1]: text_too_long: 101 chars > 100",
        "status": 400,
        "field": "texts",
        "reason": "text_too_long",
    }


def test_past_the_queue_bound_requests_are_shed_with_retry_after(client, monkeypatch):
    monkeypatch.setattr(client.service.settings, "max_in_flight", 0)
    shed = client.post("/classify", json={"texts": ["Who wrote Hamlet ?"]})
    assert shed.status_code == 503 and shed.headers["retry-after"] == "1"
    monkeypatch.undo()
    assert client.post("/classify", json={"texts": ["Who wrote Hamlet ?"]}).status_code == 200


def test_admin_needs_the_token(client, monkeypatch: pytest.MonkeyPatch):
    assert client.post("/admin/state", json={}).status_code == 401
    wrong = client.post("/admin/state", json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    state = client.post("/admin/state", json={}, headers=AUTH)
    assert state.status_code == 200
    cost = state.json()["cost"]["1"]  # the requests of the tests above, counted per version
    assert cost["predictions"] > 0 and cost["cost_units"] > 0 and cost["cost_units_per_1k"] > 0
    monkeypatch.setattr(client.service.settings, "admin_token", "")  # no token configured
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
    _error_shape(bad_label, 422)
    _error_shape(client.post("/feedback", json={"request_id": request_id}), 400)
    for hostile in ({"index": "1"}, {"index": True}, {"extra": 1}):
        refused = client.post(
            "/feedback", json={"request_id": request_id, "label": "NUM", **hostile}
        )
        _error_shape(refused, 400)
    again = client.post("/feedback", json={"request_id": request_id, "index": 1, "label": "NUM"})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    other = client.post("/feedback", json={"request_id": request_id, "index": 1, "label": "HUM"})
    assert "already labelled 'NUM'" in _error_shape(other, 409)["error"]
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
    # BentoML's own request series are labelled with what serves now (read per request)
    assert server_context.bento_version == f"1+{v2}:canary"
    state = read_state(client.home)
    assert state.challenger == served.tags["2"] and state.routing.challenger_weight == 1.0
    # promote: the challenger becomes champion, the old champion stays warm as previous
    client.post("/admin/load", json={"version": v2, "role": "champion"}, headers=AUTH)
    state = read_state(client.home)
    assert state.champion == served.tags["2"] and state.previous == served.tags["1"]
    assert state.challenger is None and state.routing.mode == "off"
    assert server_context.bento_version == v2
    missing = client.post("/admin/load", json={"version": "99", "role": "champion"}, headers=AUTH)
    assert missing.status_code == 404
