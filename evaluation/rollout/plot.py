"""The canary timeline: challenger traffic share, per-arm error / unsure rates and p95
latency over time, with each decision marked (PNG for Dagster metadata and the record)."""

from pathlib import Path

from evaluation.rollout.machine import RolloutState


def _rate(arm: dict, key: str, total: str) -> float | None:
    n = arm.get(total) or 0
    return (arm.get(key) or 0) / n if n else None


def timeline_plot(state: RolloutState, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = state.timeline
    t0 = state.started_at
    xs = [(e.at - t0) for e in entries]
    fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    # each entry carries the stage it judged: its share held up to the entry (where="pre")
    axes[0].step(xs, [e.weight for e in entries], where="pre", color="black")
    axes[0].set_ylabel("challenger share")
    axes[0].set_ylim(-0.05, 1.05)
    for arm, color in (("champion", "tab:blue"), ("challenger", "tab:orange")):
        errs = [_rate(getattr(e, arm), "errors", "requests") for e in entries]
        unsure = [_rate(getattr(e, arm), "unsure", "texts") for e in entries]
        p95 = [getattr(e, arm).get("latency_p95_ms") for e in entries]
        axes[1].plot(xs, errs, color=color, label=f"{arm} errors")
        axes[1].plot(xs, unsure, color=color, linestyle="--", label=f"{arm} unsure")
        axes[2].plot(xs, p95, color=color, label=f"{arm} p95 latency")
    axes[1].set_ylabel("rate in stage")
    axes[2].set_ylabel("ms")
    axes[2].set_xlabel("seconds since the rollout started")
    for ax in axes[1:]:
        ax.legend(fontsize=7, loc="upper left")
    for e, x in zip(entries, xs, strict=True):
        if e.verdict != "hold":
            color = {"rollback": "red", "promote": "green"}.get(e.verdict, "grey")
            for ax in axes:
                ax.axvline(x, color=color, alpha=0.5, linewidth=1)
            axes[0].annotate(
                f"{e.verdict} ({e.stage})", (x, 1.0), fontsize=7, rotation=90, va="top"
            )
    fig.suptitle(
        f"rollout {state.rollout_id}: v{state.challenger_version} vs champion "
        f"v{state.champion_version} -> {state.status}"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
