"""Where a batch's accepted rows live in the data registry, and which version is current.

A batch is born as tag `batch/<id>` (data/ingest.py). Re-ingesting it under a new config
(data/reingest.py) writes a revision `batch-rev/<id>/r<N>` of the same table path; the newest
revision is the batch's current content, and every older tag stays readable (models trained
on it keep their lineage). Revisions live under their own prefix because git cannot hold a
tag `batch/<id>` and tags below `batch/<id>/` at once.
"""

from data.data_registry import DataRegistry

BATCH_TAG_PREFIX = "batch/"
REVISION_TAG_PREFIX = "batch-rev/"


def batch_table_path(batch_id: str) -> str:
    return f"batches/{batch_id}.parquet"


def revision_tag(batch_id: str, number: int) -> str:
    return f"{REVISION_TAG_PREFIX}{batch_id}/r{number}"


def batch_id_of(tag: str) -> str:
    """The batch a tag belongs to (`batch/<id>` or `batch-rev/<id>/r<N>`)."""
    if tag.startswith(REVISION_TAG_PREFIX):
        return tag.removeprefix(REVISION_TAG_PREFIX).rsplit("/", 1)[0]
    return tag.removeprefix(BATCH_TAG_PREFIX)


def revisions(registry: DataRegistry) -> dict[str, list[str]]:
    """Revision tags per batch id, oldest first (by revision number)."""
    out: dict[str, list[str]] = {}
    for tag in registry.tags(REVISION_TAG_PREFIX):
        out.setdefault(batch_id_of(tag), []).append(tag)
    for tags in out.values():
        tags.sort(key=lambda t: int(t.rsplit("/r", 1)[1]))
    return out


def current_tag(registry: DataRegistry, batch_id: str) -> str | None:
    """The tag of the batch's current content, or None if the batch was never committed."""
    revs = revisions(registry).get(batch_id)
    if revs:
        return revs[-1]
    tag = BATCH_TAG_PREFIX + batch_id
    return tag if registry.has_tag(tag) else None
