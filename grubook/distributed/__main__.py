"""The command line that ``torchrun ... -m grubook.distributed`` runs in each process.

Each process trains with :func:`grubook.distributed.train_ddp`; rank 0 prints the result (one
JSON object with ``--json``). Introduced in chapter 9, *On the GPU (optional)*.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence

import torch

from grubook.distributed import train_ddp


def main(argv: Sequence[str] | None = None) -> None:
    """The command line for ``torchrun ... -m grubook.distributed``: rank 0 prints the result."""
    parser = argparse.ArgumentParser(
        prog="grubook.distributed", description="Train a GRU classifier with DDP (under torchrun)"
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden-size", type=int, default=32)
    parser.add_argument("--n-train", type=int, default=4096)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = train_ddp(args.epochs, args.batch_size, args.hidden_size, args.n_train, seed=args.seed)
    if int(os.environ.get("RANK", 0)) == 0:
        if args.json:
            print(json.dumps(result))
        else:
            print("\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
