"""Validate the Kubernetes manifests offline: `python -m deploy.validate [FILES]`.

Each document is checked against the Kubernetes OpenAPI schema of `--version` (strict:
unknown fields are errors, as `kubectl apply --validate=strict` would say) with
kubernetes-validate's bundled schemas - no cluster, no network. Then the references the
schema cannot see: every Service and PodDisruptionBudget selects the pods of a Deployment
in the same files, every HPA targets one of those Deployments, and every ConfigMap or
Secret key a container reads from a ConfigMap is defined (Secrets are the cluster's own).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

K8S_DIR = Path(__file__).resolve().parent / "k8s"
K8S_VERSION = "1.31.0"  # the oldest release still in upstream support when this was written


def load_documents(paths: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    docs = []
    for path in paths:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((path, doc))
    return docs


def _name(doc: dict[str, Any]) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def schema_errors(docs: list[tuple[Path, dict[str, Any]]], version: str) -> list[str]:
    import kubernetes_validate

    errors = []
    for path, doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(p) for p in exc.path)
            errors.append(f"{path.name}: {_name(doc)}: {where}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{path.name}: {_name(doc)}: no schema ({exc})")
    return errors


def reference_errors(docs: list[tuple[Path, dict[str, Any]]]) -> list[str]:
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for _, doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    deployments = by_kind.get("Deployment", {})
    pod_labels = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in deployments.items()}

    def selects_a_deployment(selector: dict[str, str]) -> bool:
        return any(selector.items() <= labels.items() for labels in pod_labels.values())

    errors = []
    for name, svc in by_kind.get("Service", {}).items():
        if not selects_a_deployment(svc["spec"].get("selector", {})):
            errors.append(f"Service/{name}: its selector matches no Deployment's pods")
    for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
        if not selects_a_deployment(pdb["spec"]["selector"].get("matchLabels", {})):
            errors.append(f"PodDisruptionBudget/{name}: its selector matches no pods")
    for name, hpa in by_kind.get("HorizontalPodAutoscaler", {}).items():
        target = hpa["spec"]["scaleTargetRef"]
        if target["kind"] != "Deployment" or target["name"] not in deployments:
            errors.append(f"HorizontalPodAutoscaler/{name}: targets unknown {target}")
    configmaps = by_kind.get("ConfigMap", {})
    for name, dep in deployments.items():
        spec = dep["spec"]
        if not spec["selector"]["matchLabels"].items() <= pod_labels[name].items():
            errors.append(f"Deployment/{name}: selector does not match its own pod labels")
        for container in spec["template"]["spec"]["containers"]:
            for source in container.get("envFrom", []):
                ref = source.get("configMapRef", {}).get("name")
                if ref and ref not in configmaps:
                    errors.append(f"Deployment/{name}: envFrom unknown ConfigMap {ref}")
        for volume in spec["template"]["spec"].get("volumes", []):
            ref = volume.get("configMap", {}).get("name")
            if ref and ref not in configmaps:
                errors.append(f"Deployment/{name}: volume from unknown ConfigMap {ref}")
    return errors


def validate(paths: list[Path], version: str = K8S_VERSION) -> list[str]:
    docs = load_documents(paths)
    return schema_errors(docs, version) + reference_errors(docs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="*", type=Path, help="Default: deploy/k8s/*.yaml")
    parser.add_argument("--version", default=K8S_VERSION, help="Kubernetes release to check")
    args = parser.parse_args(argv)
    files = args.files or sorted(K8S_DIR.glob("*.yaml"))
    errors = validate(files, args.version)
    for error in errors:
        print(error, file=sys.stderr)
    count = len(load_documents(files))
    print(
        f"{count} documents in {len(files)} files: {len(errors)} errors (Kubernetes {args.version})"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
