"""`dlviz bench ...`: one module a benchmark, each timed honestly (a warm-up first, the median of
repeats with its spread, the device synchronised before every clock read; the statistics and
the machine facts in `dlviz.timing`). docs/benchmarks.md gives the method and the numbers.

Importing this package imports no benchmark: each module is loaded when its benchmark runs, so
`dlviz bench devices` needs only torch.
"""

from __future__ import annotations

# name -> (module in dlviz.bench, what it measures, how to run it)
BENCHMARKS: dict[str, tuple[str, str, str]] = {
    "overhead": (
        "overhead",
        "dlviz's instrumented training against a bare PyTorch loop (budget: 0.9x or more)",
        "dlviz bench overhead [--device cpu] [--repeats 21] [--epochs N] [--json]",
    ),
    "concurrent": (
        "concurrent",
        "several runs at once against the same runs one after another (they share the cores)",
        "dlviz bench concurrent [--at-once 3] [--repeats 3] [--epochs N] [--no-share] [--json]",
    ),
    "refresh": (
        "refresh",
        "server time and bytes of one live chart refresh; time to a run's first loss point",
        "dlviz bench refresh [--repeats 21] [--epochs 200] [--json]",
    ),
    "recurrent": (
        "recurrent",
        "sequence models' step-by-step path (rnn, lstm, gru) and explicit attention against the "
        "fused kernels and SDPA",
        "dlviz bench recurrent [--device all|cpu|cuda] [--repeats 21] [--json]",
    ),
    "generative": (
        "generative",
        "seconds per training step of the four generative families (gan, vae, diffusion, "
        "flow) at the lab's width and a wide one, on each device, and the GPU's speed-up",
        "dlviz bench generative [--device all|cpu|cuda] [--repeats 21] [--json]",
    ),
    "sweep": (
        "sweep",
        "tiny trials a minute: this machine 1 and 2 at a time, and a private local Ray with "
        "its start-up",
        "dlviz bench sweep [--trials 24] [--repeats 3] [--json]",
    ),
    "ingest": (
        "ingest",
        "decoding, checking and resizing an upload of JPEG photos",
        "dlviz bench ingest [--files 500] [--megabytes 1] [--json]",
    ),
    "audio": (
        "audio",
        "mel features of 1,000 one-second clips, batched on the device against clip by clip; "
        "ingesting --files uploaded WAVs",
        "dlviz bench audio [--device cpu] [--files 500] [--json]",
    ),
    "augment": (
        "augment",
        "batched augmentation against one image at a time and a training step",
        "dlviz bench augment [--device cpu] [--repeats 21] [--json]",
    ),
    "runs": (
        "listing",
        "listing a run store of --count runs",
        "dlviz bench runs [--count 1000] [--repeats 21] [--json]",
    ),
    "graphs": (
        "graphs",
        "one training step of the Playground's default network: eager, torch.compile, and on "
        "a GPU compile's reduce-overhead mode and the whole step as one CUDA graph",
        "dlviz bench graphs [--device cpu|cuda] [--repeats 7] [--json]",
    ),
    "devices": (
        "devices",
        "matmul, convolution, host-device copies and a training step on each device",
        "dlviz bench devices [--device all|cpu|cuda] [--quick] [--json] [--csv FILE]",
    ),
    "browser": (
        "browser",
        "first paint and the first Train's first loss point in Chromium, fresh dashboard",
        "dlviz bench browser [--repeats N] [--width 1400] [--json]",
    ),
    "watch": (
        "watch",
        "training samples/s with the live view open in Chromium against headless `dlviz train` "
        "of the same config (budget: 0.9x or more)",
        "dlviz bench watch [--repeats 3] [--epochs 300] [--json]",
    ),
    "load": (
        "load",
        "a class on one server: N browser sessions training at once, with reloads and page "
        "switches; refresh latency, queueing, errors, server memory",
        "dlviz bench load [--sessions 10] [--seconds 180] [--json]",
    ),
    "soak": (
        "soak",
        "--runs tiny runs in a row in one server: its memory and the run listing's time as "
        "the store grows",
        "dlviz bench soak [--runs 200] [--json]",
    ),
}
