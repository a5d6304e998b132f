"""Tests for the Section 7 protocol: minibatch cosines against an autograd oracle, the step-size
selection, the chaos guard, checkpoints that resume to the same numbers, and bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import losses, models, train
from helpers.gradient_confusion import (
    confusion_protocol,
    data_dependent_init_,
    minibatch_confusion,
    minibatch_gram,
    pairwise_summary,
)
from helpers.gradient_confusion._protocol import _first_batch
from helpers.gradients import cosine_matrix, gradient_gram
from helpers.rng import make_generator

D = torch.float64


def data(gen, n=24, d=3, classes=2):
    X = torch.randn(n, d, generator=gen, dtype=D)
    return X, torch.arange(n) % classes


def mlp(generator, activation="tanh"):
    return models.MLP(3, 8, 1, 2, generator=generator, activation=activation)


def linear_mlp(generator):
    return mlp(generator, "linear")


def test_minibatch_confusion_equals_the_gram_of_per_example_gradients(gen):
    """Without batch norm the minibatch gradient is the mean of the per-example gradients
    (autograd oracle: gradient_gram); the cosines are those of minibatch_gram."""
    X, y = data(gen)
    net = mlp(gen)
    B, K = 5, 6
    c = minibatch_confusion(net, losses.cross_entropy, X, y, batch_size=B, num_batches=K,
                            generator=make_generator(3))
    # the minibatches minibatch_gradients draws: first B of an argsort of uniforms per row
    keys = torch.rand(K, X.shape[0], generator=make_generator(3), dtype=torch.float64)
    batches = keys.argsort(dim=1)[:, :B]
    G = minibatch_gram(gradient_gram(net, losses.cross_entropy, X, y), batches)
    cos = cosine_matrix(G)
    iu = torch.triu_indices(K, K, 1)
    np.testing.assert_allclose(c.cosines, cos[iu[0], iu[1]].numpy(), atol=1e-12)
    s = pairwise_summary(G)
    assert c.min_cosine == pytest.approx(s.min_cosine, abs=1e-12)
    assert c.mean_cosine == pytest.approx(s.mean_cosine, abs=1e-12)
    assert c.cosine_std == pytest.approx(float(np.std(c.cosines)))


def test_minibatch_confusion_closed_forms():
    """B = n: every minibatch gradient is the full gradient (cosines 1); orthonormal data and
    B = 1 at w = 0: gradients -e_i, cosines 0 (distinct) or 1 (repeats)."""
    model = torch.nn.Linear(4, 1, bias=False).double()
    with torch.no_grad():
        model.weight.zero_()
    X, y = torch.eye(4, dtype=D), torch.ones(4, dtype=D)
    full = minibatch_confusion(model, losses.squared_loss, X, y, batch_size=4, num_batches=3,
                               generator=make_generator(0))
    np.testing.assert_allclose(full.cosines, 1.0, atol=1e-14)
    one = minibatch_confusion(model, losses.squared_loss, X, y, batch_size=1, num_batches=10,
                              generator=make_generator(0))
    assert np.all((np.abs(one.cosines) < 1e-14) | (np.abs(one.cosines - 1) < 1e-14))
    assert one.min_cosine == pytest.approx(0.0, abs=1e-14)


def test_first_batch_is_the_first_minibatch_of_the_trainer_and_does_not_advance(gen):
    g = make_generator(11)
    idx = _first_batch(g, 20, 4)
    assert torch.equal(idx, torch.randperm(20, generator=make_generator(11))[:4])
    assert torch.equal(g.get_state(), make_generator(11).get_state())


def test_protocol_keeps_the_lowest_mean_loss_and_matches_the_trainer(gen):
    X, y = data(gen)
    out = confusion_protocol(linear_mlp, losses.cross_entropy, X, y, lrs=(1e150, 0.3, 0.01),
                             runs=2, epochs=2, batch_size=6, num_batches=3,
                             generator=make_generator(5))
    grid = out.grid.groupby("lr")["final loss"].mean()
    assert math.isinf(grid[1e150])                                 # diverged: counted as inf
    assert out.lr == grid.idxmin() == 0.3
    assert out.runs["final loss"].tolist() == out.grid[out.grid["lr"] == 0.3]["final loss"].tolist()
    assert list(out.curves.columns[:3]) == ["step", "loss", "lr"] and len(out.curves) == 4
    # the same runs through train.train directly: same seeds, same numbers
    seeds = torch.randint(0, 2**62, (2, 4), generator=make_generator(5)).tolist()
    for r in range(2):
        net = linear_mlp(make_generator(seeds[r][0]))
        h = train.train(net, losses.cross_entropy, X, y, lr=0.3, epochs=2, batch_size=6,
                        generator=make_generator(seeds[r][1]))
        assert h.final("loss") == out.runs["final loss"][r]
        for p, q in zip(net.parameters(), out.models[r].parameters()):
            assert torch.equal(p, q)


def test_all_step_sizes_of_a_run_start_from_the_same_weights(gen):
    X, y = data(gen)
    starts = []

    def record(model, X_first):
        starts.append([p.detach().clone() for p in model.parameters()])

    confusion_protocol(mlp, losses.cross_entropy, X, y, lrs=(0.1, 0.2), runs=1, epochs=1,
                       batch_size=6, num_batches=2, generator=make_generator(1),
                       first_batch_init=record)
    assert all(torch.equal(a, b) for a, b in zip(starts[0], starts[1]))


def test_checkpoints_resume_to_the_same_numbers(gen, tmp_path):
    X, y = data(gen)
    kw = dict(lrs=(0.3, 0.1), runs=2, epochs=2, batch_size=6, num_batches=3, measure_init=True)
    plain = confusion_protocol(mlp, losses.cross_entropy, X, y, generator=make_generator(2), **kw)
    first = confusion_protocol(mlp, losses.cross_entropy, X, y, generator=make_generator(2),
                               checkpoint_dir=tmp_path / "net", **kw)
    assert len(list((tmp_path / "net").glob("*.ckpt"))) == 4
    again = confusion_protocol(mlp, losses.cross_entropy, X, y, generator=make_generator(2),
                               checkpoint_dir=tmp_path / "net", **kw)     # reloads every run
    for other in (first, again):
        assert other.lr == plain.lr
        pd_equal = other.runs.equals(plain.runs) and other.curves.equals(plain.curves)
        assert pd_equal


def test_chaos_guard_skips_step_sizes_whose_loss_moves(gen):
    X, y = data(gen)
    kw = dict(lrs=(0.3, 0.1), runs=1, epochs=2, batch_size=6, num_batches=3,
              generator=make_generator(4))
    stable = confusion_protocol(mlp, losses.cross_entropy, X, y, chaos_nudge=1e-12, **kw)
    assert stable.lr == 0.3                      # a smooth problem: the nudge moves ~1e-12
    moved = (stable.grid["final loss"] - stable.grid["nudged loss"]).abs().dropna()
    assert len(moved) == 1 and 0 < moved.iloc[0] < 1e-8
    # a tolerance below the nudge's effect: every step size counts as chaotic
    none = confusion_protocol(mlp, losses.cross_entropy, X, y, chaos_nudge=1e-6,
                              chaos_tol=1e-30, **kw)
    assert none.lr is None and math.isinf(none.runs["final loss"][0])
    assert none.grid["nudged loss"].notna().sum() == 2


def test_tune_runs_selects_on_the_first_runs_and_trains_the_rest_at_the_kept_step(gen, tmp_path):
    X, y = data(gen)
    kw = dict(lrs=(0.3, 0.01), runs=3, epochs=2, batch_size=6, num_batches=3)
    full = confusion_protocol(mlp, losses.cross_entropy, X, y, generator=make_generator(7), **kw)
    for folder in (None, tmp_path / "t"):
        one = confusion_protocol(mlp, losses.cross_entropy, X, y, generator=make_generator(7),
                                 tune_runs=1, checkpoint_dir=folder, **kw)
        assert sorted(set(one.grid["run"])) == [0] and len(one.grid) == 2
        assert one.lr == one.grid.set_index("lr")["final loss"].idxmin()
        if one.lr == full.lr:                 # same seeds: the same runs
            assert one.runs.equals(full.runs)
    if folder is not None:
        assert len(list(folder.glob("*.ckpt"))) == 2 + 2      # grid of run 0, then runs 1, 2


def test_epochs_zero_measures_the_initial_models(gen):
    X, y = data(gen)
    out = confusion_protocol(mlp, losses.cross_entropy, X, y, lrs=(), runs=2, epochs=0,
                             batch_size=6, num_batches=4, generator=make_generator(6),
                             measure_init=True)
    assert out.lr is None and out.curves.empty and out.grid.empty
    np.testing.assert_allclose(out.runs["final loss"], out.runs["final loss init"])
    seeds = torch.randint(0, 2**62, (2, 4), generator=make_generator(6)).tolist()
    net = mlp(make_generator(seeds[1][0]))
    with torch.no_grad():
        assert out.runs["final loss"][1] == pytest.approx(
            float(losses.cross_entropy(net(X), y).mean()), rel=1e-14)


def test_first_batch_init_and_evaluate(gen):
    """The data-dependent initialisation sees the first minibatch SGD uses: on it the plain
    network's first conv outputs are standardised per channel."""
    X = torch.randn(16, 1, 8, 8, generator=gen, dtype=D)
    y = torch.arange(16) % 10
    seen = {}

    def init(model, X_first):
        data_dependent_init_(model, X_first)
        seen["X"] = X_first

    def make(generator):
        return models.WideResNet(10, 1, 10, generator=generator, in_channels=1,
                                 batch_norm=False, skip=False, dtype=D)

    out = confusion_protocol(make, losses.cross_entropy, X, y, lrs=(0.01,), runs=1, epochs=1,
                             batch_size=4, num_batches=2, generator=make_generator(8),
                             first_batch_init=init, evaluate=lambda m: {"answer": 42})
    assert seen["X"].shape == (4, 1, 8, 8) and out.runs["answer"][0] == 42.0


@pytest.mark.parametrize("kwargs,error,match", [
    ({"lrs": (0.1, 0.1)}, ValueError, "repeat"),
    ({"lrs": ()}, ValueError, "at least one"),
    ({"lrs": "0.1"}, TypeError, "sequence"),
    ({"lrs": (-0.1,)}, ValueError, "lrs\\[0\\]"),
    ({"runs": 0}, ValueError, "runs"),
    ({"num_batches": 1}, ValueError, "num_batches"),
    ({"batch_size": 100}, ValueError, "batch_size"),
    ({"per_epoch_batches": 1}, ValueError, "per_epoch_batches"),
    ({"generator": 3}, TypeError, "generator"),
    ({"schedule": 3}, TypeError, "schedule"),
    ({"evaluate": "x"}, TypeError, "evaluate"),
    ({"chaos_nudge": 0.5}, ValueError, "chaos_nudge"),
    ({"checkpoint_dir": 3}, TypeError, "checkpoint_dir"),
    ({"measure_init": 1}, TypeError, "measure_init"),
    ({"tune_runs": 2}, ValueError, "tune_runs"),
    ({"tune_runs": 0}, ValueError, "tune_runs"),
])
def test_protocol_bad_inputs(gen, kwargs, error, match):
    X, y = data(gen)
    kw = dict(lrs=(0.1,), runs=1, epochs=1, batch_size=6, num_batches=2,
              generator=make_generator(0)) | kwargs
    with pytest.raises(error, match=match):
        confusion_protocol(mlp, losses.cross_entropy, X, y, **kw)
    with pytest.raises(TypeError, match="make_model"):
        confusion_protocol("net", losses.cross_entropy, X, y, **kw)


def test_minibatch_confusion_bad_inputs(gen):
    X, y = data(gen)
    with pytest.raises(ValueError, match="num_batches"):
        minibatch_confusion(mlp(gen), losses.cross_entropy, X, y, batch_size=2, num_batches=1,
                            generator=gen)
    with pytest.raises(ValueError, match="batch_size"):
        minibatch_confusion(mlp(gen), losses.cross_entropy, X, y, batch_size=0, num_batches=3,
                            generator=gen)
