"""The length experiment: a plain RNN, an LSTM, a GRU and a Transformer trained on the same
symbol task at a ladder of lengths, with the same data seed, training seed (or seeds) and
number of optimizer steps; what each reached at each length, and how much of the gradient at
the last step reaches the first.

On its defaults (temporal_order at lengths 5, 10, 20, 50 and 100; 32 units; 1,600 steps of 64
sequences drawn from 6,000, of which 4,200 train; Adam at 0.0015; the gradient clipped to norm
1; the LSTM's forget gate and the GRU's update gate starting open, at the model's bias of 1.0)
it shows on a 2-core CPU, in 3 to 4 minutes with one torch thread (204 s for seed 0, 207 s for
seed 1), what Bengio et al. (1994) and Hochreiter and Schmidhuber (1997) reported: the plain
RNN solves lengths 5 to 20 and is at chance at 50 and 100; the LSTM and the GRU get every test
sequence right at every length, and so does the Transformer, however far apart the markers
are. (With the GRU's update gate at torch's own start, keeping half its state a step, the GRU
was at chance at 100 within this budget: its gradient from the first step vanished about as
fast as the RNN's.)

How the defaults were chosen: the LSTM at length 100 is the hard case. It learns in a sudden
jump after a search whose length depends on the seed; with these settings it jumped within the
budget for 11 of the seeds 0 to 11 (by step 1,452 for seeds 0 and 1). A larger learning rate, a
smaller batch or more sequences (each seen less often) made it less reliable.

That search is why the experiment takes `seeds`: each network at each length trains once per
training seed, on the same data and split, so a reading can say in how many seeds a network
stays above chance (the LSTM at length 100: in 11 of the seeds 0 to 11), not only what one
seed gave. Each seed costs the same again: 3 to 4 minutes a seed on the defaults. Over seeds
the charts draw the mean test accuracy with its 95% interval (Student's t), and the gradient
share's median (on a log scale, `log_median`) with its smallest and largest value (see
`over_seeds`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np

from dlviz.captions import factor
from dlviz.config import (
    MAX_SEQUENCE_LENGTH,
    ConfigError,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
)
from dlviz.data.base import split
from dlviz.data.symbols import generate
from dlviz.outcome import margin
from dlviz.sequence_probe import SATURATED
from dlviz.sweeps.aggregate import mean_ci
from dlviz.train import batch_bounds

TASKS = ("temporal_order", "recall")
ARCHS = ("rnn", "lstm", "gru", "transformer")
ARCH_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU", "transformer": "Transformer"}
DEFAULT_LENGTHS = (5, 10, 20, 50, 100)
# What always answering one class gets: temporal_order has 4 classes (XX, XY, YX, YY), recall
# 10 values (the digits); both balanced.
CHANCE = {"temporal_order": 0.25, "recall": 0.1}
TEST_FRACTION = 0.3
# A change of accuracy within this many points across lengths "barely changes".
FLAT = 0.05


@dataclass(frozen=True)
class LengthExperiment:
    """Which task, lengths and networks, and the training every run gets.

    `steps` is the budget of optimizer steps each run gets, whatever its length: a run's
    epochs are ``round(steps / steps_per_epoch)`` (at least 1), where ``steps_per_epoch`` is
    the number of batches of `batch_size` in that length's training set (`n_samples` less the
    test share, split as the run will split it). So every run takes `steps` steps, give or
    take half an epoch, and sees the same number of sequences.

    `seed` fixes the data and its split; `seeds` are the training seeds (``train.seed``: the
    weights' start and the batches' order), each network at each length trained once per seed
    on that same data. Left out (None), it is ``(seed,)``: one run each, trained with the data's
    seed, as before seeds existed."""

    task: str = "temporal_order"
    lengths: tuple[int, ...] = DEFAULT_LENGTHS
    archs: tuple[str, ...] = ARCHS
    hidden_size: int = 32
    steps: int = 1600
    n_samples: int = 6000
    seed: int = 0
    lr: float = 0.0015
    batch_size: int = 64
    clip: float = 1.0
    device: str = "auto"
    seeds: tuple[int, ...] | None = None  # None: (seed,)

    def __post_init__(self) -> None:
        if self.seeds is None or isinstance(self.seeds, list):  # frozen: set once, here
            seeds = (self.seed,) if self.seeds is None else tuple(self.seeds)
            object.__setattr__(self, "seeds", seeds)
        if not isinstance(self.seeds, tuple) or not self.seeds:
            raise ConfigError("seeds", "choose one or more different seeds")
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError("seeds", "each seed once: choose one or more different seeds")
        for s in self.seeds:
            if isinstance(s, bool) or not isinstance(s, int):
                raise ConfigError("seeds", f"must be whole numbers, got {s!r}")
        if self.task not in TASKS:
            raise ConfigError("task", f"must be temporal_order or recall, got {self.task!r}")
        if not self.lengths:
            raise ConfigError("lengths", "choose at least one length")
        if len(set(self.lengths)) != len(self.lengths):
            raise ConfigError("lengths", "each length once")
        for n in self.lengths:
            if isinstance(n, bool) or not isinstance(n, int):
                raise ConfigError("lengths", f"must be whole numbers, got {n!r}")
        if not self.archs:
            raise ConfigError("archs", "choose at least one of rnn, lstm, gru, transformer")
        if len(set(self.archs)) != len(self.archs):
            raise ConfigError("archs", "each network once")
        for a in self.archs:
            if a not in ARCHS:
                raise ConfigError("archs", f"must be rnn, lstm, gru or transformer, got {a!r}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ConfigError("steps", f"must be a whole number of at least 1, got {self.steps!r}")
        if self.steps > 1_000_000:
            raise ConfigError("steps", f"must be at most 1,000,000, got {self.steps!r}")
        # the parts check every other value and name its field (data.length, model.hidden_size,
        # train.lr, ...): recall, for one, has 26 keys and no sequence longer than 54
        for s in self.seeds:  # TrainConfig checks each seed's range (train.seed)
            self._train(seed=s)
        for n in self.lengths:
            self._data(n)
        for a in self.archs:
            self._model(a)

    def _data(self, length: int) -> DataConfig:
        if not 1 <= length <= MAX_SEQUENCE_LENGTH:
            raise ConfigError("data.length", f"must be 1 to {MAX_SEQUENCE_LENGTH}, got {length!r}")
        return DataConfig(
            name=self.task,
            n_samples=self.n_samples,
            length=length,
            seed=self.seed,
            test_fraction=TEST_FRACTION,
        )

    def _model(self, arch: str) -> ModelConfig:
        return ModelConfig(arch=arch, hidden_size=self.hidden_size)

    def _train(self, epochs: int = 1, seed: int | None = None) -> TrainConfig:
        return TrainConfig(
            lr=self.lr,
            batch_size=self.batch_size,
            epochs=epochs,
            seed=self.seed if seed is None else seed,
            clip=self.clip,
            device=self.device,
        )

    def steps_per_epoch(self, length: int) -> int:
        """Batches in one pass over the training set at `length`."""
        n_train = _train_size(self.task, self.n_samples, length, self.seed)
        return len(batch_bounds(n_train, self.batch_size))

    def epochs(self, length: int) -> int:
        """The epochs at `length` that make `steps` optimizer steps, to within half an epoch."""
        return max(1, round(self.steps / self.steps_per_epoch(length)))

    def configs(self) -> list[tuple[str, int, RunConfig]]:
        """(arch, length, config) in the order they run: every network in every seed at the
        shortest length (seed by seed, each seed's networks together), then at the next, so
        the charts fill from left to right. A run's name is "ARCH length N", with " seed S"
        when there are several seeds; every run at a length has the same data (seed `seed`)."""
        seeds = self._seeds()
        several = len(seeds) > 1
        out = []
        for length in sorted(self.lengths):
            data, epochs = self._data(length), self.epochs(length)
            for seed in seeds:
                train = self._train(epochs, seed)
                for arch in self.archs:
                    name = f"{arch} length {length}" + (f" seed {seed}" if several else "")
                    cfg = RunConfig(data, self._model(arch), train, name=name)
                    out.append((arch, length, cfg))
        return out

    @property
    def runs(self) -> int:
        """How many runs `configs` makes: a network, a length and a seed each."""
        return len(self.lengths) * len(self.archs) * len(self._seeds())

    def _seeds(self) -> tuple[int, ...]:
        return self.seeds or (self.seed,)  # never None once built (__post_init__)

    @property
    def chance(self) -> float:
        return CHANCE[self.task]


@lru_cache(maxsize=64)
def _train_size(task: str, n: int, length: int, seed: int) -> int:
    """The training sequences of `task` at `length`, split as `dlviz.data` splits it (by class,
    so the count depends on the labels drawn)."""
    s = generate(task, n, length, seed)
    return len(split(np.arange(n), s.y, TEST_FRACTION, seed)[0])


def chance(task: str) -> float:
    """The accuracy of guessing the task's balanced classes."""
    return CHANCE[task]


# --- one run's result -----------------------------------------------------------------------------

# The gate that decides how much of its state a gated layer keeps from one step to the next: an
# LSTM's forget gate (c_t = f * c_{t-1} + ...), a GRU's update gate (h_t = z * h_{t-1} + ...).
KEEP_GATES = {"lstm": "forget", "gru": "update"}


@dataclass(frozen=True)
class LengthResult:
    """What one run reached. Its numbers are NaN until it has finished, and stay NaN when it was
    stopped or diverged: it trained fewer steps than the others and does not compare.

    `first_step_gradient`: the share of the gradient at the last step that reaches the first,
    ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ of the first layer over the probe batch, at the end of training (it
    depends on what the network learned); `initial_gradient`: the same at initialisation, before
    any step (it depends on the architecture and the length alone). `keep_gate`,
    `initial_keep_gate`: the mean of the gate that keeps the state from step to step (an
    LSTM's forget gate, a GRU's update gate; NaN for others) over the steps, at the end and
    at initialisation. `n_test`: the test sequences behind `test_accuracy`; `train_accuracy` (on a
    sample of the training set) tells a network that memorised its training sequences.

    A row over seeds (`over_seeds`) has `runs` > 1, the runs (seeds) behind it, and `n`, those
    that finished: its accuracies, keeping gates and seconds are their means, `test_ci` the
    test accuracy's 95% interval (Student's t; None with one), `above` how many of them were
    clearly above chance; its gradient shares are their medians (`log_median`), with the
    smallest and largest in `gradient_range` (trained) and `initial_gradient_range`."""

    arch: str
    length: int
    status: str
    test_accuracy: float
    first_step_gradient: float
    initial_gradient: float
    seconds: float
    n_test: int = 0
    task: str = "temporal_order"
    keep_gate: float = math.nan
    initial_keep_gate: float = math.nan
    train_accuracy: float = math.nan
    seed: int = 0  # the training seed (train.seed)
    # over seeds (`over_seeds`)
    runs: int = 1
    n: int = 1
    above: int | None = None
    test_ci: tuple[float, float] | None = None
    gradient_range: tuple[float, float] | None = None
    initial_gradient_range: tuple[float, float] | None = None

    @property
    def finished(self) -> bool:
        """It has numbers to read: the run finished (over seeds: at least one of them did)."""
        if not math.isfinite(self.test_accuracy):
            return False
        return self.status == "finished" or (self.runs > 1 and self.n > 0)

    @classmethod
    def from_history(cls, arch: str, length: int, history: Any) -> LengthResult:
        """From a run's `RunHistory`: its final test accuracy, and the gradient reaching the
        first step (and the keeping gate) in its first snapshot, taken before the first step,
        and its last, taken at the end."""
        done = history.status == "finished"
        final = history.final if done else {}
        snaps = list(history.seq) if done else []
        first = snaps[0] if snaps and snaps[0].step == 0 else None
        last = snaps[-1] if snaps else None
        config = history.config if isinstance(history.config, dict) else {}
        data, train = config.get("data", {}), config.get("train", {})
        nan = math.nan
        return cls(
            arch=arch,
            length=length,
            status=history.status,
            test_accuracy=final.get("test_accuracy", nan),
            first_step_gradient=first_step_share(last) if last is not None else nan,
            initial_gradient=first_step_share(first) if first is not None else nan,
            seconds=history.elapsed if done else nan,
            n_test=history.test_samples if done else 0,
            task=data.get("name", "temporal_order") if isinstance(data, dict) else "temporal_order",
            keep_gate=keep_gate_mean(last, arch) if last is not None else nan,
            initial_keep_gate=keep_gate_mean(first, arch) if first is not None else nan,
            train_accuracy=final.get("train_accuracy", nan),
            seed=int(train.get("seed", 0)) if isinstance(train, dict) else 0,
        )

    def row(self) -> dict[str, Any]:
        """The row the Sequence lab's length figures draw. Its gradient is the one at
        initialisation (`initial_gradient`; see `SHOWN_GRADIENT`). A row over seeds adds `n`
        (the seeds that finished), `test_ci` and `first_step_gradient_range` (None where
        there is none)."""
        out: dict[str, Any] = {
            "arch": self.arch,
            "length": self.length,
            "status": self.status,
            "test_accuracy": self.test_accuracy if self.finished else math.nan,
            "first_step_gradient": self.initial_gradient if self.finished else math.nan,
        }
        if self.runs > 1:
            out["n"] = self.n
            out["test_ci"] = self.test_ci if self.finished else None
            out["first_step_gradient_range"] = (
                self.initial_gradient_range if self.finished else None
            )
        return out


# --- over seeds -----------------------------------------------------------------------------------


def log_median(values: Sequence[float]) -> float:
    """The median on a log scale: the middle value, or for an even count the geometric mean of
    the two middle ones (0 when the smaller is 0: a share that underflowed sits at minus
    infinity on that scale). NaN for no values. Why not the mean: across seeds the gradient
    share spans orders of magnitude, so an arithmetic mean is about the largest seed's value
    over n, and a geometric mean is 0 as soon as one seed's share underflowed to 0."""
    vs = sorted(values)
    if not vs:
        return math.nan
    mid = len(vs) // 2
    if len(vs) % 2:
        return vs[mid]
    lo, hi = vs[mid - 1], vs[mid]
    if lo <= 0:
        return 0.0
    return math.exp((math.log(lo) + math.log(hi)) / 2)


def _mean(values: Sequence[float]) -> float:
    vs = [v for v in values if math.isfinite(v)]
    return sum(vs) / len(vs) if vs else math.nan


def _spread(values: Sequence[float]) -> tuple[float, tuple[float, float] | None]:
    """The log median of the finite values and their (smallest, largest); NaN and None for
    none."""
    vs = [v for v in values if math.isfinite(v)]
    return log_median(vs), ((min(vs), max(vs)) if vs else None)


def over_seeds(results: Sequence[LengthResult]) -> list[LengthResult]:
    """One LengthResult per (arch, length), in the order first met, over its seeds: of those
    that finished, the mean test and train accuracy with the test accuracy's 95% interval
    (`dlviz.sweeps.aggregate.mean_ci`), the mean keeping gates and seconds, the median gradient
    shares with their range, and how many were clearly above chance (`above`). Its status is
    "finished" when every seed finished, else "k of m finished" (or, with none finished yet,
    the state of one still to end). With one seed each (or rows already over seeds), the
    results as they are."""
    if len({r.seed for r in results}) <= 1 or any(r.runs > 1 for r in results):
        return list(results)
    keys = list(dict.fromkeys((r.arch, r.length) for r in results))
    out = []
    for arch, length in keys:
        rows = [r for r in results if (r.arch, r.length) == (arch, length)]
        done = [r for r in rows if r.finished]
        if not done:
            going = [r.status for r in rows if r.status in ("running", "paused")]
            nan = math.nan
            out.append(
                replace(rows[0], status=(going or [rows[-1].status])[0], test_accuracy=nan,
                        first_step_gradient=nan, initial_gradient=nan, seconds=nan,
                        keep_gate=nan, initial_keep_gate=nan, train_accuracy=nan,
                        runs=len(rows), n=0, above=0)
            )  # fmt: skip
            continue
        test, ci = mean_ci([r.test_accuracy for r in done])
        trained, trained_range = _spread([r.first_step_gradient for r in done])
        initial, initial_range = _spread([r.initial_gradient for r in done])
        out.append(
            replace(
                done[0],
                status="finished"
                if len(done) == len(rows)
                else f"{len(done)} of {len(rows)} finished",
                test_accuracy=test,
                train_accuracy=_mean([r.train_accuracy for r in done]),
                first_step_gradient=trained,
                initial_gradient=initial,
                seconds=_mean([r.seconds for r in done]),
                keep_gate=_mean([r.keep_gate for r in done]),
                initial_keep_gate=_mean([r.initial_keep_gate for r in done]),
                runs=len(rows),
                n=len(done),
                above=sum(above_chance(r) for r in done),
                test_ci=(ci[0], ci[1]) if ci else None,
                gradient_range=trained_range,
                initial_gradient_range=initial_range,
            )
        )
    return out


# Why the chart draws the gradient at initialisation: it is what each network starts from, the
# same whatever it then learns, and what decides whether the first marker's meaning can be
# learned at all. After training it mostly says whether the network learned (a network that
# learned to keep its state also passes gradient back; one that did not, does not): the table
# and the reading give that one too.
SHOWN_GRADIENT = "initial"


def first_step_share(snap: Any) -> float:
    """‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ of a SequenceSnapshot's first layer: the share of the gradient at
    the last step (where temporal_order's and recall's class is read) that reaches the first.
    NaN when the snapshot has no gradient for that layer or the last step's is zero."""
    layer = next((name for name in snap.layers if name in snap.grad_steps), None)
    if layer is None:
        return math.nan
    g = np.asarray(snap.grad_steps[layer], dtype=np.float64)
    if len(g) == 0 or not np.isfinite(g).all() or g[-1] <= 0:
        return math.nan
    return float(g[0] / g[-1])


def keep_gate_mean(snap: Any, arch: str) -> float:
    """The mean over the steps of the first layer's keeping gate (an LSTM's forget gate, a
    GRU's update gate) in a SequenceSnapshot; NaN for a network without one."""
    gate = KEEP_GATES.get(arch)
    if gate is None or not snap.layers:
        return math.nan
    parts = snap.gates.get(snap.layers[0], {}).get(gate)
    if not parts or len(parts["mean"]) == 0:
        return math.nan
    return float(np.mean(np.asarray(parts["mean"], dtype=np.float64)))


# --- what the results show ------------------------------------------------------------------------

# What a network must carry across the sequence, by task.
CARRY = {
    "temporal_order": "the first marker",
    "recall": "each key's value",
}


def _name(arch: str) -> str:
    return ARCH_NAMES.get(arch, arch)


def _pct(v: float) -> str:
    return f"{v:.0%}"


def _grad(v: float) -> str:
    if v == 0:
        return "0 (too small for a 32-bit float)"
    return f"{v:.2f}" if v >= 0.1 else f"{v:.1e}"


def _lengths(values: Sequence[int]) -> str:
    words = [str(n) for n in values]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _finished(results: Sequence[LengthResult], arch: str) -> list[LengthResult]:
    return sorted((r for r in results if r.arch == arch and r.finished), key=lambda r: r.length)


def _archs(results: Sequence[LengthResult]) -> list[str]:
    present = {r.arch for r in results}
    return [a for a in ARCHS if a in present] + sorted(present - set(ARCHS))


def above_chance(r: LengthResult) -> bool:
    """The run's test accuracy is clearly above chance: by more than `dlviz.outcome.margin`
    (two standard errors of guessing on its test set, at least 2 points)."""
    c = CHANCE.get(r.task, 0.25)
    return r.test_accuracy > c + margin(c, r.n_test)


def seeds_above(r: LengthResult) -> int:
    """In how many of its finished seeds the row is clearly above chance (a single run: 1 or
    0, by `above_chance`)."""
    return r.above if r.above is not None else int(above_chance(r))


def held(r: LengthResult) -> bool:
    """Clearly above chance in every seed that finished (a single run: `above_chance`)."""
    return seeds_above(r) == r.n > 0


def lost(r: LengthResult) -> bool:
    """No better than chance in any seed that finished (a single run: not `above_chance`)."""
    return seeds_above(r) == 0


def _several(rows: Sequence[LengthResult]) -> bool:
    """The rows are over several seeds (`over_seeds`)."""
    return any(r.runs > 1 for r in rows)


def _count(k: int, m: int) -> str:
    """In how many of `m` seeds: "in all 3 seeds", "in 2 of 3 seeds" (most), "in only 1 of 3
    seeds" (half or fewer)."""
    if m == 1:
        return "in the one seed that finished"
    if k == m:
        return f"in all {m} seeds"
    if 2 * k > m:
        return f"in {k} of {m} seeds"
    return f"in only {k} of {m} seeds"


def _fall(rows: list[LengthResult]) -> tuple[LengthResult | None, LengthResult | None]:
    """(the longest run clearly above chance before the first one that is not, that first one),
    over finished runs by length; None where there is none. Over seeds "clearly above chance"
    is in every seed (`held`): the first one that is not may be at chance in only some."""
    last = None
    for r in rows:
        if not held(r):
            return last, r
        last = r
    return last, None


def reading(results: Sequence[LengthResult]) -> list[str]:
    """What the finished runs show, in plain sentences computed from them (empty until one
    has finished). Only finished runs are read: a stopped or diverged run is left out.

    `results`: one per run. With several seeds they are read over seeds (`over_seeds`): each
    network's sentence counts, length by length, the seeds in which it is clearly above
    chance; the others speak of means (accuracies, gates) and medians (gradient shares), and
    of a network being at chance or above it only where every seed agrees."""
    rows = over_seeds(results)
    done = [r for r in rows if r.finished]
    if not done:
        return []
    task = done[0].task
    c = CHANCE.get(task, 0.25)
    several = _several(done)
    sentence = _arch_seeds_sentence if several else _arch_sentence
    out = [sentence(arch, _finished(done, arch), c) for arch in _archs(done)]
    if not any(seeds_above(r) for r in done):
        out.append(
            "No network learned at any length"
            + (" in any seed" if several else "")
            + ": with this budget none got past guessing. Try more steps per run or another "
            "learning rate."
        )
        return out
    out += _gated_sentence(done, task)
    out += _gradient_sentences(done)
    out += _gru_sentence(done)
    out += _transformer_sentences(done, task)
    return out


def _accs(rows: list[LengthResult], mean: bool = False) -> str:
    """ "100% at each" when every accuracy reads the same, else "between 93% and 100%" (with
    `mean`: "a mean of 100% at each", "means between 93% and 100%")."""
    shown = {_pct(r.test_accuracy) for r in rows}
    if len(shown) == 1:
        return (
            ("a mean of " if mean else "")
            + f"{shown.pop()}"
            + (" at each" if len(rows) > 1 else "")
        )
    lo, hi = min(r.test_accuracy for r in rows), max(r.test_accuracy for r in rows)
    return ("means " if mean else "") + f"between {_pct(lo)} and {_pct(hi)}"


def _at_lengths(rs: list[LengthResult]) -> str:
    word = "length" if len(rs) == 1 else "lengths"
    return f"{word} {_lengths([r.length for r in rs])}"


def _arch_sentence(arch: str, rows: list[LengthResult], c: float) -> str:
    """Where one network is clearly above chance and where it is not, over its finished runs."""
    name = _name(arch)
    above = [r for r in rows if above_chance(r)]
    at = [r for r in rows if not above_chance(r)]
    if not at:
        if len(rows) == 1:
            return (
                f"{name}: clearly above chance ({_pct(c)}) at length {rows[0].length}, "
                f"{_pct(rows[0].test_accuracy)}."
            )
        return (
            f"{name}: clearly above chance ({_pct(c)}) at every length from {rows[0].length} "
            f"to {rows[-1].length}, {_accs(rows)}."
        )
    if not above:
        return (
            f"{name}: no better than chance ({_pct(c)}) at any length: "
            + ", ".join(f"{_pct(r.test_accuracy)} at length {r.length}" for r in rows)
            + "."
        )
    last, fell = _fall(rows)
    after = [r for r in rows if fell is not None and r.length >= fell.length]
    if last is not None and fell is not None and all(not above_chance(r) for r in after):
        return (
            f"{name}: clearly above chance up to length {last.length} "
            f"({_pct(last.test_accuracy)}), then no better than chance ({_pct(c)}): "
            + ", ".join(f"{_pct(r.test_accuracy)} at length {r.length}" for r in after)
            + "."
        )
    return (
        f"{name}: clearly above chance ({_pct(c)}) at {_at_lengths(above)}, no better than "
        f"chance at {_at_lengths(at)}."
    )


def _arch_seeds_sentence(arch: str, rows: list[LengthResult], c: float) -> str:
    """Over seeds: at which lengths one network is clearly above chance in all its finished
    seeds, in most, in only some, or in none, with the mean accuracies; lengths with the same
    count together, in the order of their first length."""
    groups: dict[tuple[int, int], list[LengthResult]] = {}
    for r in rows:
        groups.setdefault((seeds_above(r), r.n), []).append(r)
    clauses = []
    for i, ((k, m), rs) in enumerate(groups.items()):
        chance_ = f"chance ({_pct(c)})" if i == 0 else "chance"
        how = (
            f"no better than {chance_} {_count(m, m)}"
            if k == 0
            else f"clearly above {chance_} {_count(k, m)}"
        )
        where = (
            f"every length from {rs[0].length} to {rs[-1].length}"
            if len(groups) == 1 and len(rs) > 1
            else _at_lengths(rs)
        )
        clauses.append(f"{how} at {where} ({_accs(rs, mean=True)})")
    return f"{_name(arch)}: " + "; ".join(clauses) + "."


def _gated_sentence(done: list[LengthResult], task: str) -> list[str]:
    """Where the plain RNN fell to chance (in every seed), what the gated networks clearly
    above chance there (in every seed) did, and why."""
    several = _several(done)
    _, fell = _fall(_finished(done, "rnn"))
    if fell is None or not lost(fell):
        return []
    there = [r for r in done if r.arch in KEEP_GATES and r.length == fell.length and held(r)]
    if not there:
        return []
    mean = "a mean of " if several else ""
    who = " and ".join(
        f"the {_name(r.arch)}"
        + (f" is right on {mean}" if i == 0 else " on ")
        + _pct(r.test_accuracy)
        for i, r in enumerate(there)
    )
    if several:
        who += (", each" if len(there) > 1 else ",") + " clearly above chance in every seed"
    falls = f"falls to chance {_count(fell.n, fell.n)}" if several else "falls to chance"
    return [
        f"Where the plain RNN {falls}, at length {fell.length} "
        f"({mean}{_pct(fell.test_accuracy)}), {who}. The RNN passes its state through the same "
        "weights and a tanh at every step, so what it read long ago fades, and so does the "
        "gradient that would teach it to keep it (Bengio et al., 1994). A gated network carries "
        f"its state forward through a gate it can hold open, so {CARRY.get(task, 'what it read')}"
        " survives the gap (Hochreiter and Schmidhuber, 1997)."
    ]


def _gradient_sentences(done: list[LengthResult]) -> list[str]:
    """How far the gradient reaching the first step fell with length, the RNN against the
    LSTM, at initialisation; and where they ended after training (over seeds: the medians,
    and the gates' means)."""
    several = _several(done)

    def by_length(arch: str, field: str) -> dict[int, LengthResult]:
        return {r.length: r for r in _finished(done, arch) if math.isfinite(getattr(r, field))}

    rnn_rows, lstm_rows = (
        by_length("rnn", "initial_gradient"),
        by_length("lstm", "initial_gradient"),
    )
    rnn = {n: r.initial_gradient for n, r in rnn_rows.items()}
    lstm = {n: r.initial_gradient for n, r in lstm_rows.items()}
    common = sorted(set(rnn) & set(lstm))
    if len(common) < 2:
        return []
    short, long = common[0], common[-1]
    text = (
        "The share of the gradient at the last step that reaches the first, at initialisation"
        + (" (the median over the seeds)" if several else "")
        + f", from length {short} to {long}: from {_grad(rnn[short])} to {_grad(rnn[long])} "
        f"for the RNN, from {_grad(lstm[short])} to {_grad(lstm[long])} for the LSTM"
    )
    rnn_range = rnn_rows[long].initial_gradient_range
    lstm_range = lstm_rows[long].initial_gradient_range
    if rnn[long] == 0 < lstm[long]:
        if not several:
            text += f". At length {long} none of it reaches the RNN's first step."
        elif rnn_range is not None and rnn_range[1] == 0:
            text += f". At length {long} none of it reaches the RNN's first step, in any seed."
        else:
            text += (
                f". At length {long}, in at least half the seeds, none of it reaches the RNN's "
                "first step."
            )
    elif 0 < rnn[long] < lstm[long]:
        median = "median " if several else ""
        text += f": at length {long} the RNN's {median}is {factor(lstm[long] / rnn[long])} smaller"
        if several and rnn_range and lstm_range and rnn_range[1] < lstm_range[0]:
            text += (
                f", and its largest ({_grad(rnn_range[1])}) is below the LSTM's smallest "
                f"({_grad(lstm_range[0])})"
            )
        text += "."
    else:
        text += "."
    out = [text]
    trained = {r.length: r for r in _finished(done, "lstm")}.get(long)
    trained_rnn = by_length("rnn", "first_step_gradient").get(long)
    if (
        trained is not None
        and math.isfinite(trained.first_step_gradient)
        and trained_rnn is not None
    ):
        after = (
            f"After training, at length {long}"
            + (", the medians over the seeds" if several else "")
            + f": {_grad(trained.first_step_gradient)} for the LSTM, "
            f"{_grad(trained_rnn.first_step_gradient)} for the RNN"
        )
        f0, f1 = trained.initial_keep_gate, trained.keep_gate
        if math.isfinite(f0) and math.isfinite(f1):
            how = "rose" if f1 > f0 + 0.01 else "fell" if f1 < f0 - 0.01 else "stayed"
            move = f"from {f0:.2f} to {f1:.2f}" if how != "stayed" else f"at {f1:.2f}"
            over = "the steps and the seeds" if several else "the steps"
            after += (
                f"; the LSTM's forget gate, averaged over {over}, {how} {move} (1 keeps the "
                "cell as it was)"
            )
        out.append(after + ".")
    return out


def _gru_sentence(done: list[LengthResult]) -> list[str]:
    """Where the GRU is at chance and the LSTM is not (over seeds: in every seed): how the two
    gates that keep their state started, and the gradient reaching the first step with them."""
    several = _several(done)
    lstm = {r.length: r for r in _finished(done, "lstm")}
    for gru in _finished(done, "gru"):
        other = lstm.get(gru.length)
        if other is None or not lost(gru) or not held(other):
            continue
        z, f = gru.initial_keep_gate, other.initial_keep_gate
        if not (math.isfinite(z) and math.isfinite(f)):
            return []
        where = (
            f"The GRU is at chance at length {gru.length} {_count(gru.n, gru.n)}, where the LSTM "
            f"is clearly above it in every seed (a mean of {_pct(other.test_accuracy)})"
            if several
            else f"The GRU is at chance at length {gru.length}, where the LSTM is not "
            f"({_pct(other.test_accuracy)})"
        )
        text = (
            f"{where}: at initialisation its update gate keeps {z:.2f} of its state a step on "
            f"average, the LSTM's forget gate {f:.2f} of its cell"
        )
        g, g_lstm = gru.initial_gradient, other.initial_gradient
        if math.isfinite(g) and math.isfinite(g_lstm) and 0 < g < g_lstm:
            share = "the median share" if several else "the share"
            text += (
                f", so {share} of the gradient reaching its first step starts "
                f"{factor(g_lstm / g)} smaller ({_grad(g)} against {_grad(g_lstm)})"
            )
        return [text + "."]
    return []


def _transformer_sentences(done: list[LengthResult], task: str) -> list[str]:
    """Whether the Transformer's accuracy (over seeds: its mean) changes with length, and why
    it need not."""
    several = _several(done)
    rows = _finished(done, "transformer")
    if len(rows) < 2:
        return []
    accs = [r.test_accuracy for r in rows]
    lo, hi = min(accs), max(accs)
    span = f"from length {rows[0].length} to {rows[-1].length}"
    accuracy = "mean accuracy" if several else "accuracy"
    if hi - lo > FLAT:
        low = min(rows, key=lambda r: r.test_accuracy)
        return [
            f"The Transformer's {accuracy} changes with length {span}: between {_pct(lo)} (at "
            f"length {low.length}) and {_pct(hi)}."
        ]
    if not all(held(r) for r in rows):
        return []  # flat at chance (or not above it in every seed): its own sentence says so
    text = (
        f"The Transformer's {accuracy} barely changes {span} ({_accs(rows, several)}). "
        "Attention reaches any position in one step, so "
        f"{CARRY.get(task, 'what it needs')} is one step from the answer however long the "
        "sequence is"
    )
    g = rows[-1].initial_gradient
    if math.isfinite(g) and 0.1 <= g <= 10:
        share = "the median share" if several else "the share"
        text += (
            f": {share} of its gradient that reaches the first position is {g:.2f} at length "
            f"{rows[-1].length}"
        )
    return [text + "."]


# --- the charts' captions -------------------------------------------------------------------------


def accuracy_caption(results: Sequence[LengthResult]) -> str:
    """One line under the accuracy chart: where each network stays above chance (over seeds:
    in every seed, and how many at the first length where not). `results`: one per run."""
    rows = over_seeds(results)
    done = [r for r in rows if r.finished]
    if not done:
        return "Each point appears when its run has finished."
    c = CHANCE.get(done[0].task, 0.25)
    if _several(rows):
        return _seeds_accuracy_caption(rows, done, c)
    parts = []
    for arch in _archs(done):
        rs = _finished(done, arch)
        last, fell = _fall(rs)
        name = _name(arch)
        if fell is None and len(rs) == len([r for r in rows if r.arch == arch]):
            parts.append(f"{name} above chance at every length")
        elif fell is None:
            parts.append(f"{name} above chance at every length so far")
        elif last is None:
            parts.append(f"{name} at chance from length {fell.length}")
        else:
            parts.append(f"{name} above chance up to {last.length}, at chance at {fell.length}")
    return f"Test accuracy, chance {_pct(c)} dotted: " + "; ".join(parts) + "."


def _seeds_accuracy_caption(rows: list[LengthResult], done: list[LengthResult], c: float) -> str:
    parts = []
    for arch in _archs(done):
        last, fell = _fall(_finished(done, arch))
        name = _name(arch)
        if fell is None:
            complete = all(r.finished and r.n == r.runs for r in rows if r.arch == arch)
            so_far = "" if complete else " so far"
            parts.append(f"{name} above chance in every seed at every length{so_far}")
            continue
        k, m = seeds_above(fell), fell.n
        if last is None:
            count = f"none of {m} seeds" if k == 0 else f"{k} of {m} seeds"
            parts.append(f"{name} above chance in {count} at {fell.length}")
        else:
            count = "none" if k == 0 else f"{k} of {m}"
            parts.append(
                f"{name} above chance in every seed up to {last.length}, in {count} at "
                f"{fell.length}"
            )
    seeds = max(r.runs for r in rows)
    return (
        f"Mean test accuracy over {seeds} seeds with 95% error bars, chance {_pct(c)} dotted: "
        + "; ".join(parts)
        + "."
    )


def gradient_caption(results: Sequence[LengthResult]) -> str:
    """One line under the gradient chart: what is drawn, why at initialisation, and where
    each network's line ends (over seeds: the medians). `results`: one per run."""
    rows = over_seeds(results)
    done = [r for r in rows if r.finished and math.isfinite(r.initial_gradient)]
    why = (
        "Drawn at initialisation, before any step: what each network starts from, whatever it "
        "then learns (the table has the value after training)"
    )
    if _several(rows):
        why += (
            ". Each point is the median over the seeds (the share spans orders of magnitude: a "
            "mean would be set by the largest seed alone), its bar from the smallest to the "
            "largest"
        )
    if not done:
        return why + ". Each point appears when its run has finished."
    parts = []
    for arch in _archs(done):
        rs = [r for r in _finished(done, arch) if math.isfinite(r.initial_gradient)]
        if rs:
            parts.append(f"{_name(arch)} {_grad(rs[-1].initial_gradient)} at {rs[-1].length}")
    return why + ". Reaching the first step: " + ", ".join(parts) + "."


def forget_caption(snap: Any, length: int) -> str:
    """One line under the LSTM's gates at the longest length (its last snapshot, first layer):
    what its forget gate does. The figure draws means over units, so the caption says only what
    the means and the saturated shares imply: a share of values above 0.95 follows from them
    (``open_share``), not which units hold it."""
    f = keep_gate_mean(snap, "lstm")
    if not math.isfinite(f):
        return "The LSTM's gates appear once its run at the longest length has a snapshot."
    parts = snap.gates[snap.layers[0]]["forget"]
    mean = np.asarray(parts["mean"], dtype=np.float64)
    sat = float(np.mean(np.asarray(parts["saturated"], dtype=np.float64)))
    low = int(np.argmin(mean))
    text = (
        f"At length {length}, after step {snap.step:,}: the forget gate averages {f:.2f} over its "
        "units and the steps (1 keeps the cell as it was, 0 erases it)"
    )
    if mean[low] < f - 0.05:
        text += f", lowest {mean[low]:.2f} at step {low}"
    opened = open_share(f, sat)
    if opened >= 0.05:
        text += (
            f"; at least {opened:.0%} of its values are wide open, above {1 - SATURATED:.2f}: a "
            "unit held open keeps what its cell holds, and passes the gradient back, across the "
            "gap."
        )
    elif sat < 0.05:
        text += (
            f"; under 5% of its values are saturated, so every unit's cell loses at least "
            f"{SATURATED:.0%} of itself a step and fades over a long gap."
        )
    else:
        text += f"; {sat:.0%} of its values are saturated, shut or wide open."
    return text


def open_share(mean: float, saturated: float) -> float:
    """The least share of a sigmoid gate's values above 1 - SATURATED that a mean `mean` and a
    share `saturated` of values under SATURATED or above 1 - SATURATED allow: the rest can add
    at most SATURATED (shut) or 1 - SATURATED (unsaturated) each."""
    most_without = SATURATED * saturated + (1 - SATURATED) * (1 - saturated)
    return max(0.0, (mean - most_without) / (1 - SATURATED))
