import math
import threading
import time

import pytest
import torch
import torch.nn.functional as F

from dlviz.config import RunConfig
from dlviz.data import load_dataset
from dlviz.models import build_model
from dlviz.probes import GradNormTracker
from dlviz.train import Callback, Control, EvalBudget, batch_bounds, evaluate, fit

CPU = torch.device("cpu")


def run(cfg: RunConfig, callbacks=(), control=None):
    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_classes, seed=cfg.train.seed)
    return fit(model, data, cfg.train, CPU, callbacks=callbacks, control=control), model, data


@pytest.mark.parametrize("name", ["xor", "circle"])
def test_the_loop_learns_xor_and_circle_to_over_95_percent(name):
    cfg = RunConfig().with_changes(
        data={"name": name, "n_samples": 600},
        model={"hidden": (8, 8)},
        train={"epochs": 40, "lr": 0.02},
    )
    state, _, _ = run(cfg)
    assert state.status == "finished"
    assert state.metrics["test_accuracy"] > 0.95
    assert state.epoch == 40


def test_same_config_twice_gives_the_same_final_loss():
    cfg = RunConfig().with_changes(
        data={"n_samples": 300}, model={"hidden": (8, 8), "dropout": 0.2}, train={"epochs": 5}
    )
    a, _, _ = run(cfg)
    b, _, _ = run(cfg)
    assert a.metrics == b.metrics
    assert a.grad_norms == b.grad_norms
    c, _, _ = run(cfg.with_changes(train={"seed": 1}))
    assert c.metrics["train_loss"] != a.metrics["train_loss"]


def test_runs_in_parallel_threads_stay_reproducible():
    """Dropout masks and initial weights come from per-run generators, so two runs training at
    once in one process do not change each other's results."""
    cfg_a = RunConfig().with_changes(
        data={"n_samples": 300}, model={"dropout": 0.3}, train={"epochs": 6}
    )
    cfg_b = cfg_a.with_changes(data={"name": "moons"}, train={"seed": 3})
    solo_a, _, _ = run(cfg_a)
    solo_b, _, _ = run(cfg_b)
    results = {}

    def go(key, cfg):
        results[key] = run(cfg)[0]

    threads = [
        threading.Thread(target=go, args=("a", cfg_a)),
        threading.Thread(target=go, args=("b", cfg_b)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["a"].metrics == solo_a.metrics
    assert results["b"].metrics == solo_b.metrics


def test_stop_from_another_thread_ends_the_run_and_keeps_its_metrics():
    cfg = RunConfig().with_changes(data={"n_samples": 300}, train={"epochs": 10_000})
    control = Control()

    class StopAfterTwoEpochs(Callback):
        def on_epoch_end(self, state):
            if state.epoch == 2:
                threading.Thread(target=control.stop).start()

    state, _, _ = run(cfg, callbacks=[StopAfterTwoEpochs()], control=control)
    assert state.status == "stopped"
    assert 2 <= state.epoch < 10_000
    assert state.message.startswith(f"Stopped after {state.epoch} of 10000 epochs")
    assert set(state.metrics) == {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}


def test_a_run_until_stopped_goes_past_its_epoch_count_and_ends_when_stopped():
    # epochs=2 is not a limit here: the run must still be going at epoch 5.
    cfg = RunConfig().with_changes(
        data={"n_samples": 200}, train={"epochs": 2, "until_stopped": True}
    )
    control = Control()
    seen = []

    class StopAtEpochFive(Callback):
        def on_epoch_end(self, state):
            seen.append((state.epoch, state.total_epochs))
            if state.epoch == 5:
                control.stop()

    state, _, _ = run(cfg, callbacks=[StopAtEpochFive()], control=control)
    assert state.status == "stopped"
    assert state.epoch == 5
    assert seen == [(e, 0) for e in range(1, 6)]  # total 0: no limit
    assert state.message == "Stopped after 5 epochs."
    assert "stop_reason" not in state.summary()
    assert set(state.metrics) == {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}


def test_a_stop_with_a_reason_keeps_the_reason_in_the_summary():
    cfg = RunConfig().with_changes(data={"n_samples": 200}, train={"until_stopped": True})
    control = Control()

    class Reap(Callback):
        def on_epoch_end(self, state):
            control.stop("The server was shutting down.")

    state, _, _ = run(cfg, callbacks=[Reap()], control=control)
    assert state.summary()["stop_reason"] == "The server was shutting down."
    assert state.message == "Stopped after 1 epoch. The server was shutting down."


def test_pause_holds_the_loop_and_resume_continues_it():
    cfg = RunConfig().with_changes(data={"n_samples": 300}, train={"epochs": 10_000})
    control = Control()
    seen = {}

    class Watch(Callback):
        def on_pause(self, state):
            seen["paused_at"] = state.step

        def on_resume(self, state):
            seen["resumed_at"] = state.step

    def driver():
        time.sleep(0.3)
        control.pause()
        time.sleep(0.6)
        control.resume()
        time.sleep(0.2)
        control.stop()

    threading.Thread(target=driver).start()
    state, _, _ = run(cfg, callbacks=[Watch()], control=control)
    assert seen["paused_at"] == seen["resumed_at"]  # no step was taken while paused
    assert state.status == "stopped"
    assert state.step > seen["resumed_at"]  # and training went on after resuming
    assert state.elapsed < 1.0  # the paused 0.6 s are not counted as training time


def test_stop_while_paused_wakes_the_loop():
    control = Control()
    control.pause()
    threading.Timer(0.2, control.stop).start()
    t = time.perf_counter()
    cfg = RunConfig().with_changes(data={"n_samples": 300}, train={"epochs": 100})
    state, _, _ = run(cfg, control=control)
    assert state.status == "stopped"
    assert time.perf_counter() - t < 3


def test_divergence_stops_at_once_and_says_to_lower_the_learning_rate():
    cfg = RunConfig().with_changes(
        model={"hidden": (32, 32, 32, 32)}, train={"optimizer": "sgd", "lr": 50.0, "epochs": 500}
    )
    state, _, _ = run(cfg)
    assert state.status == "diverged"
    assert state.epoch <= 2
    assert "diverged" in state.message
    assert "NaN" in state.message or "infinite" in state.message
    assert "learning rate (50)" in state.message and "try 5 or lower" in state.message


def test_gradient_norms_are_the_mean_of_each_layers_weight_gradient_norm():
    """One full-batch step per epoch: the tracked norm must equal the gradient norm that plain
    torch computes at the initial weights."""
    cfg = RunConfig().with_changes(
        data={"n_samples": 200},
        model={"hidden": (8, 8)},
        train={"epochs": 1, "batch_size": 1000, "optimizer": "sgd"},
    )
    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_classes, seed=0)
    ref = build_model(cfg.model, data.input_shape, data.n_classes, seed=0)
    # The loop shuffles the batch, which does not change a full-batch mean gradient.
    F.cross_entropy(ref(data.x_train), data.y_train).backward()
    expected = {
        "hidden1": ref.blocks[0].linear.weight.grad.norm().item(),
        "hidden2": ref.blocks[1].linear.weight.grad.norm().item(),
        "output": ref.head.weight.grad.norm().item(),
    }
    state = fit(model, data, cfg.train, CPU)
    assert list(state.grad_norms) == ["hidden1", "hidden2", "output"]
    for name, value in expected.items():
        assert math.isclose(state.grad_norms[name], value, rel_tol=1e-4)


def test_grad_norm_tracker_averages_over_steps():
    lin = torch.nn.Linear(3, 2)
    model = torch.nn.Sequential(lin)
    tracker = GradNormTracker(model)
    norms = []
    for scale in (1.0, 3.0):
        lin.weight.grad = torch.full_like(lin.weight, scale)
        norms.append(lin.weight.grad.norm().item())
        tracker.accumulate()
    assert tracker.count == 2
    name = tracker.names[0]
    assert math.isclose(tracker.means()[name], sum(norms) / 2, rel_tol=1e-6)
    tracker.reset()
    assert tracker.means() == {}


def test_evaluate_matches_a_hand_computation():
    model = torch.nn.Linear(2, 3)
    x = torch.randn(50, 2)
    y = torch.randint(0, 3, (50,))
    (loss_a, acc_a), (loss_b, acc_b) = evaluate(model, x, y, parts=(20, 30))
    with torch.no_grad():
        logits = model(x)
    assert math.isclose(loss_a, F.cross_entropy(logits[:20], y[:20]).item(), rel_tol=1e-5)
    assert math.isclose(loss_b, F.cross_entropy(logits[20:], y[20:]).item(), rel_tol=1e-5)
    assert math.isclose(acc_a, (logits[:20].argmax(1) == y[:20]).sum().item() / 20)
    assert math.isclose(acc_b, (logits[20:].argmax(1) == y[20:]).sum().item() / 30)


def test_batch_bounds_cover_every_sample_and_drop_a_lone_last_one():
    assert batch_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert batch_bounds(9, 4) == [(0, 4), (4, 8)]  # (8, 9) would be a batch of one
    assert batch_bounds(5, 64) == [(0, 5)]
    assert batch_bounds(1, 1) == [(0, 1)]


def test_callbacks_fire_in_order():
    events = []

    class Record(Callback):
        def on_fit_start(self, state):
            events.append("start")

        def on_epoch_end(self, state):
            events.append(f"epoch{state.epoch}")

        def on_fit_end(self, state):
            events.append(f"end:{state.status}")

    cfg = RunConfig().with_changes(data={"n_samples": 100}, train={"epochs": 3})
    run(cfg, callbacks=[Record()])
    assert events == ["start", "epoch1", "epoch2", "epoch3", "end:finished"]


def test_batch_norm_and_tiny_batches_train():
    cfg = RunConfig().with_changes(
        data={"n_samples": 61, "test_fraction": 0.5},
        model={"norm": "batch"},
        train={"batch_size": 3, "epochs": 2},
    )
    state, _, _ = run(cfg)
    assert state.status == "finished"


def test_eval_budget_sizes_the_evaluation_to_its_share_of_training_time():
    from dlviz import train

    budget = EvalBudget(1000, 400)  # 2-D points: all of it until its cost is known
    assert budget.sizes() == (1000, 400)
    # 1,400 samples took 0.14 s (0.1 ms each); an epoch trained 2 s: 3% of it is 0.06 s, 600
    # samples, 3/7 of each part.
    budget.update(eval_s=0.14, train_s=2.0, samples=1400)
    assert budget.sizes() == (round(1000 * 600 / 1400), round(400 * 600 / 1400))
    assert budget.sizes(full=True) == (1000, 400)
    budget.update(eval_s=0.01, train_s=2.0, samples=1400)  # cheap: all again
    assert budget.sizes() == (1000, 400)
    budget.update(eval_s=10.0, train_s=1.0, samples=100)  # ruinous: the floor, not zero
    assert budget.sizes() == (train.EVAL_MIN_SAMPLES // 2, train.EVAL_MIN_SAMPLES)
    assert EvalBudget(40, 20, first=128).sizes() == (40, 20)  # small sets: all, floor or not
    assert EvalBudget(1000, 400, first=140).sizes() == (100, 64)  # images: a first guess
    assert EvalBudget(1000, 400, first=28).sizes() == (32, 64)  # ...never under the floors


def test_an_image_run_measures_its_last_epoch_on_the_whole_test_set():
    cfg = RunConfig.from_dict(
        {
            "data": {"name": "digits", "n_samples": 400, "image_size": 8},
            "model": {"arch": "cnn", "blocks": [{"channels": 4}], "head_pool": "avg"},
            "train": {"epochs": 3, "batch_size": 64, "device": "cpu"},
        }
    )
    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_classes, seed=0)
    seen = []

    class Watch(Callback):
        def on_epoch_end(self, state):
            seen.append(state.test_samples)

    state = fit(model, data, cfg.train, torch.device("cpu"), callbacks=[Watch()])
    assert seen[0] == 64 and seen[-1] == len(data.x_test) == 120  # a first guess, then all
    ((_, _), (test_loss, test_acc)) = evaluate(model, data.x_test, data.y_test, (0, 120))
    assert math.isclose(state.metrics["test_loss"], test_loss, rel_tol=1e-5)
    assert math.isclose(state.metrics["test_accuracy"], test_acc)


def _tiny_image_run(augment):
    cfg = RunConfig.from_dict(
        {
            "data": {"name": "shapes", "n_samples": 120, "image_size": 16},
            "model": {"arch": "cnn", "blocks": [{"channels": 4}]},
            "train": {"epochs": 2, "batch_size": 32, "device": "cpu", "augment": augment},
        }
    )
    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_classes, seed=0)
    seen = []
    model.register_forward_pre_hook(lambda m, args: seen.append((m.training, args[0].clone())))
    state = fit(model, data, cfg.train, torch.device("cpu"))
    return data, seen, state


def test_augmentation_changes_training_batches_only_and_is_reproducible():
    data, plain, _ = _tiny_image_run({})
    _, augmented, state = _tiny_image_run({"flip": True, "rotate": 20, "jitter": 0.3})
    _, again, state2 = _tiny_image_run({"flip": True, "rotate": 20, "jitter": 0.3})
    train = [x for training, x in augmented if training]
    # the training batches were changed, and stay images in [0, 1]
    assert not torch.equal(train[0], next(x for t, x in plain if t))
    assert 0 <= train[0].min() <= train[0].max() <= 1
    evals = [x for training, x in augmented if not training]
    assert evals and all(  # evaluation inputs are the real images
        torch.equal(a, b) for a, b in zip(evals, [x for t, x in plain if not t])
    )
    assert all(torch.equal(a[1], b[1]) for a, b in zip(augmented, again))
    assert state.metrics == state2.metrics


def test_a_step_asked_for_twice_after_the_same_update_takes_one():
    """Step mode: the page passes the update count it drew; a click its fragment runs twice
    asks twice after the same count, and only the first is taken."""
    c = Control()
    c.pause()
    assert c.paused and c.updates == 0
    c.step_once(after=0)
    assert not c.paused  # the loop may take one update
    c.step_once(after=0)  # the same click again, before the loop took it: still one
    c.count_update()
    assert c.paused and c.updates == 1  # it took one and holds again
    c.step_once(after=0)  # the same click again, after the loop took it: nothing
    assert c.paused and c.updates == 1
    c.step_once(after=1)  # a new click, drawn after that update
    assert not c.paused
    c.count_update()
    assert c.paused and c.updates == 2
    c.resume()
    c.count_update()
    assert not c.paused and c.updates == 3  # running: counted, never held
