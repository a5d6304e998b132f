"""The training loop implements (S)GD exactly, reproducibly, and validates its inputs."""

from __future__ import annotations

import pytest
import torch

from helpers.losses import squared_loss
from helpers.rng import make_generator
from helpers.train import History, multistep, step_decay, train


def _squared(outputs, targets):
    return 0.5 * (outputs.reshape(-1) - targets) ** 2


def _linear(d, value=0.0):
    model = torch.nn.Linear(d, 1, bias=False).double()
    torch.nn.init.constant_(model.weight, value)
    return model


def test_full_batch_gd_matches_closed_form(gen):
    n, d, lr, steps = 8, 5, 0.1, 7
    X = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = torch.randn(n, generator=gen, dtype=torch.float64)
    model = _linear(d)
    history = train(model, _squared, X, y, lr=lr, steps=steps)
    w = torch.zeros(d, dtype=torch.float64)
    for _ in range(steps):  # w <- w - lr * X^T (X w - y) / n
        w = w - lr * X.T @ (X @ w - y) / n
    torch.testing.assert_close(model.weight.reshape(-1), w, rtol=1e-12, atol=1e-12)
    assert history.column("step").tolist() == list(range(steps + 1))
    expected = 0.5 * ((X @ w - y) ** 2).mean()
    assert history.final("loss") == pytest.approx(float(expected), rel=1e-12)


def test_sgd_uses_each_example_once_per_epoch(gen):
    n, d = 6, 6
    X = torch.eye(n, dtype=torch.float64)
    y = torch.ones(n, dtype=torch.float64)
    model = _linear(d)
    # with orthogonal examples each SGD step with b=1 touches one coordinate only
    train(model, _squared, X, y, lr=1.0, steps=n, batch_size=1, generator=gen)
    torch.testing.assert_close(model.weight.reshape(-1), torch.ones(d, dtype=torch.float64))


def test_sgd_reproducible_and_seed_dependent():
    X = torch.randn(20, 4, generator=make_generator(3), dtype=torch.float64)
    y = torch.randn(20, generator=make_generator(4), dtype=torch.float64)

    def run(seed):
        model = _linear(4)
        train(model, _squared, X, y, lr=0.2, steps=13, batch_size=3,
              generator=make_generator(seed))
        return model.weight.detach().clone()

    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))


def test_frozen_parameters_do_not_move(gen):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    model = model.double()
    model[2].weight.requires_grad_(False)
    before = model[2].weight.clone()
    X = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    train(model, _squared, X, torch.zeros(5, dtype=torch.float64), lr=0.1, steps=3)
    assert torch.equal(model[2].weight, before)


def test_schedule_metrics_and_record_every(gen):
    X = torch.randn(10, 3, generator=gen, dtype=torch.float64)
    y = torch.zeros(10, dtype=torch.float64)
    model = _linear(3, 1.0)
    history = train(model, _squared, X, y, lr=0.1, steps=10, record_every=4,
                    schedule=step_decay(5, 0.1),
                    metrics={"norm": lambda m: float(m.weight.detach().norm())})
    frame = history.frame()
    assert frame["step"].tolist() == [0, 4, 8, 10]
    assert frame["lr"].tolist() == pytest.approx([0.1, 0.1, 0.01, 0.001])
    assert (frame["norm"].diff().dropna() < 0).all()


def test_history_errors():
    with pytest.raises(KeyError, match="recorded metrics"):
        History([{"step": 0, "loss": 1.0}]).column("accuracy")


def test_divergence_is_reported(gen):
    X = 10 * torch.randn(10, 3, generator=gen, dtype=torch.float64)
    with pytest.raises(FloatingPointError, match="too large"):
        train(_linear(3, 1.0), _squared, X, torch.zeros(10, dtype=torch.float64), lr=1e6,
              steps=50)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"lr": 0.0}, ValueError, "lr must be >"),
        ({"lr": float("nan")}, ValueError, "lr must be finite"),
        ({"steps": -1}, ValueError, "steps"),
        ({"steps": 1.5}, TypeError, "steps must be an integer"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 99}, ValueError, "batch_size"),
        ({"batch_size": 2}, TypeError, "generator"),
        ({"batch_size": 2, "generator": 0}, TypeError, "generator"),
        ({"record_every": 0}, ValueError, "record_every"),
        ({"schedule": 3}, TypeError, "schedule"),
        ({"metrics": {"a": 1}}, TypeError, "metrics"),
    ],
)
def test_bad_arguments(gen, kwargs, error, match):
    X = torch.randn(10, 3, generator=gen, dtype=torch.float64)
    y = torch.zeros(10, dtype=torch.float64)
    args = {"lr": 0.1, "steps": 2} | kwargs
    with pytest.raises(error, match=match):
        train(_linear(3), _squared, X, y, **args)


def test_bad_data_and_model(gen):
    X = torch.randn(10, 3, generator=gen, dtype=torch.float64)
    y = torch.zeros(10, dtype=torch.float64)
    with pytest.raises(ValueError, match="same number of rows"):
        train(_linear(3), _squared, X, y[:5], lr=0.1, steps=1)
    with pytest.raises(ValueError, match="finite"):
        train(_linear(3), _squared, X * float("nan"), y, lr=0.1, steps=1)
    with pytest.raises(TypeError, match="nn.Module"):
        train(lambda x: x, _squared, X, y, lr=0.1, steps=1)
    with pytest.raises(TypeError, match="loss_fn"):
        train(_linear(3), "mse", X, y, lr=0.1, steps=1)
    with pytest.raises(ValueError, match="one loss per example"):
        train(_linear(3), lambda o, t: ((o.reshape(-1) - t) ** 2).mean(), X, y, lr=0.1, steps=1)
    frozen = _linear(3)
    frozen.weight.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable"):
        train(frozen, _squared, X, y, lr=0.1, steps=1)


def test_step_decay_bad_input():
    with pytest.raises(ValueError, match="every"):
        step_decay(0, 0.5)
    with pytest.raises(ValueError, match="factor"):
        step_decay(3, 0.0)


def _bn_model(gen):
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.BatchNorm1d(8), torch.nn.Tanh(),
                                torch.nn.Linear(8, 1)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return model


def test_multistep_values_and_step_decay_equivalence():
    schedule = multistep([3, 5], 0.1)
    assert [schedule(s) for s in range(7)] == [1.0, 1.0, 1.0, 0.1, 0.1, 0.1**2, 0.1**2]
    equal = multistep([4, 8, 12], 0.5)
    assert all(equal(s) == step_decay(4, 0.5)(s) for s in range(16))  # bit for bit
    assert multistep([], 0.1)(10**6) == 1.0
    assert multistep([2, 2], 0.1)(2) == 0.1**2                          # repeated milestone


def test_multistep_bad_input():
    with pytest.raises(TypeError, match="milestones must be a sequence"):
        multistep(5, 0.1)
    with pytest.raises(ValueError, match=r"milestones\[1\]"):
        multistep([3, 0], 0.1)
    with pytest.raises(ValueError, match="non-decreasing"):
        multistep([5, 3], 0.1)
    with pytest.raises(ValueError, match="factor"):
        multistep([3], -1.0)


def test_record_initial_false_skips_step_zero(gen):
    X = torch.randn(10, 3, generator=gen, dtype=torch.float64)
    y = torch.zeros(10, dtype=torch.float64)
    with_start = train(_linear(3, 1.0), _squared, X, y, lr=0.1, steps=4, record_every=2)
    without = train(_linear(3, 1.0), _squared, X, y, lr=0.1, steps=4, record_every=2,
                    record_initial=False)
    assert without.column("step").tolist() == [2, 4]
    assert without.records == with_start.records[1:]
    with pytest.raises(TypeError, match="record_initial must be a bool"):
        train(_linear(3), _squared, X, y, lr=0.1, steps=1, record_initial=1)


def test_chunked_loss_equals_unchunked(gen):
    """eval_batch_size only splits the forward pass: the recorded loss is the same mean."""
    X = torch.randn(23, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(23, generator=gen, dtype=torch.float64)
    model = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(),
                                torch.nn.Linear(16, 1)).double()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    whole = train(model, _squared, X, y, lr=0.1, steps=5)
    model.load_state_dict(state)
    chunked = train(model, _squared, X, y, lr=0.1, steps=5, eval_batch_size=4)  # 5 x 4 + 3
    # same per-example losses, possibly summed over different matmul blockings: float rounding
    assert chunked.column("loss") == pytest.approx(whole.column("loss"), rel=1e-13, abs=0)
    with pytest.raises(ValueError, match="eval_batch_size"):
        train(model, _squared, X, y, lr=0.1, steps=1, eval_batch_size=0)


def test_recording_does_not_change_a_batchnorm_model(gen):
    """A training-mode BN forward on the whole set would move the running statistics."""
    X = torch.randn(24, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(24, generator=gen, dtype=torch.float64)
    ends = []
    for every in (1, 6):
        model = _bn_model(make_generator(7))
        history = train(model, _squared, X, y, lr=0.1, steps=6, batch_size=8,
                        generator=make_generator(8), record_every=every,
                        metrics={"out": lambda m: float(m(X).detach().mean())})  # a forward too
        ends.append((model.state_dict(), history))
    (a, ha), (b, hb) = ends
    assert ha.column("step").tolist() == list(range(7)) and len(hb.records) == 2
    assert a.keys() == b.keys() and any("running_mean" in k for k in a)
    for key in a:                   # weights AND buffers (running mean/var, batch counter)
        assert torch.equal(a[key], b[key]), key
    assert int(a["1.num_batches_tracked"]) == 6      # the six SGD steps only
    assert ha.final("loss") == hb.final("loss")


# --------------------------------------------------------------------------- one trainer

def _tiny(gen):
    X = torch.randn(12, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(12, generator=gen, dtype=torch.float64)
    model = torch.nn.Linear(3, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, 3, generator=gen, dtype=torch.float64))
    return model, X, y


def test_epochs_mode_is_steps_mode_recorded_per_epoch(gen):
    import copy
    model, X, y = _tiny(gen)
    twin = copy.deepcopy(model)
    sched = multistep([5], 0.5)
    a = train(model, squared_loss, X, y, lr=0.1, epochs=3, batch_size=5,
              generator=make_generator(3), schedule=sched)
    b = train(twin, squared_loss, X, y, lr=0.1, steps=6, batch_size=5,
              generator=make_generator(3), schedule=sched, record_every=2,
              record_initial=False)
    assert torch.equal(model.weight, twin.weight)        # 12 // 5 = 2 updates per epoch
    assert [r["step"] for r in a.records] == [r["step"] for r in b.records] == [2, 4, 6]
    assert [r["epoch"] for r in a.records] == [1, 2, 3]
    assert a.column("loss").tolist() == b.column("loss").tolist()
    assert list(a.records[0]) == ["step", "loss", "lr", "epoch"]


def test_record_steps_records_exactly_there(gen):
    model, X, y = _tiny(gen)
    h = train(model, squared_loss, X, y, lr=0.1, steps=10, record_steps=[0, 3, 10])
    assert h.column("step").tolist() == [0, 3, 10]


def test_lr_scale_is_a_per_entry_step_size(gen):
    import copy
    model, X, y = _tiny(gen)
    a, b = copy.deepcopy(model), copy.deepcopy(model)
    scale = torch.tensor([[1.0, 0.5, 0.0]], dtype=torch.float64)
    train(a, squared_loss, X, y, lr=0.1, steps=1, lr_scale={"weight": scale})
    loss = squared_loss(b(X), y).mean()
    (g,) = torch.autograd.grad(loss, [b.weight])
    torch.testing.assert_close(a.weight, b.weight - 0.1 * scale * g, rtol=0, atol=1e-15)
    assert a.weight[0, 2] == model.weight[0, 2]          # zero scale: frozen entry


def test_one_trainer_bad_arguments(gen, tmp_path):
    model, X, y = _tiny(gen)
    with pytest.raises(ValueError, match="exactly one of steps"):
        train(model, squared_loss, X, y, lr=0.1)
    with pytest.raises(ValueError, match="exactly one of steps"):
        train(model, squared_loss, X, y, lr=0.1, steps=2, epochs=2)
    with pytest.raises(ValueError, match="checkpoint needs epochs"):
        train(model, squared_loss, X, y, lr=0.1, steps=2, checkpoint=tmp_path / "c")
    with pytest.raises(ValueError, match="record_every is for steps mode"):
        train(model, squared_loss, X, y, lr=0.1, epochs=2, record_every=1)
    with pytest.raises(ValueError, match="record_every or record_steps"):
        train(model, squared_loss, X, y, lr=0.1, steps=2, record_every=1, record_steps=[1])
    with pytest.raises(ValueError, match="record_steps"):
        train(model, squared_loss, X, y, lr=0.1, steps=2, record_steps=[3])
    with pytest.raises(ValueError, match="not a trainable parameter"):
        train(model, squared_loss, X, y, lr=0.1, steps=1, lr_scale={"bias": torch.ones(1)})
    with pytest.raises(ValueError, match="does not broadcast"):
        train(model, squared_loss, X, y, lr=0.1, steps=1,
              lr_scale={"weight": torch.ones(2, dtype=torch.float64)})
    with pytest.raises(TypeError, match="lr_scale must be a mapping"):
        train(model, squared_loss, X, y, lr=0.1, steps=1, lr_scale=[1.0])
