"""The optional LLM judge (evaluation.golden_eval.judge): deepeval G-Eval through an
OpenAI-compatible API.

The judge is an external paid service, so this is the one place a stand-in is used: a small
HTTP server on 127.0.0.1 (ephemeral port, thread) that speaks the chat-completions protocol
and answers G-Eval's two prompt kinds - evaluation steps (`{"steps": [...]}`) and a score
(`{"score": 0-10, "reason": ...}`, 10 when the actual label equals the expected one). The
real openai client, the real GEval metric and deepeval `evaluate()` run against it; a socket
guard fails any non-loopback connection.
"""

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from deepeval.test_case import LLMTestCase

from evaluation.golden_eval.judge import JudgeConfig, judge_criteria, judge_golden, run_judge
from evaluation.golden_eval.report import to_evaluation_dataset, to_test_cases
from evaluation.stats.predictions import Predictions
from tests.evaluation.network_guard import NetworkGuard

API_KEY = "test-key-123"
ACTUAL = re.compile(r"Actual Output:\s*\n(.*?)\s*\n", re.S)
EXPECTED = re.compile(r"Expected Output:\s*\n(.*?)\s*\n", re.S)


class StandInJudge(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict]] = []
    malformed: ClassVar[bool] = False

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def _reply(self, status: int, body: dict) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        if self.path != "/v1/chat/completions":
            return self._reply(404, {"error": {"message": "not found"}})
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self._reply(401, {"error": {"message": "bad key", "type": "auth"}})
        prompt = body["messages"][-1]["content"]
        if '"steps"' in prompt:
            content = json.dumps({"steps": ["Read the input.", "Compare the labels."]})
        elif type(self).malformed:
            content = "I think it is fine."
        else:
            actual, expected = ACTUAL.search(prompt), EXPECTED.search(prompt)
            same = bool(actual and expected and actual.group(1) == expected.group(1))
            content = json.dumps(
                {"score": 10 if same else 0, "reason": "labels agree" if same else "labels differ"}
            )
        self._reply(
            200,
            {
                "id": "chatcmpl-standin",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            },
        )


@pytest.fixture()
def server() -> Iterator[str]:
    StandInJudge.requests = []
    StandInJudge.malformed = False
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), StandInJudge)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _golden() -> tuple[pd.DataFrame, Predictions]:
    golden = pd.DataFrame(
        {
            "row_id": ["a", "b", "c"],
            "text": ["I loved every minute", "Dull and far too long", "Not bad at all"],
            "label": ["positive", "negative", "positive"],
        }
    )
    pred = Predictions.from_probs(
        np.array([[0.1, 0.9], [0.8, 0.2], [0.7, 0.3]]),
        ["negative", "positive"],
        model_id="m",
        row_ids=golden["row_id"].tolist(),
    )
    return golden, pred


def _cases() -> list[LLMTestCase]:
    return to_test_cases(to_evaluation_dataset(_golden()[0]), _golden()[1])


def test_disabled_judge_does_nothing(tmp_path: Path) -> None:
    assert JudgeConfig().enabled is False
    assert run_judge(_cases(), JudgeConfig(), tmp_path) is None
    assert judge_golden(*_golden(), JudgeConfig(), tmp_path, "reviews", ["a", "b"]) is None


def test_enabled_judge_needs_its_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRIFTWISE_JUDGE_API_KEY", raising=False)
    with pytest.raises(RuntimeError, match="DRIFTWISE_JUDGE_API_KEY"):
        run_judge(_cases(), JudgeConfig(enabled=True), tmp_path)


def test_g_eval_through_the_openai_compatible_endpoint(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    guard = NetworkGuard(monkeypatch)
    guard.assert_live()
    monkeypatch.setenv("DRIFTWISE_JUDGE_API_KEY", API_KEY)
    config = JudgeConfig(enabled=True, base_url=server, model="standin-judge-1")
    golden, predictions = _golden()
    # judge_golden: what the golden_evaluation asset calls when its `judge` config is on
    report = judge_golden(
        golden,
        predictions,
        config,
        tmp_path,
        dataset="reviews",
        labels=["negative", "positive"],
        description="One-line film reviews.",
    )
    assert report is not None
    # Cases a and b are labelled right, c wrong (predicted negative, golden positive).
    assert report.scores == {"a": 1.0, "b": 1.0, "c": 0.0}
    assert report.pass_rate == pytest.approx(2 / 3)
    assert report.mean_score == pytest.approx(2 / 3)
    assert report.reasons["c"] == "labels differ"
    assert report.model == "standin-judge-1" and report.metric.startswith("label correctness")
    reqs = StandInJudge.requests
    assert all(r["auth"] == f"Bearer {API_KEY}" for r in reqs)
    assert {r["body"]["model"] for r in reqs} == {"standin-judge-1"}
    score_prompts = [r for r in reqs if '"steps"' not in r["body"]["messages"][-1]["content"]]
    assert len(score_prompts) == 3
    # the criterion speaks the dataset's language (judge_criteria), not a fixed task's
    steps = [r["body"]["messages"][-1]["content"] for r in reqs if r not in score_prompts]
    assert steps and all(
        "dataset 'reviews'" in p and "'negative', 'positive'" in p and "film reviews" in p
        for p in steps
    )
    assert guard.attempts == []


def test_judge_criteria_name_the_dataset_and_its_labels():
    """judge_criteria: a topic dataset's criterion holds its name, labels and description,
    never the default data's task; a long label list is cut with a count."""
    text = judge_criteria("news", ["sci.space", "rec.autos"], "Usenet posts by group.")
    assert "dataset 'news'" in text and "'sci.space', 'rec.autos'" in text
    assert "Usenet posts by group." in text and "sentiment" not in text
    many = judge_criteria("tags", [f"t{i}" for i in range(60)], max_labels=50)
    assert "'t49' and 10 more" in many and "'t50'" not in many


def test_judge_caps_cases_and_fails_loudly_on_malformed_answers(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTWISE_JUDGE_API_KEY", API_KEY)
    config = JudgeConfig(enabled=True, base_url=server, max_cases=2)
    assert run_judge(_cases(), config, tmp_path).n == 2  # type: ignore[union-attr]
    StandInJudge.malformed = True
    with pytest.raises(ValueError, match="holds no JSON"):
        run_judge(_cases(), config, tmp_path)
