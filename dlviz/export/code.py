"""A run as code (`generate`): one standalone PyTorch script or one Keras 3 script that builds
the run's network, takes the run's data, trains it the run's way and prints its test accuracy
as its last line, ``{"test_accuracy": ...}``. The scripts import nothing of dlviz.

`Code.exact` says whether running the script repeats the run's numbers exactly (the PyTorch
script of a run trained on the CPU) or only closely; `Code.notes` say, in plain sentences,
what differs. A run that cannot be written as code raises `CodeError` saying why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from dlviz.export.code_plan import FRAMEWORKS, CodeError, Plan, load_plan

__all__ = ["FRAMEWORKS", "Code", "CodeError", "generate", "from_plan"]


@dataclass(frozen=True)
class Code:
    """A run's script: its text and file name, the data file it loads (`data_name`, beside
    it; "" and None where it makes its own data), whether it repeats the run exactly, and
    notes on what differs."""

    script: str
    filename: str
    data_name: str
    data: bytes | None
    exact: bool
    notes: list[str] = field(default_factory=list)
    framework: str = "pytorch"


def generate(root: str | os.PathLike[str] | None, run_id: str, framework: str) -> Code:
    """The `framework` ("pytorch" or "keras") script of stored run `run_id` in the run store
    at `root` (None: the default store). Raises CodeError saying why a run cannot be written."""
    if framework not in FRAMEWORKS:
        raise CodeError(f"framework must be one of {', '.join(FRAMEWORKS)}; got {framework!r}")
    return from_plan(load_plan(root, run_id), framework)


def from_plan(plan: Plan, framework: str) -> Code:
    """The script of a plan (`dlviz.export.code_plan.make_plan`)."""
    if framework == "pytorch":
        from dlviz.export.code_torch import torch_script

        script, exact, notes = torch_script(plan)
    elif framework == "keras":
        from dlviz.export.code_keras import keras_script

        script, exact, notes = keras_script(plan)
    else:
        raise CodeError(f"framework must be one of {', '.join(FRAMEWORKS)}; got {framework!r}")
    return Code(
        script=script,
        filename=f"{plan.run_id}_{framework}.py",
        data_name=plan.data_name,
        data=plan.data_bytes(),
        exact=exact,
        notes=notes,
        framework=framework,
    )
