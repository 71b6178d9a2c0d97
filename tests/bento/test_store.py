"""bento/store.py's import from MLflow into the BentoML store: idempotent per MLflow run.

Touches the session's real BentoML store and the real embedded MLflow of the TREC models in
tests/served_models.py (v1: fast + accurate, v2: fast only). A second registry sharing the
store is stood in for by a store model written under the tag with another run's label.
"""

import shutil

import bentoml

from bento.store import RUN_LABEL, import_version, load_stored, store_tag
from models.tracking import client_for


def _register(served, like: str) -> str:  # type: ignore[no-untyped-def]
    """A new MLflow version holding the same run as version `like`."""
    client = client_for(served.tracking)
    mv = client.get_model_version(served.name, like)
    return str(client.create_model_version(served.name, mv.source, mv.run_id).version)


def _squat(served, version: str, labels: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Put v1's two tiers in the store under `version`'s tag, with `labels`."""
    source = load_stored(served.tags["1"])
    with bentoml.models.create(store_tag(served.name, version), labels=labels) as ref:
        for tier, path in source.tiers.items():
            shutil.copytree(path, ref.path_of(tier))


def test_import_is_idempotent_and_labels_the_run(served) -> None:  # type: ignore[no-untyped-def]
    cache = served.home / "cache" / "models"
    first = load_stored(served.tags["1"])
    again = import_version(served.tracking, served.name, "1", cache)
    assert again.tag == first.tag and again.path == first.path
    run_id = client_for(served.tracking).get_model_version(served.name, "1").run_id
    assert bentoml.models.get(again.tag).info.labels[RUN_LABEL] == run_id


def test_a_store_model_from_another_run_is_replaced_not_served(served) -> None:  # type: ignore[no-untyped-def]
    """The tag is taken by bundles of another run (both tiers); the version is v2's run
    (fast only): the import replaces them, so what is served is this version."""
    version = _register(served, like="2")
    _squat(served, version, {RUN_LABEL: "another-registrys-run", "registered_name": "x"})
    stored = import_version(served.tracking, served.name, version, served.home / "cache" / "models")
    assert set(stored.tiers) == {"fast"}
    v2_run = client_for(served.tracking).get_model_version(served.name, "2").run_id
    assert bentoml.models.get(stored.tag).info.labels[RUN_LABEL] == v2_run


def test_an_unlabelled_store_model_is_kept(served) -> None:  # type: ignore[no-untyped-def]
    """Store models imported before runs were labelled carry no run: trusted, as before."""
    version = _register(served, like="2")
    _squat(served, version, {"registered_name": served.name, "mlflow_version": version})
    stored = import_version(served.tracking, served.name, version, served.home / "cache" / "models")
    assert set(stored.tiers) == {"accurate", "fast"}
