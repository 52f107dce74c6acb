"""Device benchmarks (dlviz.bench.devices): the statistics against hand computations, the peak table,
the plumbing on tiny sizes on the CPU, CSV export and the command line; CUDA paths on a GPU."""

from __future__ import annotations

import csv
import io
import json

import pytest
import torch

from dlviz import timing
from dlviz.bench import devices
from dlviz.cli import main


def test_median_and_quartiles_match_a_hand_computation():
    t = timing.summarize([5.0, 1.0, 4.0, 2.0, 3.0])
    assert (t.median, t.q1, t.q3, t.min, t.max, t.n) == (3.0, 2.0, 4.0, 1.0, 5.0, 5)
    # even count: median between the middle two; quartiles interpolated (positions 0.75, 2.25)
    t = timing.summarize([10.0, 20.0, 30.0, 40.0])
    assert t.median == 25.0 and t.q1 == 17.5 and t.q3 == 32.5 and t.iqr == 15.0
    assert timing.summarize([7.0]).iqr == 0.0
    with pytest.raises(ValueError):
        timing.summarize([])


def test_peak_table_matches_the_most_specific_name():
    assert devices.peak_tflops("NVIDIA H100 80GB HBM3", "bfloat16") == 989.4
    assert devices.peak_tflops("NVIDIA H100 PCIe", "bfloat16") == 756.0
    assert devices.peak_tflops("NVIDIA A100-SXM4-40GB", "tf32") == 156.0
    assert devices.peak_tflops("Tesla T4", "bfloat16") is None  # no bfloat16 tensor cores
    assert devices.peak_tflops("Some Future GPU", "float32") is None


def test_time_call_warms_up_and_counts_the_repeats():
    calls = []
    t = timing.time_call(lambda: calls.append(1), torch.device("cpu"), repeats=5, warmup=2)
    assert len(calls) == 7 and t.n == 5 and t.min <= t.median <= t.max


def test_matmul_rate_is_two_n_cubed_over_the_median_and_big_sizes_are_skipped():
    rows = devices.matmul(
        torch.device("cpu"), sizes=(32, 64, 100_000), dtypes=["float32"], repeats=3, max_call_s=1
    )
    done = [r for r in rows if "tflops" in r]
    assert [r["size"] for r in done] == [32, 64]
    for r in done:
        assert r["tflops"] == pytest.approx(2 * r["size"] ** 3 / r["median_s"] / 1e12)
        assert r["peak_tflops"] is None  # no data-sheet peak for a CPU
    assert rows[-1]["size"] == 100_000 and rows[-1]["skipped"].startswith("one call would take")


def test_a_quick_cpu_report_has_every_benchmark_and_exports_as_csv():
    report = devices.run_all("cpu", quick=True)
    kinds = {r["bench"] for r in report["rows"]}
    assert kinds == {"matmul", "conv2d", "train_step"}  # no copies without a GPU
    assert report["machine"]["torch_threads"] == torch.get_num_threads()
    step = [r for r in report["rows"] if r["bench"] == "train_step"]
    assert [r["batch"] for r in step] == [4, 8]
    for r in step:
        assert r["forward_s"] > 0 and r["backward_s"] > 0 and r["step_s"] > 0
        assert r["samples_per_s"] == pytest.approx(r["batch"] / r["median_s"])
    rows = list(csv.DictReader(io.StringIO(devices.to_csv(report["rows"]))))
    assert len(rows) == len(report["rows"]) and rows[0]["bench"] == "matmul"
    assert float(rows[0]["tflops"]) == pytest.approx(report["rows"][0]["tflops"])
    assert devices.speedups(report["rows"]) == []
    text = devices.format_report(report)
    assert "No CUDA GPU: CPU figures only." in text and "train step cpu batch 4" in text


def test_speedup_is_cpu_time_over_gpu_time_per_batch():
    rows = [
        {"bench": "train_step", "device": "cpu", "batch": 64, "median_s": 0.5},
        {"bench": "train_step", "device": "cuda:0", "batch": 64, "median_s": 0.01},
        {"bench": "train_step", "device": "cuda:0", "batch": 8, "median_s": 0.01},
    ]
    assert devices.speedups(rows) == [{"device": "cuda:0", "batch": 64, "speedup": 50.0}]


def test_cli_bench_devices_json_and_csv(tmp_path, capsys):
    out = tmp_path / "speed.csv"
    assert (
        main(["bench", "devices", "--device", "cpu", "--quick", "--json", "--csv", str(out)]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["benchmark"] == "devices" and report["method"] == devices.METHOD
    assert out.read_text().startswith("bench,device,dtype,size")


def test_cli_bench_devices_names_a_missing_gpu(capsys):
    if torch.cuda.is_available() and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    assert main(["bench", "devices", "--device", "cuda:7", "--quick"]) == 2
    assert "cuda:7" in capsys.readouterr().err


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_matmul_copies_and_speedup():
    dev = torch.device("cuda")
    rows = devices.matmul(dev, sizes=(256,), dtypes=devices.dtypes_for(dev), repeats=3)
    assert all(r["tflops"] > 0 for r in rows)
    copies = devices.copies(dev, (1,), repeats=3)
    assert {(r["direction"], r["pinned"]) for r in copies} == {
        ("host to device", True), ("device to host", True),
        ("host to device", False), ("device to host", False),
    }  # fmt: skip
    report = devices.run_all("all", quick=True)
    assert devices.speedups(report["rows"])


def test_a_cpu_gets_its_best_measured_rate_as_its_peak():
    rows = [
        {"bench": "matmul", "device": "cpu", "dtype": "float32", "size": 128, "tflops": 0.05},
        {"bench": "matmul", "device": "cpu", "dtype": "float32", "size": 256, "tflops": 0.10},
        {"bench": "matmul", "device": "cpu", "dtype": "bfloat16", "size": 128, "tflops": 0.002},
        {"bench": "matmul", "device": "cpu", "dtype": "bfloat16", "size": 1024, "skipped": "x"},
        {"bench": "matmul", "device": "cuda:0", "dtype": "bfloat16", "size": 8192,
         "tflops": 790.0, "peak_tflops": 989.4, "percent_of_peak": 79.8},
    ]  # fmt: skip
    devices.with_measured_peaks(rows)
    assert rows[0]["percent_of_peak"] == 50.0 and rows[1]["percent_of_peak"] == 100.0
    assert rows[0]["peak_source"] == "best measured" and rows[2]["peak_tflops"] == 0.002
    assert "percent_of_peak" not in rows[3]
    assert rows[4]["peak_source"] == "data sheet" and rows[4]["percent_of_peak"] == 79.8


def test_reports_from_two_machines_draw_on_one_chart():
    from dlviz.labs.devices.figures import matmul_figure

    a = {"rows": [{"bench": "matmul", "device": "cpu", "dtype": "float32", "size": 64,
                   "tflops": 0.01}]}  # fmt: skip
    b = {"rows": [{"bench": "matmul", "device": "cuda:0", "dtype": "float32", "size": 64,
                   "tflops": 1.0}]}  # fmt: skip
    rows = devices.relabel(a, "laptop") + devices.relabel(b, "server")
    fig = matmul_figure(rows)
    assert [t.name for t in fig.data] == ["laptop cpu float32", "server cuda:0 float32"]
    assert a["rows"][0]["device"] == "cpu"  # the reports themselves are unchanged


def test_the_thread_count_reads_in_the_singular_and_the_plural():
    assert timing.threads_phrase({"torch_threads": 1}) == "torch uses 1 thread"
    assert timing.threads_phrase({"torch_threads": 8}) == "torch uses 8 threads"
    assert timing.threads({}) == "? threads"
