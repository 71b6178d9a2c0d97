"""The cascade on the models `make run` trained: the fast tier with and without its static
embeddings (models/static_embeddings.py), each tuned against the same accurate tier.

For every registered version in a runtime home (default: the README's, `.driftwise/` in this
checkout, after `make run`): its accurate tier as registered in MLflow, and two fast tiers
trained here by `models.training.train` on the version's own DVC snapshot - the TF-IDF bag
alone (the fast tier before) and the bag with static embeddings (the default now). Each is
scored on the golden set and the cascade threshold is tuned by
`evaluation.cascade.tune_cascade` (the gate's rule: fewest escalations whose loss against the
accurate tier is <= 1 point at 95% confidence). Printed per version and fast tier: golden
accuracy, the escalation overall and per golden domain, the cascade's accuracy beside the
accurate tier's, and the fast tier's time per 1,000 texts (one thread, batches of 64).

Usage: python bench/cascade_fast_tier.py [--home PATH]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def _ms_per_1k(predictor, texts: list[str]) -> float:  # type: ignore[no-untyped-def]
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        started = time.perf_counter()
        for i in range(0, len(texts), 64):
            predictor.predict_proba(texts[i : i + 64])
        return 1000 * (time.perf_counter() - started) / len(texts) * 1000
    finally:
        torch.set_num_threads(threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=REPO_ROOT / ".driftwise")
    args = parser.parse_args()
    from orchestration.cli import offline

    offline.apply()
    import mlflow

    from data.data_registry import DataRegistry
    from data.golden_set import load_golden
    from evaluation.cascade import tune_cascade
    from models.inference import load_predictor
    from models.model_registry import AliasedVersion, download_bundles
    from models.spec import TrainSpec
    from models.training import train
    from orchestration.cli.serve import tracking_config
    from orchestration.settings import DriftwiseSettings

    home = args.home.resolve()
    tracking = tracking_config(DriftwiseSettings(home=home))  # the default dataset's model
    name = tracking.registered_model_name
    client = mlflow.MlflowClient(tracking.tracking_uri)
    versions = sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))
    if not versions:
        sys.exit(f"no registered versions of {name} in {home}: run `make run` first")
    golden = load_golden().frame
    texts, truth = golden["text"].tolist(), golden["label"].to_numpy()
    domains = sorted(golden["domain"].unique())
    registry = DataRegistry(home / "registry")
    print(f"home {home}; golden set {len(golden)} rows ({', '.join(domains)})\n")
    header = ["version", "fast tier", "fast acc", "accurate acc", "cascade acc", "escalated"]
    print("| " + " | ".join([*header, *domains, "fast ms/1k"]) + " |")
    print("|" + "---|" * (len(header) + len(domains) + 1))
    with tempfile.TemporaryDirectory() as tmp:
        for mv in versions:
            bundles = download_bundles(
                tracking,
                AliasedVersion(name, mv.version, mv.run_id, mv.source),
                Path(tmp) / "downloads",
            )
            accurate = load_predictor(bundles["accurate"])
            acc_p = accurate.predict_proba(texts)
            lineage = accurate.config.lineage
            snapshot = registry.read_table("snapshots/training.parquet", lineage["snapshot_tag"])
            for static in (False, True):
                spec = TrainSpec(tier="fast", static_embeddings=static)
                work = Path(tmp) / f"v{mv.version}-{static}"
                result = train(snapshot, spec, work, cache_dir=home / "cache" / "embeddings")
                assert result is not None
                fast = load_predictor(result.bundle_dir)
                fast_p = fast.predict_proba(texts)
                fast_ok = np.asarray(fast.labels)[fast_p.argmax(axis=1)] == truth
                acc_ok = np.asarray(accurate.labels)[acc_p.argmax(axis=1)] == truth
                policy = tune_cascade(
                    fast_p.max(axis=1), fast_ok, acc_ok, window=f"golden/v{mv.version}"
                )
                escalate = (
                    fast_p.max(axis=1) < policy.threshold
                    if policy.threshold is not None
                    else np.ones(len(texts), dtype=bool)
                )
                by_domain = [
                    f"{escalate[golden['domain'].to_numpy() == d].mean():.1%}" for d in domains
                ]
                row = [
                    f"v{mv.version}",
                    "bag + static" if static else "bag alone",
                    f"{policy.fast_accuracy:.3f}",
                    f"{policy.accurate_accuracy:.3f}",
                    f"{policy.cascade_accuracy:.3f}",
                    f"{policy.escalation_rate:.1%}",
                    *by_domain,
                    f"{_ms_per_1k(fast, texts):.0f}",
                ]
                print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
