"""The DVC data registry: a git repo + DVC remote holding every accepted batch and snapshot.

Each write is one git commit and one tag (`batch/<id>`, `snapshot/<hash>`), so any past table
can be read back by tag with `dvc.api` — the lineage models carry. Writers are serialised
with a file lock, and every write starts by discarding uncommitted leftovers of a crashed
writer: a tag either exists with its data pushed, or nothing of that write is visible.
"""

import contextlib
import hashlib
import io
import logging
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from filelock import FileLock

log = logging.getLogger(__name__)

# Folders holding DVC-tracked tables (cleaned of leftovers by `recover`).
DATA_FOLDERS = ("batches", "snapshots", "golden")
_GIT_IDENTITY = ["-c", "user.name=driftwise", "-c", "user.email=driftwise@localhost"]


class RegistryError(RuntimeError):
    """A registry operation failed; the message carries git/dvc's own words."""


@dataclass(frozen=True)
class Commit:
    tag: str
    rev: str
    path: str


class DataRegistry:
    """A DVC registry rooted at `root`, pushing to `remote_url` (default: a local folder).

    Args:
        root: the registry's git work tree (created on first use).
        remote_url: DVC remote (`s3://…`, `gs://…`, or a path). Kept in `.dvc/config.local`
            so it is visible at every past tag (STACK_NOTES: config committed after a tag is
            invisible at that tag).
        endpoint_url: the S3 endpoint of an S3-compatible store (None = AWS itself).
    """

    def __init__(
        self, root: Path, remote_url: str | None = None, endpoint_url: str | None = None
    ) -> None:
        self.root = Path(root).resolve()
        self.remote_url = remote_url or str(self.root.parent / "dvc-remote")
        self.endpoint_url = endpoint_url
        self._lock = FileLock(str(self.root.parent / f".{self.root.name}.lock"))
        # DVC caches a per-repo data index in one SQLite file shared by every process; two
        # processes building it at once leave entries missing for good (see `read_table`).
        # Every DVC call that builds or reads it holds this lock. Never nested, and only ever
        # taken after `_lock`, so it cannot deadlock.
        self._index_lock = FileLock(str(self.root.parent / f".{self.root.name}.index.lock"))

    def _remote_config(self) -> dict[str, str]:
        config = {"url": self.remote_url}
        if self.endpoint_url:
            config["endpointurl"] = self.endpoint_url
        return config

    def locked(self) -> FileLock:
        """The writer lock (re-entrant): hold it across read-validate-commit sequences."""
        return self._lock

    # -- plumbing -----------------------------------------------------------------------------
    def _git(self, *args: str) -> str:
        proc = subprocess.run(
            ["git", *_GIT_IDENTITY, "-C", str(self.root), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            detail = (proc.stderr.strip() + " " + proc.stdout.strip()).strip()
            raise RegistryError(f"git {' '.join(args)}: {detail}")
        return proc.stdout.strip()

    def _repo(self):  # type: ignore[no-untyped-def]
        from dvc.repo import Repo

        # DVC logs CLI hints ("To track the changes with git, run: ...") at INFO; we do the
        # git side ourselves, so they are noise in Dagster's logs.
        logging.getLogger("dvc").setLevel(logging.WARNING)
        return Repo(str(self.root))

    def ensure(self) -> None:
        """Create the registry if needed (idempotent) and make sure the remote is configured."""
        with self._lock:
            self._ensure_unlocked()

    def _ensure_unlocked(self) -> None:
        os.environ.setdefault("DVC_NO_ANALYTICS", "1")
        from dvc.repo import Repo

        logging.getLogger("dvc").setLevel(logging.WARNING)
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.root / ".git").exists():
            self._git("init", "-q", "-b", "main")
        if not (self.root / ".dvc").exists():
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                repo = Repo.init(str(self.root))
            with repo.config.edit("repo") as cfg:
                cfg["core"]["analytics"] = False
                cfg["core"]["check_update"] = False
            self._git("add", "-A")
            self._git("commit", "-q", "-m", "Initialise Driftwise data registry")
        self._write_local_config()

    def _write_local_config(self) -> None:
        """`.dvc/config.local` (the remote), written only when it differs and then atomically.

        Concurrent runs open this repo all the time (`dvc.api.read` loads the config). DVC's
        own `config.edit` truncates and rewrites the file in place, so a run that read it
        mid-write saw `core.remote` without its section ("Missing remote name"). Same
        configobj format DVC reads; written once per home unless the remote changes.
        """
        from configobj import ConfigObj

        path = self.root / ".dvc" / "config.local"
        wanted = {"core": {"remote": "storage"}, 'remote "storage"': self._remote_config()}
        if path.exists() and ConfigObj(str(path)).dict() == wanted:
            return
        conf = ConfigObj(indent_type="    ")
        conf.update(wanted)
        tmp = path.with_name(".config.local.tmp")
        tmp.write_bytes(b"\n".join(line.encode() for line in conf.write()) + b"\n")
        os.replace(tmp, path)

    def recover(self) -> None:
        """Discard whatever a crashed writer left uncommitted. Call it holding the lock.

        Tracked changes are reset; untracked *and ignored* files under the data folders go
        too (a DVC-tracked table is git-ignored, so a half-written one hides from `git
        status`). Committed tables are never lost: every read goes through a tag and DVC's
        cache/remote, not the work tree.
        """
        if self._git("status", "--porcelain"):
            log.warning(
                "data registry had uncommitted changes from an interrupted write; discarding"
            )
            self._git("reset", "-q", "--hard", "HEAD")
            self._git("clean", "-q", "-fd")
        present = [d for d in DATA_FOLDERS if (self.root / d).exists()]
        if present:
            self._git("clean", "-q", "-fdx", "--", *present)

    # -- writes -------------------------------------------------------------------------------
    def commit_table(self, relpath: str, df: pd.DataFrame, tag: str, message: str) -> Commit:
        """Write `df` as Parquet at `relpath`, DVC-track it, commit, tag `tag`, push the data.

        Idempotent: if `tag` already exists nothing is written and the existing commit returns.
        """
        with self._lock:
            self._ensure_unlocked()
            self.recover()
            if self.has_tag(tag):
                return Commit(tag=tag, rev=self._git("rev-list", "-n", "1", tag), path=relpath)
            target = self.root / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            df.to_parquet(target, index=False)
            with self._index_lock:
                repo = self._repo()
                with contextlib.redirect_stdout(io.StringIO()):
                    repo.add([str(target)])
                # Push before the tag exists: a tag must never point at data the remote lacks.
                repo.push()
            self._git("add", "-A")
            staged = subprocess.run(
                ["git", "-C", str(self.root), "diff", "--cached", "--quiet"], check=False
            ).returncode
            if staged:
                self._git("commit", "-q", "-m", message)
            # else: HEAD already holds exactly this table — a writer crashed between its
            # commit and its tag. Tagging HEAD finishes that write.
            self._git("tag", tag)
            return Commit(tag=tag, rev=self._git("rev-parse", "HEAD"), path=relpath)

    def commit_file(self, relpath: str, text: str, message: str) -> str:
        """Write a small text file (git-tracked, not DVC: e.g. the label contract) and commit
        it; returns the commit. Readers see the old or the new content, never half of it."""
        with self._lock:
            self._ensure_unlocked()
            self.recover()
            target = self.root / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
            self._git("add", "--", relpath)
            self._git("commit", "-q", "-m", message)
            return self._git("rev-parse", "HEAD")

    # -- reads --------------------------------------------------------------------------------
    def read_file(self, relpath: str) -> str | None:
        """A git-tracked file as committed at HEAD (None if it was never committed)."""
        if not (self.root / ".git").exists():
            return None
        proc = subprocess.run(
            ["git", "-C", str(self.root), "show", f"HEAD:{relpath}"],
            capture_output=True,
            text=True,
            check=False,
        )
        return proc.stdout if proc.returncode == 0 else None

    def has_tag(self, tag: str) -> bool:
        if not (self.root / ".git").exists():
            return False
        return bool(self._git("tag", "--list", tag))

    def tags(self, prefix: str = "") -> list[str]:
        """Tags in creation order (oldest first)."""
        if not (self.root / ".git").exists():
            return []
        out = self._git("tag", "--list", f"{prefix}*", "--sort=creatordate")
        return [t for t in out.splitlines() if t]

    def read_table(self, relpath: str, rev: str) -> pd.DataFrame:
        """Read a table as it was at `rev` (a tag), through the DVC API (cache or remote).

        What a commit holds never changes, so the bytes read are kept in a local read cache
        keyed by the commit and path (`_cache_path`): reading history is then one git call
        and a Parquet read per table. Without it every ingest paid a DVC read per earlier
        batch (0.2 s each): ingest time grew with the history, 7 s at 40 batches.

        Reads take the index lock, not the writer lock (the sensor and the UI read while a
        run writes). Without it, two processes building DVC's shared SQLite data index at
        once left a tag's entries missing for good: every later read of that tag raised
        `PathMissingError` (about 1 run in 3 of tests/data/test_registry_race.py). A tag is
        immutable, so a miss on an existing tag means a damaged cache (e.g. from before this
        lock): the index is dropped (DVC rebuilds it) and the read tried once more.
        """
        from dvc.exceptions import FileMissingError, PathMissingError

        cache = self._cache_path(relpath, rev)
        if cache is not None and cache.exists():
            return pd.read_parquet(cache)
        try:
            payload = self._read_once(relpath, rev)
        except (PathMissingError, FileMissingError):
            if not self.has_tag(rev):
                raise
            log.warning("DVC data index lacked %s@%s; rebuilding it", relpath, rev)
            with self._index_lock, self._repo() as repo:
                repo.drop_data_index()
            payload = self._read_once(relpath, rev)
        if cache is not None:  # atomically: a concurrent reader sees all of it or none
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
            tmp.write_bytes(payload)
            os.replace(tmp, cache)
        return pd.read_parquet(io.BytesIO(payload))

    def _cache_path(self, relpath: str, rev: str) -> Path | None:
        """Where the read cache keeps `relpath` as committed at `rev` (None: `rev` names no
        commit, so there is nothing safe to key on). Under `.dvc/tmp/`, which DVC git-ignores;
        deleting it costs only re-reads."""
        proc = subprocess.run(
            ["git", "-C", str(self.root), "rev-parse", "--verify", "-q", f"{rev}^{{commit}}"],
            capture_output=True,
            text=True,
            check=False,
        )
        sha = proc.stdout.strip()
        if proc.returncode != 0 or not sha:
            return None
        name = hashlib.sha256(f"{sha}:{relpath}".encode()).hexdigest()[:32]
        return self.root / ".dvc" / "tmp" / "driftwise-tables" / f"{name}.parquet"

    def _read_once(self, relpath: str, rev: str) -> bytes:
        import dvc.api

        with self._index_lock:
            return dvc.api.read(
                relpath,
                repo=str(self.root),
                rev=rev,
                mode="rb",
                remote_config=self._remote_config(),
            )

    def tagged_tables(
        self, prefix: str, relpath: Callable[[str], str], columns: list[str] | None = None
    ) -> list[tuple[str, pd.DataFrame]]:
        """Every table that exists by tag (`prefix*`), oldest first, read at its tag.

        Only tags count: a file a crashed writer left in the work tree is never read.
        """
        out = []
        for tag in self.tags(prefix):
            frame = self.read_table(relpath(tag.removeprefix(prefix)), rev=tag)
            out.append((tag, frame[columns] if columns else frame))
        return out
