"""deploy/validate.py on the shipped manifests (deploy/k8s) and on broken copies of them:
the Kubernetes schema (kubernetes-validate's bundled OpenAPI, strict, offline) and the
cross-references a schema cannot see. Also that the HPA scales on a metric the service
really exports (bento/service.py). Needs the [prod] extra: marked `prod`.
"""

import re
from pathlib import Path

import pytest
import yaml

from deploy.validate import K8S_DIR, main, validate

pytestmark = pytest.mark.prod
REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, docs: list[dict]) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return path


def _serving() -> list[dict]:
    return list(yaml.safe_load_all((K8S_DIR / "serving.yaml").read_text()))


def test_shipped_manifests_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert ": 0 errors" in capsys.readouterr().out
    kinds = {d["kind"] for f in K8S_DIR.glob("*.yaml") for d in yaml.safe_load_all(f.read_text())}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler"} <= kinds


def test_unknown_fields_and_wrong_types_are_errors(tmp_path: Path) -> None:
    docs = _serving()
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["hostPot"] = 1
    hpa = next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler")
    hpa["spec"]["minReplicas"] = "two"
    errors = validate([_write(tmp_path, docs)])
    assert any("'hostPot' was unexpected" in e for e in errors), errors
    assert any("minReplicas" in e and "integer" in e for e in errors), errors


def test_dangling_references_are_errors(tmp_path: Path) -> None:
    docs = _serving()
    service = next(d for d in docs if d["kind"] == "Service")
    service["spec"]["selector"] = {"app.kubernetes.io/component": "servng"}
    hpa = next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler")
    hpa["spec"]["scaleTargetRef"]["name"] = "driftwise-old"
    docs = [d for d in docs if d["kind"] != "ConfigMap"]
    errors = validate([_write(tmp_path, docs)])
    assert any(e.startswith("Service/driftwise-serving: its selector") for e in errors)
    assert any("targets unknown" in e for e in errors)
    assert any("envFrom unknown ConfigMap driftwise-serving" in e for e in errors)


def test_the_hpa_scales_on_a_metric_the_service_exports() -> None:
    exported = set(re.findall(r'name="(driftwise_\w+)"', (REPO / "bento/service.py").read_text()))
    hpa = next(d for d in _serving() if d["kind"] == "HorizontalPodAutoscaler")
    pods = [m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
    assert pods == ["driftwise_in_flight_requests"]
    assert set(pods) <= exported
