"""How wrong is the label-free accuracy estimate on real domain shift? (our tiers)

Takes a registered model version from a runtime home (default: version 1, which `make run`
trains on movie reviews only), fits the estimators on its snapshot's validation split, then
estimates accuracy on every default-data domain the model never trained on — without
labels — and prints the estimate next to the true accuracy (the labels are known here).

Run after `make run`:  .venv/bin/python bench/label_free_error.py [--version 1]
"""

import argparse
import os
from pathlib import Path

import pandas as pd

from models.lineage import SNAPSHOT_TAG
from orchestration.cli import offline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", default=os.environ.get("DRIFTWISE_HOME", ".driftwise"))
    parser.add_argument("--version", default="1")
    parser.add_argument("--model", default="driftwise-sentiment")
    args = parser.parse_args()
    offline.apply()

    from data.data_registry import DataRegistry
    from data.schema import ROW_ID, SPLIT, TEXT, row_id
    from data.snapshot import SNAPSHOT_PATH
    from data.vader import fetch_wheel, load_vader
    from evaluation.stats.predictions import Predictions
    from evaluation.traffic.label_free import fit_accuracy_estimator
    from models.inference import CachedScorer
    from models.model_registry import AliasedVersion, download_bundles
    from models.tracking import TrackingConfig, client_for

    home = Path(args.home).resolve()
    config = TrackingConfig.embedded(home)
    if not (home / "mlflow" / "mlflow.db").exists():
        print(f"no models under {home}: run `make run` first (skipped)")
        return
    mv = client_for(config).get_model_version(args.model, args.version)
    version = AliasedVersion(args.model, str(mv.version), mv.run_id, mv.source, dict(mv.tags))
    bundles = download_bundles(config, version, home / "cache" / "models")
    snapshot = DataRegistry(home / "registry").read_table(
        SNAPSHOT_PATH, rev=version.tags[SNAPSHOT_TAG]
    )
    val = snapshot[snapshot[SPLIT] == "val"]
    trained_domains = set(snapshot["domain"].dropna())
    vader = load_vader(fetch_wheel(home / "cache"))
    vader[ROW_ID] = vader[TEXT].map(row_id)
    scorer = CachedScorer(home / "cache" / "embeddings")

    print(
        f"{args.model} v{args.version}: trained on {sorted(trained_domains)} "
        f"(snapshot {version.tags['snapshot_tag']}), estimators fitted on {len(val)} val rows"
    )
    rows = []
    for tier, bundle in bundles.items():
        from models.bundle import read_bundle_config

        labels = read_bundle_config(bundle).labels
        val_preds = Predictions.from_probs(
            scorer.predict_proba(bundle, val[ROW_ID].tolist(), val[TEXT].tolist()),
            labels,
            model_id=tier,
        )
        estimators = {
            m: fit_accuracy_estimator(val_preds, val["label"].tolist(), m)
            for m in ("atc", "cbpe_temperature")
        }
        for domain in sorted(set(vader["domain"]) - trained_domains):
            part = vader[(vader["domain"] == domain) & ~vader[ROW_ID].isin(snapshot[ROW_ID])]
            preds = Predictions.from_probs(
                scorer.predict_proba(bundle, part[ROW_ID].tolist(), part[TEXT].tolist()),
                labels,
                model_id=tier,
            )
            true = float((pd.Series(preds.labels) == part["label"].to_numpy()).mean())
            row = {"tier": tier, "domain": domain, "n": len(part), "true acc": round(true, 3)}
            for method, est in estimators.items():
                point = est.estimate(preds).accuracy.point
                row[f"{method} est"] = round(point, 3)
                row[f"{method} error"] = round(point - true, 3)
            rows.append(row)
    print(pd.DataFrame(rows).to_string(index=False))
    print("error = estimate - true accuracy (positive: the estimate is optimistic)")


if __name__ == "__main__":
    main()
