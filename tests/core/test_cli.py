import json
import os
import subprocess
import sys

import pytest
import torch

from dlviz.bench.overhead import OVERHEAD_BUDGET
from dlviz.cli import main


def dlviz(*args, cwd=None):
    """Run the real console entry point in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "dlviz.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def write(tmp_path, obj, name="run.json"):
    path = tmp_path / name
    path.write_text(json.dumps(obj) if not isinstance(obj, str) else obj)
    return str(path)


def test_train_json_ends_with_the_summary_line(tmp_path):
    cfg = write(
        tmp_path,
        {
            "name": "xor-2",
            "data": {"name": "xor", "n_samples": 300},
            "model": {"hidden": [8, 6]},
            "train": {"epochs": 40, "lr": 0.02},
        },
    )
    out = dlviz("train", cfg, "--runs-dir", str(tmp_path / "store"), "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    for key in (
        "run_id",
        "device",
        "params",
        "epochs",
        "seconds",
        "samples_per_second",
        "final",
        "gradient_norms",
    ):
        assert key in summary
    assert summary["device"] == "cpu" or summary["device"].startswith("cuda")
    assert summary["params"] == (2 * 8 + 8) + (8 * 6 + 6) + (6 * 2 + 2)
    assert summary["epochs"] == 40 and summary["status"] == "finished"
    assert set(summary["final"]) == {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}
    assert summary["final"]["test_accuracy"] > 0.9
    assert list(summary["gradient_norms"]) == ["hidden1", "hidden2", "output"]  # input to output
    assert all(v > 0 for v in summary["gradient_norms"].values())
    run_dir = tmp_path / "store" / summary["run_id"]
    assert (run_dir / "summary.json").is_file()
    assert "epoch 40/40" in out.stderr  # progress goes to stderr, not into the JSON stream


def test_train_without_json_prints_a_readable_summary(tmp_path):
    cfg = write(tmp_path, {"data": {"n_samples": 100}, "train": {"epochs": 2}})
    out = dlviz("train", cfg, "--runs-dir", str(tmp_path / "store"), "--quiet")
    assert out.returncode == 0
    assert "finished" in out.stdout and "parameters on cpu" in out.stdout
    assert "gradient norms (input to output): hidden1" in out.stdout
    assert out.stderr == ""


def test_default_store_is_under_dlviz_home(tmp_path):
    cfg = write(tmp_path, {"data": {"n_samples": 100}, "train": {"epochs": 1}})
    assert main(["train", cfg, "--json", "--quiet"]) == 0
    assert len(list((tmp_path.parent / os.environ["DLVIZ_HOME"]).glob("runs/*/summary.json"))) == 1


@pytest.mark.parametrize(
    "content, message",
    [
        ({"train": {"lr": -1}}, "bad config: train.lr: must be greater than 0.0, got -1"),
        ({"model": {"hidden": [8, 0]}}, "bad config: model.hidden[1]: must be at least 1, got 0"),
        ({"trian": {}}, "bad config: trian: is not a config section"),
        ("{not json", "bad config: config: is not valid JSON"),
        ("[1, 2]", "bad config: config: must be a JSON object"),
    ],
)
def test_bad_configs_exit_2_with_one_clear_line(tmp_path, capsys, content, message):
    assert main(["train", write(tmp_path, content)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_missing_and_binary_config_files(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    assert main(["train", str(tmp_path / "bin.json")]) == 2
    assert "not UTF-8 text" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_asking_for_a_missing_gpu_fails_clearly(tmp_path):
    cfg = write(tmp_path, {"train": {"device": "cuda", "epochs": 1}})
    out = dlviz("train", cfg, "--runs-dir", str(tmp_path), "--json")
    assert out.returncode == 1
    assert "no CUDA GPU" in out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1])["status"] == "error"


def test_divergence_exits_1_and_still_prints_json(tmp_path, capsys):
    cfg = write(
        tmp_path,
        {
            "model": {"hidden": [32, 32, 32, 32]},
            "train": {"optimizer": "sgd", "lr": 50, "epochs": 100},
        },
    )
    assert main(["train", cfg, "--runs-dir", str(tmp_path), "--json", "--quiet"]) == 1
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["status"] == "diverged"
    # NaN is written as null, keeping the line valid JSON. (Where the loss became NaN before
    # the first epoch's end, which a slow machine's report timing allows, there is no epoch's
    # metrics to write at all.)
    final = summary["final"]
    assert final.get("train_loss") is None and final.get("test_loss") is None, final
    assert "lower" in captured.err


def test_runs_ls_lists_what_train_saved(tmp_path, capsys):
    cfg = write(tmp_path, {"data": {"n_samples": 100}, "train": {"epochs": 1}})
    main(["train", cfg, "--runs-dir", str(tmp_path / "s"), "--quiet"])
    (tmp_path / "s" / "broken-run").mkdir()
    capsys.readouterr()
    assert main(["runs", "ls", "--runs-dir", str(tmp_path / "s"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["status"] for r in rows} == {"finished", "unreadable"}
    assert any("did not finish" in r.get("message", "") for r in rows)


def test_bench_overhead_plumbing_on_a_tiny_budget(capsys):
    assert main(["bench", "overhead", "--repeats", "1", "--epochs", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["benchmark"] == "overhead" and result["budget"] == OVERHEAD_BUDGET
    # three of points and images, an LSTM, a transformer, a GAN and the CNN's live probes
    assert len(result["cases"]) == 7
    for case in result["cases"]:
        assert case["ratio"] > 0 and case["bare_samples_per_second"] > 0
    assert result["machine"]["torch_threads"] >= 1


def test_usage_errors(capsys):
    with pytest.raises(SystemExit) as e:
        main(["frobnicate"])
    assert e.value.code == 2
    assert main(["bench", "overhead", "--repeats", "0"]) == 2


def test_bench_refresh_plumbing(capsys):
    assert main(["bench", "refresh", "--repeats", "1", "--epochs", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["benchmark"] == "refresh"
    assert all(c["bytes"] > 10_000 and c["ms"]["median"] > 0 for c in result["cases"])
    assert len(result["cases"]) == 7  # ... and the Generative view
    assert "Generative view" in result["cases"][4]["case"]


def test_bench_generative_plumbing(capsys, monkeypatch):
    from dlviz.bench import BENCHMARKS, generative

    assert "generative" in BENCHMARKS
    monkeypatch.setattr(generative, "SIZES", {"tiny": ((8,), 16)})
    assert main(["bench", "generative", "--device", "cpu", "--repeats", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["benchmark"] == "generative" and result["devices"] == ["cpu"]
    assert [r["family"] for r in result["rows"]] == ["gan", "vae", "diffusion", "flow"]
    assert main(["bench", "generative", "--device", "cpu", "--repeats", "1"]) == 0
    assert "cpu gan" in capsys.readouterr().out
    assert main(["bench", "generative", "--device", "cuda:7"]) == 2


def test_ui_starts_the_dashboard(tmp_path):
    """`dlviz ui` serves the app: its health endpoint answers, and the app page loads."""
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlviz.cli", "ui", "--server.headless", "true",
         "--server.port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        body = ""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/_stcore/health", timeout=2
                ) as r:
                    body = r.read().decode()
                break
            except OSError:
                time.sleep(0.3)
        assert body == "ok", proc.stdout.read().decode() if proc.poll() is not None else "no answer"
        # with no address given it listens on this machine only, not on every interface
        assert listening_addresses(port) == {"127.0.0.1"}
    finally:
        proc.terminate()
        proc.wait(10)
    # Stopping `dlviz ui` stops the server: nothing is left answering on its port.
    time.sleep(0.5)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on `port` (Linux's /proc/net/tcp and tcp6)."""
    import ipaddress
    from pathlib import Path

    found = set()
    for name, size in (("tcp", 4), ("tcp6", 16)):
        table = Path("/proc/net") / name
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.split(":")
            if state != "0A" or int(hexport, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(addr)
            # the kernel writes each 32-bit word in host (little-endian) order
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, size, 4))
            found.add(str(ipaddress.ip_address(raw)))
    return found


def test_train_a_cnn_on_digits(tmp_path, capsys):
    cfg = write(
        tmp_path,
        {
            "data": {"name": "digits", "n_samples": 600, "noise": 0.0, "image_size": 16},
            "model": {
                "arch": "cnn",
                "blocks": [{"channels": 8, "pool": "max"}, {"channels": 16}],
                "head": [32],
                "head_pool": "flatten",
            },
            "train": {"epochs": 8, "lr": 0.01},
        },
    )
    assert main(["train", cfg, "--runs-dir", str(tmp_path / "s"), "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert list(summary["gradient_norms"]) == ["conv1", "conv2", "fc1", "output"]
    # conv1 1->8, conv2 8->16 (3x3), flatten 16x8x8 = 1024 -> fc1 32 -> 10 classes
    assert summary["params"] == (8 * 9 + 8) + (16 * 8 * 9 + 16) + (1024 * 32 + 32) + (32 * 10 + 10)
    assert summary["final"]["test_accuracy"] > 0.8  # ten classes: chance is 0.1


def test_a_cnn_with_nothing_but_its_arch_trains_the_image_labs_deep_preset(tmp_path, capsys):
    # The model section is exactly {"arch": "cnn"}: no blocks, no norm, no data named. It gets
    # the Deep preset (eight 3x3 convs, batch norm, three poolings) on the shapes. Fewer
    # samples and one epoch only to keep the test short.
    cfg = write(
        tmp_path,
        {"data": {"n_samples": 60}, "model": {"arch": "cnn"}, "train": {"epochs": 1}},
    )
    assert main(["train", cfg, "--runs-dir", str(tmp_path / "s"), "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["status"] == "finished"
    assert list(summary["gradient_norms"]) == [f"conv{i}" for i in range(1, 9)] + ["output"]
    saved = json.loads((tmp_path / "s" / summary["run_id"] / "config.json").read_text())
    assert saved["data"]["name"] == "shapes" and saved["model"]["norm"] == "batch"
    assert [b["channels"] for b in saved["model"]["blocks"]] == [16, 16, 32, 32, 64, 64, 64, 64]
    assert [b["pool"] for b in saved["model"]["blocks"]].count("max") == 3


def test_a_cnn_on_2d_points_is_a_bad_config_not_a_crash(tmp_path, capsys):
    cfg = write(tmp_path, {"data": {"name": "moons"}, "model": {"arch": "cnn"}})
    assert main(["train", cfg, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "bad config: model.arch: a cnn needs images, and moons is 2-D points" in err
    assert "Traceback" not in err


def test_a_dead_network_is_said_to_have_learned_nothing(tmp_path):
    # Adam at learning rate 10 on the default network: every ReLU dies in the first steps.
    cfg = write(tmp_path, {"data": {"n_samples": 300}, "train": {"lr": 10, "epochs": 5}})
    out = dlviz("train", cfg, "--runs-dir", str(tmp_path / "store"), "--quiet")
    assert out.returncode == 0 and ": finished" in out.stdout
    assert "warning: The network is dead and learned nothing" in out.stdout
    assert "5 epochs in" in out.stdout  # not "5 epoch(s)"
    summary = json.loads(next((tmp_path / "store").glob("*/summary.json")).read_text())
    assert summary["outcome"]["kind"] == "dead"


def test_bench_ingest_plumbing(capsys):
    assert main(["bench", "ingest", "--files", "4", "--megabytes", "0.05", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["benchmark"] == "ingest" and result["files"] == 4
    assert result["input"] == [4, 3, 64, 64] and result["total_s"] > 0


def test_bench_augment_plumbing():
    from dlviz.bench import augment

    r = augment.augment(batch=4, sizes=(16,), repeats=3)
    assert r["benchmark"] == "augment" and r["device"] == "cpu" and r["batch"] == 4
    (row,) = r["rows"]
    assert row["size"] == 16
    for k in ("batched_ms", "per_image_ms", "train_step_ms"):
        assert row[k]["min"] <= row[k]["median"] <= row[k]["max"]
    text = augment.format_augment(r)
    assert "16x16: batched" in text and "one image at a time" in text


def test_bench_augment_names_a_missing_device(capsys):
    import torch

    if torch.cuda.is_available() and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    assert main(["bench", "augment", "--device", "cuda:7"]) == 2
    assert "cuda" in capsys.readouterr().err


# --- dlviz runs ls | show | rm | export | import ------------------------------------------------


def saved_runs(store, names=("older", "newer")):
    """Runs saved straight into the store (no training): oldest first."""
    import time

    from dlviz import runs
    from dlviz.config import RunConfig

    ids = []
    for i, name in enumerate(names):
        run_id = f"2024010{i + 1}-000000-{name}-abcdef"
        config = RunConfig().with_changes(name=name, model={"hidden": (8,) * (i + 1)}).to_dict()
        runs.start_run(store, run_id, config, {"device": "cpu", "params": 100 + i})
        runs.save_run(
            store,
            run_id,
            config,
            {"status": "finished", "device": "cpu", "params": 100 + i, "seconds": 1.5,
             "epochs": 2, "final": {"test_accuracy": 0.5 + i / 10}},
            {"epoch": [1, 2], "test_accuracy": [0.4, 0.5 + i / 10]},
        )  # fmt: skip
        ids.append(run_id)
        time.sleep(0.01)  # distinct start times
    return ids


def test_runs_ls_prints_a_table_newest_first(tmp_path, capsys):
    store = tmp_path / "s"
    older, newer = saved_runs(store)
    (store / "stray").mkdir()
    assert main(["runs", "ls", "--runs-dir", str(store)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["ID", "STATUS", "NAME"]
    ids = [line.split()[0] for line in out[1:4]]
    assert ids.index(newer) < ids.index(older) and "stray" in ids
    assert any(line.startswith("stray: unreadable: no config.json") for line in out)
    (line,) = [line for line in out if line.startswith(newer)]
    assert "finished" in line and "0.600" in line and "1.5s" in line
    # `dlviz runs` alone lists too, and --runs-dir may come before the sub-command
    assert main(["runs", "--runs-dir", str(store)]) == 0
    assert newer in capsys.readouterr().out
    assert main(["runs", "--runs-dir", str(store), "ls", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in rows if r["status"] == "finished"] == [newer, older]
    assert main(["runs", "ls", "--runs-dir", str(tmp_path / "empty")]) == 0
    assert "no runs in" in capsys.readouterr().out


def test_runs_show(tmp_path, capsys):
    store = tmp_path / "s"
    older, _ = saved_runs(store)
    assert main(["runs", "show", older, "--runs-dir", str(store)]) == 0
    out = capsys.readouterr().out
    assert f"run {older}: finished" in out and "metrics: 2 epoch rows" in out
    assert '"hidden": [' in out
    assert main(["runs", "show", older, "--runs-dir", str(store), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["run"]["run_id"] == older and shown["run"]["name"] == "older"
    assert shown["config"]["model"]["hidden"] == [8] and shown["metrics"]["epoch"] == [1, 2]
    assert shown["has_weights"] is False and shown["summary"]["status"] == "finished"


def test_runs_probe_json_ends_with_the_layers_line_from_the_real_entry_point(tmp_path):
    """`dlviz runs probe ID --json`: the last stdout line is {"layers": [{"name",
    "probe_accuracy"}, ...]}, input to output."""
    cfg = write(tmp_path, {"data": {"name": "xor", "n_samples": 200}, "model": {"hidden": [6]},
                           "train": {"epochs": 3}})  # fmt: skip
    store = str(tmp_path / "store")
    trained = dlviz("train", cfg, "--runs-dir", store, "--json", "--quiet")
    run_id = json.loads(trained.stdout.strip().splitlines()[-1])["run_id"]
    out = dlviz("runs", "probe", run_id, "--runs-dir", store, "--json")
    assert out.returncode == 0, out.stderr
    layers = json.loads(out.stdout.strip().splitlines()[-1])["layers"]
    assert [r["name"] for r in layers] == ["input", "hidden1", "output"]
    assert all(isinstance(r["probe_accuracy"], float) for r in layers)


def test_runs_unknown_id_is_a_clear_error(tmp_path, capsys):
    store = str(tmp_path / "s")
    saved_runs(tmp_path / "s", names=("only",))
    for cmd in (["show", "nope"], ["rm", "nope", "--yes"], ["export", "nope"], ["show", "../x"]):
        assert main(["runs", *cmd, "--runs-dir", store]) == 1, cmd
        err = capsys.readouterr().err
        assert err.startswith("dlviz: ") and "dlviz runs ls" in err, err


def test_runs_rm_asks_first(tmp_path, capsys, monkeypatch):
    import io

    store = tmp_path / "s"
    keep, gone = saved_runs(store)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal
    assert main(["runs", "rm", gone, "--runs-dir", str(store)]) == 2
    assert "add --yes" in capsys.readouterr().err and (store / gone).is_dir()

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["runs", "rm", gone, "--runs-dir", str(store)]) == 1
    assert "not deleted" in capsys.readouterr().out and (store / gone).is_dir()
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert main(["runs", "rm", gone, "--runs-dir", str(store)]) == 0
    assert not (store / gone).exists()
    assert main(["runs", "rm", keep, "--yes", "--runs-dir", str(store)]) == 0
    assert f"deleted run {keep}" in capsys.readouterr().out and not list(store.iterdir())


def test_runs_export_then_import(tmp_path, capsys, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    (run_id,) = saved_runs(a, names=("traveller",))
    zip_path = tmp_path / "out.zip"
    assert main(["runs", "export", run_id, "-o", str(zip_path), "--runs-dir", str(a)]) == 0
    out = capsys.readouterr().out
    assert f"exported run {run_id} to {zip_path}" in out
    assert "take-away/: metrics.csv" in out  # the bundle: the run and its extras
    assert "not in it: ONNX: " in out and "no trained weights" in out  # none saved here
    assert dlviz("runs", "import", str(zip_path), "--runs-dir", str(b)).returncode == 0
    assert main(["runs", "import", str(zip_path), "--runs-dir", str(b)]) == 0  # again: new id
    out = capsys.readouterr().out
    assert out.startswith("imported run ") and run_id in out
    assert main(["runs", "ls", "--json", "--runs-dir", str(b)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 and {r["name"] for r in rows} == {"traveller"}
    monkeypatch.chdir(tmp_path)  # the default file name is ID.zip
    assert main(["runs", "export", run_id, "--runs-dir", str(a)]) == 0
    import zipfile

    with zipfile.ZipFile(tmp_path / f"{run_id}.zip") as one, zipfile.ZipFile(zip_path) as two:
        assert one.namelist() == two.namelist()


def test_runs_import_refuses_bad_files(tmp_path, capsys):
    import zipfile

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../config.json", "{}")
    assert main(["runs", "import", str(evil), "--runs-dir", str(tmp_path / "s")]) == 1
    assert "unsafe path" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["runs", "import", str(tmp_path / "notes.txt")]) == 1
    assert "not a ZIP file" in capsys.readouterr().err
    assert main(["runs", "import", str(tmp_path / "missing.zip")]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert not (tmp_path / "s").exists() or not list((tmp_path / "s").iterdir())


def test_bench_runs_plumbing(capsys):
    assert main(["bench", "runs", "--count", "60", "--repeats", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["benchmark"] == "runs" and result["count"] == 60 and result["budget_s"] == 1.0
    assert 0 < result["list_s"]["min"] <= result["list_s"]["median"]
    assert main(["bench", "runs", "--count", "10", "--repeats", "1"]) == 0
    assert "listing 10 runs takes" in capsys.readouterr().out
    assert main(["bench", "runs", "--count", "0"]) == 2


def test_train_with_a_transfer_section_reports_what_trained_and_moved(tmp_path):
    cfg = write(
        tmp_path,
        {
            "data": {"name": "shapes", "n_samples": 120, "channels": 3, "per_class": 4},
            "train": {"epochs": 2, "lr": 0.003},
            "transfer": {"backbone": "dlviz-shapes32", "strategy": "finetune_top",
                         "top_blocks": 2},
        },
    )  # fmt: skip
    out = dlviz("train", cfg, "--runs-dir", str(tmp_path / "store"), "--json", "--quiet")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    # conv5 and conv6 (20,672 + 37,056) and the output layer (64 * 6 + 6) train
    assert summary["trainable_params"] == 20_672 + 37_056 + 390
    assert summary["params"] == 75_088 + 390
    moved = summary["weight_change"]
    assert [moved[f"conv{i}"] for i in range(1, 5)] == [0.0] * 4
    assert moved["conv5"] > 0 and moved["conv6"] > 0
    stored = json.loads((tmp_path / "store" / summary["run_id"] / "config.json").read_text())
    assert stored["model"]["arch"] == "cnn" and len(stored["model"]["blocks"]) == 6
    assert stored["transfer"]["backbone"] == "dlviz-shapes32"


def test_pretrain_lists_backbones_and_refuses_bad_settings(tmp_path, capsys):
    assert main(["pretrain", "--list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dlviz-shapes32\t3x32x32\t6 blocks\tsource test accuracy")
    assert main(["pretrain", "--samples", "5"]) == 2
    assert "--samples must be 48 to 200000, got 5" in capsys.readouterr().err
    assert main(["pretrain", "--name", "../evil"]) == 2
    assert "--name must be letters" in capsys.readouterr().err
    out = dlviz("pretrain", "--samples", "48", "--epochs", "1", "--size", "16",
                "--out", str(tmp_path), "--name", "t")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(tmp_path / "t.safetensors")
    assert "epoch 1/1" in out.stderr and (tmp_path / "t.md").is_file()
