"""Fine-tune the accurate tier (MiniLM + head) in bf16 on a GPU: samples/s, peak memory,
and Lightning vs a plain loop, side by side. Run through `bench/gpu_train.sh`.

    .venv/bin/python bench/gpu_train.py --require-cuda [--steps 300] [--batch-size 32]

Needs CUDA. Without it the script says so and exits: with status 1 under `--require-cuda`
(what gpu_train.sh passes), with status 0 otherwise, so `make bench` on a CPU-only machine
skips it instead of failing. `--cpu-smoke` runs a few fp32 steps on the CPU to check the
harness itself (numbers meaningless).
"""

import argparse
import os
import sys

import torch

from orchestration.cli import offline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--require-cuda", action="store_true")
    parser.add_argument("--cpu-smoke", action="store_true")
    args = parser.parse_args()
    offline.apply()

    if not torch.cuda.is_available() and not args.cpu_smoke:
        print(
            "gpu_train: CUDA is not available (torch "
            f"{torch.__version__}, cuda build {torch.version.cuda}); nothing to measure.",
            file=sys.stderr,
        )
        sys.exit(1 if args.require_cuda else 0)

    from lightning_vs_plain import compare, print_table
    from train_throughput import home, load_data, movie_snapshot

    from models.spec import TrainSpec

    if args.cpu_smoke:
        spec = TrainSpec(
            tier="accurate",
            accurate_mode="finetune",
            accelerator="cpu",
            batch_size=4,
            precision="32-true",
        )
        steps, warmup = 2, 1
        device = "cpu (smoke)"
    else:
        spec = TrainSpec(
            tier="accurate",
            accurate_mode="finetune",
            accelerator="gpu",
            batch_size=args.batch_size,
            num_workers=args.num_workers,
        )
        steps, warmup = args.steps, args.warmup
        device = torch.cuda.get_device_name(0)
        torch.set_float32_matmul_precision("high")
        # What `train` runs under on a GPU (deterministic="warn" in models.spec), set for both
        # loops so the plain one is not timed with faster, non-deterministic kernels.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)

    snapshot = movie_snapshot(load_data())
    print(
        f"device {device}; fine-tuning all-MiniLM-L6-v2 + head, batch {spec.batch_size}, "
        f"{steps} timed steps after {warmup} warm-up",
        flush=True,
    )
    row = compare(
        f"finetune {spec.precision if args.cpu_smoke else 'bf16-mixed'}",
        spec,
        snapshot,
        home() / "cache" / "embeddings",
        steps,
        warmup,
    )
    print_table([row], memory=True)


if __name__ == "__main__":
    main()
