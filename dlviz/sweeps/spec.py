"""A sweep file: a base run config, a grid of values for dotted config fields, combinations to
leave out, the seeds each combination is repeated with, and the metric that decides "best".

```json
{"base": {"data": {"name": "spiral"}, "train": {"epochs": 40}},
 "grid": {"model.depth": [2, 8], "model.residual": [false, true], "train.lr": [0.003]},
 "exclude": [{"model.depth": 2, "model.residual": true}],
 "seeds": [0, 1, 2],
 "metric": {"name": "test_accuracy", "goal": "max"}}
```

- `base`: a partial run config (missing fields take their defaults), or the path of a config
  file, relative to the sweep file;
- `grid`: dotted fields (``train.lr``, ``model.hidden``) to lists of values. For an MLP,
  ``model.depth`` and ``model.width`` are shorthands: ``model.hidden`` becomes ``depth`` layers
  of ``width`` units (the base's depth or width where only one is swept);
- `exclude`: a list of partial combinations; a trial whose parameters match every field of one
  of them is left out;
- `seeds`: the replicate axis (``train.seed``), aggregated over; the data split keeps the
  base's ``data.seed`` unless ``"seed_data": true`` (then ``data.seed`` follows too);
- `metric`: ``{"name": ..., "goal": "max" | "min"}``, by default test accuracy, higher better.

`expand(spec)` gives every trial in a stable order, each with its parameters, seed, full
config and a key that depends only on those (so running the file again skips what finished).
Every problem is one `SweepError` naming the field, and the trial where it is one trial's.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlviz import jsonread
from dlviz.config import MAX_HIDDEN_LAYERS, ConfigError, RunConfig

MAX_TRIALS = 10_000  # a hard cap: no sweep file expands beyond this
# The most checks of a combination against an exclusion `count` makes (combinations x
# exclusions, about a second): beyond it, a grid with exclusions is refused before any is built
MAX_EXCLUSION_CHECKS = 1_000_000
CONFIRM_TRIALS = 200  # more than this asks for --yes
MAX_FILE_BYTES = 1_000_000
METRICS = {  # what a trial's summary gives, and which way is better by default
    "test_accuracy": "max",
    "train_accuracy": "max",
    "test_loss": "min",
    "train_loss": "min",
    "best_test_accuracy": "max",
    "seconds": "min",
}
SHORTHANDS = ("model.depth", "model.width")
TOP_LEVEL = {"base", "grid", "exclude", "seeds", "metric", "seed_data", "name"}


class SweepError(ValueError):
    """A sweep file is wrong: `field` is where (``grid.train.lr``, ``trial 3 (model.depth=2,
    seed 0)``)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: its swept values (dotted field -> value), its seed, the whole run
    config it trains, and its key (stable for the same parameters, seed and base)."""

    index: int
    params: dict[str, Any]
    seed: int
    config: RunConfig
    key: str

    def label(self) -> str:
        shown = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        return f"{shown}, seed {self.seed}" if shown else f"seed {self.seed}"


@dataclass(frozen=True)
class SweepSpec:
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    exclude: list[dict[str, Any]] = field(default_factory=list)
    seeds: list[int] = field(default_factory=lambda: [0])
    metric: str = "test_accuracy"
    goal: str = "max"
    seed_data: bool = False
    name: str = ""


def _shown(key: str) -> str:
    """A key as a message names it: in quotes when it would not show (empty, blank or
    unprintable)."""
    return key if key.strip() and key.isprintable() else json.dumps(key)


def _short(v: Any) -> str:
    return json.dumps(v, separators=(",", ":")) if not isinstance(v, str) else v


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _read_json(p: Path, field: str, what: str) -> Any:
    """The JSON in file `p` (`what` names it in errors), or one SweepError under `field`."""
    try:
        exists = p.is_file()
        size = p.stat().st_size if exists else 0
        data = p.read_bytes() if exists and size <= MAX_FILE_BYTES else b""
    except OSError as e:  # a path longer than the system takes, no permission
        raise SweepError(field, f"{what} cannot be read ({e.strerror or e})") from e
    if not exists:
        raise SweepError(field, f"{what} does not exist")
    if size > MAX_FILE_BYTES:
        raise SweepError(field, f"{what} is over 1 MB; it should be small JSON")
    try:
        return jsonread.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise SweepError(field, f"{what} is not UTF-8 text") from e
    except json.JSONDecodeError as e:
        raise SweepError(field, f"{what} is not valid JSON ({e.msg} at line {e.lineno})") from e
    except jsonread.NestedTooDeep as e:
        raise SweepError(field, f"{what} nests lists or objects too deeply to read") from e
    except ValueError as e:  # a number of more digits than Python reads (4,300)
        raise SweepError(field, f"{what} holds a number with too many digits to read") from e


def read_spec(path: str | Path) -> SweepSpec:
    """The sweep file at `path` (JSON), checked (`parse`); a base given as a path is read
    relative to the file."""
    p = Path(path)
    return parse(_read_json(p, "sweep", f"file {str(path)!r}"), p.parent)


def _read_base(value: Any, folder: Path | None) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        p = Path(value)
        if not p.is_absolute() and folder is not None:
            p = folder / p
        obj = _read_json(p, "base", f"config file {value!r}")
        if not isinstance(obj, dict):
            raise SweepError("base", f"config file {value!r} must hold a JSON object")
        return obj
    raise SweepError("base", "must be a run config (a JSON object) or the path of one")


def parse(obj: Any, folder: Path | None = None) -> SweepSpec:
    """A sweep file's JSON object, checked field by field (not yet each trial: `expand`)."""
    if not isinstance(obj, dict):
        raise SweepError("sweep", f"must be a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - TOP_LEVEL)
    if unknown:
        raise SweepError(
            _shown(unknown[0]),
            f"is not a sweep field (the fields are {', '.join(sorted(TOP_LEVEL))})",
        )
    base = _read_base(obj.get("base", {}), folder)
    try:
        RunConfig.from_dict(base)
    except ConfigError as e:
        raise SweepError(f"base.{e.field}", str(e).split(": ", 1)[-1]) from e
    grid = obj.get("grid", {})
    if not isinstance(grid, dict):
        raise SweepError("grid", "must map dotted config fields to lists of values")
    for name, values in grid.items():
        where = f"grid.{_shown(name)}"
        if not isinstance(name, str) or name.count(".") != 1 or not all(name.split(".")):
            raise SweepError(where, "must be a dotted field: section.field, e.g. train.lr")
        if not isinstance(values, list) or not values:
            raise SweepError(where, "must be a non-empty list of values")
        if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
            raise SweepError(where, "lists a value twice")
        if name in ("train.seed",):
            raise SweepError(where, "the seeds are the sweep's `seeds`, not a grid axis")
    exclude = obj.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(x, dict) and x for x in exclude):
        raise SweepError("exclude", "must be a list of non-empty objects (partial combinations)")
    for i, combo in enumerate(exclude):
        for name in combo:
            if name not in grid:
                raise SweepError(f"exclude[{i}].{_shown(name)}", "is not an axis of the grid")
    seeds = obj.get("seeds", [0])
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if not 1 <= seeds <= 100:
            raise SweepError("seeds", "as a number, must be a count from 1 to 100")
        seeds = list(range(seeds))
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
    ):
        raise SweepError("seeds", "must be a non-empty list of whole numbers >= 0, or a count")
    if len(set(seeds)) != len(seeds):
        raise SweepError("seeds", "lists a seed twice")
    metric = obj.get("metric", {"name": "test_accuracy"})
    if isinstance(metric, str):
        metric = {"name": metric}
    if not isinstance(metric, dict) or set(metric) - {"name", "goal"}:
        raise SweepError("metric", 'must be {"name": ..., "goal": "max" or "min"}')
    m_name = metric.get("name", "test_accuracy")
    if not isinstance(m_name, str) or m_name not in METRICS:
        raise SweepError("metric.name", f"must be one of {', '.join(METRICS)}, got {m_name!r}")
    goal = metric.get("goal", METRICS[m_name])
    if goal not in ("max", "min"):
        raise SweepError("metric.goal", f"must be max or min, got {goal!r}")
    seed_data = obj.get("seed_data", False)
    if not isinstance(seed_data, bool):
        raise SweepError("seed_data", "must be true or false")
    name = obj.get("name", "")
    if not isinstance(name, str) or len(name) > 80:
        raise SweepError("name", "must be text of at most 80 characters")
    return SweepSpec(base, grid, exclude, seeds, m_name, goal, seed_data, name)


def _excluded(params: dict[str, Any], exclude: list[dict[str, Any]]) -> bool:
    return any(all(params.get(k) == v for k, v in combo.items()) for combo in exclude)


def _apply(base: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """`base` with the dotted `params` set (the MLP shorthands turned into model.hidden)."""
    out = json.loads(json.dumps(base))
    depth = params.get("model.depth")
    width = params.get("model.width")
    for name, value in params.items():
        if name in SHORTHANDS:
            continue
        section, key = name.split(".")
        sec = out.setdefault(section, {})
        if not isinstance(sec, dict):
            raise SweepError(f"base.{section}", "must be a JSON object")
        sec[key] = value
    if depth is not None or width is not None:
        model = out.setdefault("model", {})
        hidden = model.get("hidden") or [8, 8, 8]
        if not isinstance(hidden, list):
            raise SweepError(
                "model.hidden", f"must be a list of widths for model.depth or model.width, got "
                f"{hidden!r}"
            )  # fmt: skip
        d = depth if depth is not None else len(hidden)
        w = width if width is not None else (hidden[0] if hidden else 8)
        for label, v, hi in (("model.depth", d, MAX_HIDDEN_LAYERS), ("model.width", w, None)):
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
                raise SweepError(f"grid.{label}", f"must be whole numbers >= 1, got {v!r}")
            if hi is not None and v > hi:  # checked before a list of that many is made
                raise SweepError(f"grid.{label}", f"must be at most {hi}, got {v:,}")
        model["hidden"] = [w] * d
    return out


def trial_key(config: dict[str, Any]) -> str:
    """A short stable key of a trial's whole config (sorted JSON, SHA-256)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def count(spec: SweepSpec) -> int:
    """How many trials the sweep has, without building them (exclusions applied). Raises
    SweepError for a grid whose combinations times exclusions exceed MAX_EXCLUSION_CHECKS."""
    axes = list(spec.grid)
    combos = math.prod(len(spec.grid[a]) for a in axes)
    if not spec.exclude:
        return combos * len(spec.seeds)
    if combos * len(spec.exclude) > MAX_EXCLUSION_CHECKS:
        raise SweepError(
            "grid",
            f"has {combos:,} combinations to check against {len(spec.exclude):,} exclusions, "
            f"over the limit of {MAX_EXCLUSION_CHECKS:,} checks: sweep fewer values, or leave "
            "fewer combinations out",
        )
    values = itertools.product(*(spec.grid[a] for a in axes))
    return sum(not _excluded(dict(zip(axes, v)), spec.exclude) for v in values) * len(spec.seeds)


def expand(spec: SweepSpec, limit: int = MAX_TRIALS) -> list[Trial]:
    """Every trial, combination by combination (the grid's axes in the file's order, the last
    changing fastest), each seed in turn. Raises SweepError for a sweep over `limit` trials or
    a trial whose config is wrong (naming the trial and the field)."""
    n = count(spec)
    if n == 0:
        raise SweepError("exclude", "leaves no trial to run")
    if n > limit:
        raise SweepError("sweep", f"has {n:,} trials, over the limit of {limit:,}")
    axes = list(spec.grid)
    trials: list[Trial] = []
    for values in itertools.product(*(spec.grid[a] for a in axes)):
        params = dict(zip(axes, values))
        if _excluded(params, spec.exclude):
            continue
        for seed in spec.seeds:
            index = len(trials)
            shown = ", ".join(f"{k}={_short(v)}" for k, v in params.items())
            where = f"trial {index} ({shown + ', ' if shown else ''}seed {seed})"
            try:
                d = _apply(spec.base, params)
            except SweepError as e:
                raise SweepError(f"{where}: {e.field}", str(e).split(": ", 1)[-1]) from e
            train = d.setdefault("train", {})
            if not isinstance(train, dict):
                raise SweepError("base.train", "must be a JSON object")
            train["seed"] = seed
            if spec.seed_data:
                data = d.setdefault("data", {})
                if isinstance(data, dict):
                    data["seed"] = seed
            try:
                config = RunConfig.from_dict(d)
            except ConfigError as e:
                raise SweepError(f"{where}: {e.field}", str(e).split(": ", 1)[-1]) from e
            if config.train.until_stopped:
                raise SweepError(
                    f"{where}: train.until_stopped", "a sweep's trials must end: set it false"
                )
            full = config.to_dict()
            trials.append(Trial(index, params, seed, config, trial_key(full)))
    return trials


def sweep_id(spec: SweepSpec) -> str:
    """The sweep's id: its name (or "sweep") and a hash of what defines its trials, so the
    same file resumes into the same sweep."""
    text = json.dumps(
        {
            "base": spec.base,
            "grid": spec.grid,
            "exclude": spec.exclude,
            "seeds": spec.seeds,
            "seed_data": spec.seed_data,
        },
        sort_keys=True,
    )
    slug = "".join(c if c.isalnum() else "-" for c in (spec.name or "sweep").lower())[:40]
    return f"{slug.strip('-') or 'sweep'}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"
