"""Train each lab's default config (JSON files written by tests/gpu/test_lab_defaults.py) on a
device, one after another in this process, and print one JSON line a run: its status, seconds,
training samples/s and final metrics. Configs named with --twins also train on the CPU, for the
GPU's speed-up on the same config. Usage (tests/gpu/check.sh):

    python3 tests/gpu/train_defaults.py CONFIG_DIR --device cuda --twins images-0 sequences-0
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path


def train(cfg_dict: dict, device: str, runs_dir: str) -> dict:
    from dlviz import jobs
    from dlviz.config import RunConfig

    cfg_dict = copy.deepcopy(cfg_dict)
    cfg_dict["train"]["device"] = device
    cfg_dict["train"]["until_stopped"] = False  # the Playground trains until stopped
    cfg = RunConfig.from_dict(cfg_dict)
    t0 = time.perf_counter()
    h = jobs.start(cfg, runs_dir=runs_dir).wait(600)
    s = h.summary if isinstance(h.summary, dict) else {}
    return {
        "device": device,
        "resolved": h.device,
        "status": h.status,
        "message": h.message,
        "wall_s": round(time.perf_counter() - t0, 3),
        "seconds": s.get("seconds"),
        "samples_per_second": s.get("samples_per_second"),
        "epochs": s.get("epochs"),
        "final": h.final,
        "outcome": s.get("outcome"),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("configs")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--twins", nargs="*", default=[])
    args = ap.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as runs_dir:
        for path in sorted(Path(args.configs).glob("*.json")):
            d = json.loads(path.read_text())
            devices = [args.device] + (["cpu"] if path.stem in args.twins else [])
            for device in devices:
                row = {"config": path.stem, "arch": d["model"].get("arch"),
                       "data": d["data"].get("name"), **train(d, device, runs_dir)}  # fmt: skip
                failed += row["status"] != "finished"
                print(json.dumps(row), flush=True)
    print(f"{failed} run(s) did not finish", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
