"""Tests for helpers.oymak_soltanolkotabi (Oymak & Soltanolkotabi, Section 4, Figure 2)."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import torch

from helpers import data
from helpers.activations import get as act
from helpers.oymak_soltanolkotabi import _phase_transition as pt
from helpers.rng import make_generator


def test_docstring_examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(pt, pt.__name__)
    assert sum(len(t.examples) for t in tests) > 0
    for t in tests:
        runner.run(t)
    assert runner.summarize(verbose=False).failed == 0


@pytest.mark.parametrize("k", [1, 2, 5, 8])
def test_output_weights(k):
    v = pt.oymak_output_weights(k, y_norm=3.0, n=7)
    assert float(v.sum()) == pytest.approx(0.0, abs=1e-15)
    assert float(v.abs().max()) == pytest.approx(3.0 / math.sqrt(7 * k) if k > 1 else 0.0)
    assert int((v == 0).sum()) == k % 2
    if k % 2 == 0:
        assert float(v.norm()) == pytest.approx(3.0 / math.sqrt(7))


def _problem(gen, n=6, k=5, d=3):
    X = data.sphere(n, d, generator=gen)
    y = torch.randn(n, generator=gen, dtype=torch.float64)
    W0 = torch.randn(k, d, generator=gen, dtype=torch.float64)
    v = pt.oymak_output_weights(k, y_norm=float(y.norm()), n=n)
    return X, y, W0, v


@pytest.mark.parametrize("activation", ["softplus", "relu"])
def test_one_step_is_autograd_gradient_step(gen, activation):
    X, y, W0, v = _problem(gen)
    W = W0.clone().requires_grad_(True)
    loss = 0.5 * ((act(activation).fn(X @ W.T) @ v - y) ** 2).sum()      # eq. (2.1)
    (g,) = torch.autograd.grad(loss, W)
    res = pt.gd_batched(X[None], y[None], W0[None], v[None], activation=activation, lr=0.05,
                        steps=1)
    assert torch.allclose(res.W[0], W0 - 0.05 * g, atol=1e-13)
    assert float(res.path_length[0]) == pytest.approx(0.05 * float(g.norm()), rel=1e-12)
    assert float(res.distance[0]) == pytest.approx(0.05 * float(g.norm()), rel=1e-12)


def test_padding_does_not_change_the_network(gen):
    X, y, W0, v = _problem(gen)
    n, d = X.shape
    k = W0.shape[0]
    Xp = torch.cat([X, torch.zeros(n, 4, dtype=X.dtype)], 1)
    Wp = torch.zeros(k + 3, d + 4, dtype=X.dtype)
    Wp[:k, :d] = W0
    Wp[k:, :] = 7.0                                         # junk in padded units: v = 0 there
    Wp[:k, d:] = 0.0
    vp = torch.cat([v, torch.zeros(3, dtype=v.dtype)])
    a = pt.gd_batched(X[None], y[None], W0[None], v[None], activation="softplus", lr=0.1,
                      steps=200, record_every=10)
    b = pt.gd_batched(Xp[None], y[None], Wp[None], vp[None], activation="softplus", lr=0.1,
                      steps=200, record_every=10)
    assert torch.allclose(a.history, b.history, rtol=1e-10)
    assert torch.allclose(b.W[0, :k, :d], a.W[0], atol=1e-10)
    assert torch.equal(b.W[0, k:], Wp[k:])                   # padded units never move


def test_batched_equals_loop_and_is_deterministic():
    kw = dict(trials=2, activation="relu", lr=1.0, steps=300, tol=0.05)
    a = pt.phase_panel(8, [1, 3, 6], [2, 4], generator=make_generator(1), **kw)
    b = pt.phase_panel(8, [1, 3, 6], [2, 4], generator=make_generator(1), method="loop", **kw)
    c = pt.phase_panel(8, [1, 3, 6], [2, 4], generator=make_generator(1), **kw)
    assert a.success.any() and not a.success.all()
    assert np.array_equal(a.success, b.success)
    assert np.array_equal(a.iterations, b.iterations)
    assert np.allclose(a.relative_error, b.relative_error, rtol=1e-8)
    assert np.array_equal(a.relative_error, c.relative_error)
    assert a.probability.shape == (2, 3)


def test_early_stopping_and_budgets():
    p = pt.phase_panel(6, [2, 12], [3, 6], trials=3, activation="softplus", lr=0.5,
                       steps=600, generator=make_generator(2))
    assert p.success[1, 1].all()                            # kd = 72 >> n = 6
    assert (p.relative_error[p.success] < p.tol).all()
    assert (p.iterations[p.success] < p.steps).all()        # stopped early
    assert (p.iterations[~p.success] == p.steps).all()
    probs = [p.probability_at(b) for b in (0, 100, 300, 600)]
    for lo, hi in zip(probs, probs[1:]):
        assert (lo <= hi).all()
    assert np.array_equal(probs[-1], p.probability)


def test_history_is_monotone_for_small_step(gen):
    X, y, W0, v = _problem(gen, n=5, k=40, d=4)
    res = pt.gd_batched(X[None], y[None], W0[None], v[None], activation="softplus", lr=0.05,
                        steps=300, record_every=1)
    h = res.history[0]
    assert h.shape == (301,)
    assert (h[1:] <= h[:-1] + 1e-12).all()


def test_divergence_is_flagged_and_isolated(gen):
    X, y, W0, v = _problem(gen, n=6, k=6, d=3)
    lr = torch.tensor([1e4, 0.05], dtype=torch.float64)
    res = pt.gd_batched(X[None].expand(2, -1, -1), y[None].expand(2, -1),
                        W0[None].expand(2, -1, -1), v[None].expand(2, -1),
                        activation="quadratic", lr=lr, steps=50, tol=1e-3)
    assert bool(res.diverged[0]) and not bool(res.success[0])
    assert math.isinf(float(res.relative_error[0]))
    assert not bool(res.diverged[1]) and torch.isfinite(res.W[1]).all()


def test_fit_boundary_recovers_threshold():
    ks = ds = (1, 2, 3, 4, 6, 8, 12)
    kd = np.outer(ds, ks)[:, :, None]
    ok = np.repeat(kd >= 20, 4, axis=2)                     # n = 10: boundary between 18 and 20
    p = pt.PhasePanel(ks, ds, 10, 4, 10, 1e-3, "relu", 0.1, np.zeros(ok.shape),
                      np.zeros(ok.shape, int), ok, np.zeros(ok.shape, bool))
    fit = pt.fit_boundary(p)
    assert 1.8 < fit.ratio < 2.4          # between kd = 18 (fail) and kd = 24 (success)
    assert fit.count == ok.size
    low, high = pt.fit_boundary(p, max_d=4), pt.fit_boundary(p, min_d=6)
    assert low.count + high.count == fit.count
    assert low.count == 4 * len(ks) * 4


def test_bad_inputs(gen):
    X, y, W0, v = _problem(gen)
    with pytest.raises(ValueError, match="k must be"):
        pt.oymak_output_weights(0, y_norm=1.0, n=3)
    with pytest.raises(ValueError, match="y_norm must be"):
        pt.oymak_output_weights(2, y_norm=0.0, n=3)
    with pytest.raises(ValueError, match="X must have 3 dimensions"):
        pt.gd_batched(X, y[None], W0[None], v[None], activation="relu", lr=0.1, steps=1)
    with pytest.raises(ValueError, match="W0 must have shape"):
        pt.gd_batched(X[None], y[None], W0[None, :, :2], v[None], activation="relu", lr=0.1,
                      steps=1)
    with pytest.raises(ValueError, match="lr must be"):
        pt.gd_batched(X[None], y[None], W0[None], v[None], activation="relu", lr=0.0, steps=1)
    with pytest.raises(ValueError, match="activation must be one of"):
        pt.phase_panel(4, [1], [1], trials=1, activation="tanh", lr=0.1, steps=1,
                       generator=gen)
    with pytest.raises(TypeError, match="ks must be a non-empty sequence"):
        pt.phase_panel(4, 3, [1], trials=1, activation="relu", lr=0.1, steps=1, generator=gen)
    with pytest.raises(ValueError, match="method must be one of"):
        pt.phase_panel(4, [1], [1], trials=1, activation="relu", lr=0.1, steps=1,
                       generator=gen, method="gpu")
    with pytest.raises(TypeError, match="panel must be a PhasePanel"):
        pt.fit_boundary("panel")
    p = pt.phase_panel(4, [1], [1], trials=1, activation="relu", lr=0.1, steps=2,
                       generator=gen)
    with pytest.raises(ValueError, match="budget must be"):
        pt.fit_boundary(p, budget=5)
    with pytest.raises(ValueError, match="min_d"):
        pt.fit_boundary(p, min_d=3)
    with pytest.raises(ValueError, match="max_d must be"):
        pt.fit_boundary(p, min_d=2, max_d=1)
    with pytest.raises(ValueError, match="both successes and failures"):
        pt.fit_boundary(p)
    with pytest.raises(ValueError, match="budget must be"):
        p.probability_at(-1)


@pytest.mark.parametrize("activation", ["softplus", "relu"])
def test_sgd_batched_matches_autograd_chains(gen, activation):
    """Each chain is plain SGD on 1/2 (f(x_i) - y_i)^2 with its own with-replacement indices."""
    X, y, W0, v = _problem(gen)
    n, epochs, trials, lr = X.shape[0], 2, 3, 0.05
    res = pt.sgd_batched(X, y, W0, v, activation=activation, lr=lr, epochs=epochs,
                         trials=trials, generator=make_generator(7))
    idx = torch.randint(0, n, (trials, epochs * n), generator=make_generator(7))
    phi = act(activation).fn
    for b in range(trials):
        W, norms = W0.clone(), []
        for tau in range(epochs * n):
            if tau % n == 0:
                norms.append(float((phi(X @ W.T) @ v - y).norm()))
            Wg = W.clone().requires_grad_(True)
            i = int(idx[b, tau])
            (g,) = torch.autograd.grad(0.5 * (phi(Wg @ X[i]) @ v - y[i]) ** 2, Wg)
            W = W - lr * g
        np.testing.assert_allclose(res[b].numpy(), norms, rtol=1e-12, atol=1e-13)


def test_sgd_batched_deterministic_and_validated(gen):
    X, y, W0, v = _problem(gen)
    kw = dict(activation="softplus", lr=0.05, epochs=3, trials=2)
    a = pt.sgd_batched(X, y, W0, v, generator=make_generator(1), **kw)
    b = pt.sgd_batched(X, y, W0, v, generator=make_generator(1), **kw)
    assert torch.equal(a, b) and a.shape == (2, 3)
    assert torch.allclose(a[:, 0], (act("softplus").fn(X @ W0.T) @ v - y).norm().expand(2))
    with pytest.raises(ValueError, match="W0 must have shape"):
        pt.sgd_batched(X, y, W0[:, :2], v, generator=gen, **kw)
    with pytest.raises(ValueError, match="lr must be"):
        pt.sgd_batched(X, y, W0, v, generator=gen, **{**kw, "lr": -1.0})
    with pytest.raises(ValueError, match="epochs must be"):
        pt.sgd_batched(X, y, W0, v, generator=gen, **{**kw, "epochs": 0})
    with pytest.raises(TypeError, match="generator"):
        pt.sgd_batched(X, y, W0, v, generator=None, **kw)


def test_overflow_free_form_is_the_same_gd(gen):
    """The fast softplus (exp/log/reciprocal of -Z) and the overflow-free form agree."""
    X, y, W0, v = _problem(gen, n=8, k=6, d=4)
    lr = torch.tensor([0.1], dtype=torch.float64)
    runs = []
    for stable in (False, True):
        run = pt._Run(X[None], y[None], W0[None], v[None], lr, "softplus", None)
        run.limit = -1.0 if stable else math.inf       # force one form or the other
        runs.append(run.loop(60, 1, 100))
    torch.testing.assert_close(runs[0], runs[1], rtol=1e-12, atol=0.0)


def test_large_weights_switch_to_the_overflow_free_form(gen):
    """Pre-activations beyond exp's range (|z| > 709 in float64) are handled, not 'diverged'."""
    X, y, W0, v = _problem(gen, n=5, k=4, d=3)
    W0 = W0 * 1e3 / W0.norm(dim=1, keepdim=True)           # |z| up to 1000
    W = W0.clone().requires_grad_(True)
    loss = 0.5 * ((act("softplus").fn(X @ W.T) @ v - y) ** 2).sum()
    (g,) = torch.autograd.grad(loss, W)
    res = pt.gd_batched(X[None], y[None], W0[None], v[None], activation="softplus", lr=1e-3,
                        steps=1)
    assert not bool(res.diverged[0])
    torch.testing.assert_close(res.W[0], W0 - 1e-3 * g, rtol=1e-13, atol=1e-10)


def test_history_of_stopped_networks_is_frozen(gen):
    X, y, W0, v = _problem(gen, n=4, k=30, d=4)
    res = pt.gd_batched(X[None], y[None], W0[None], v[None], activation="softplus", lr=0.2,
                        steps=3000, tol=1e-2, record_every=500)
    assert bool(res.success[0]) and int(res.iterations[0]) < 2500
    assert res.history.shape == (1, 7)
    last = float(res.relative_error[0] * y.norm())
    assert res.history[0, -1].item() == pytest.approx(last, rel=1e-14)
    assert res.history[0, 0].item() == pytest.approx(float(y.norm()) * 1.0, rel=0.5)


def test_give_up_stops_hopeless_runs_only():
    """kd < n cannot fit; the rule stops those early and leaves the others' outcome alone."""
    kw = dict(trials=2, activation="softplus", lr=0.3, steps=4000, tol=1e-3)
    plain = pt.phase_panel(10, [2, 16], [2, 6], generator=make_generator(3), **kw)
    quick = pt.phase_panel(10, [2, 16], [2, 6], give_up=4.0, generator=make_generator(3), **kw)
    assert np.array_equal(plain.success, quick.success)
    assert plain.success.any() and not plain.success[0, 0].any()
    assert quick.given_up[0, 0].all()                      # kd = 4 < 10: given up ...
    assert (quick.iterations[0, 0] <= 2000).all()          # ... at the first check
    assert not quick.given_up[quick.success].any()
    ok = plain.success
    assert np.array_equal(plain.iterations[ok], quick.iterations[ok])


def test_skip_below_and_audit():
    kw = dict(trials=2, activation="softplus", lr=0.5, steps=3000, tol=1e-3)
    full = pt.phase_panel(10, [2, 3, 16], [2, 6], generator=make_generator(4), **kw)
    part = pt.phase_panel(10, [2, 3, 16], [2, 6], generator=make_generator(4), skip_below=1.0,
                          give_up=4.0, audit=2, **kw)
    kd = np.outer([2, 6], [2, 3, 16])[:, :, None] * np.ones((1, 1, 2))
    assert np.array_equal(part.trained, kd >= 10)
    assert np.isnan(part.relative_error[~part.trained]).all()
    assert (part.iterations[~part.trained] == 0).all()
    assert np.array_equal(full.success, part.success)       # same draws, same outcomes
    t = part.trained
    np.testing.assert_allclose(full.relative_error[t & part.success],
                               part.relative_error[t & part.success], rtol=1e-12)
    a = part.audit
    assert list(a["kind"]) == ["skipped", "skipped"] + ["given up"] * int(min(
        2, part.given_up.sum()))
    flat = kd.reshape(-1)
    assert (flat[a["index"][:2]] == 6).all()                 # the largest kd below n = 10
    assert not a["success"].any()
    np.testing.assert_allclose(a["error"][:2], full.relative_error.reshape(-1)[a["index"][:2]],
                               rtol=1e-10)


def test_buckets_partition_the_problems():
    rng = np.random.default_rng(0)
    k = rng.integers(0, 13, 200) * 2
    d = rng.integers(1, 26, 200)
    groups = pt._buckets(k, d, 100, torch.device("cpu"))
    assert sorted(np.concatenate(groups).tolist()) == list(range(200))
    assert len(groups) > 1
    assert len(pt._buckets(k, d, 100, torch.device("meta"))) == 1     # accelerators: one batch


def test_give_up_and_panel_options_are_validated(gen):
    X, y, W0, v = _problem(gen)
    with pytest.raises(ValueError, match="give_up needs a tolerance"):
        pt.gd_batched(X[None], y[None], W0[None], v[None], activation="relu", lr=0.1, steps=1,
                      give_up=2.0)
    with pytest.raises(ValueError, match="give_up must be"):
        pt.gd_batched(X[None], y[None], W0[None], v[None], activation="relu", lr=0.1, steps=1,
                      tol=0.1, give_up=0.0)
    kw = dict(trials=1, activation="relu", lr=0.1, steps=1, generator=gen)
    with pytest.raises(ValueError, match="skip_below must be"):
        pt.phase_panel(4, [1], [1], skip_below=-1.0, **kw)
    with pytest.raises(ValueError, match="audit must be"):
        pt.phase_panel(4, [1], [1], audit=-1, **kw)
    with pytest.raises(ValueError, match="give_up must be"):
        pt.phase_panel(4, [1], [1], give_up=-2.0, **kw)


def test_fit_boundary_standard_error_matches_the_spread_of_refits():
    """The delta-method standard error of log c agrees with the spread over simulated panels."""
    ks = ds = tuple(range(1, 13))
    kd = np.outer(ds, ks)[:, :, None] * np.ones((1, 1, 3))
    x = np.log(kd / 40)
    rng = np.random.default_rng(0)
    logs, ses = [], []
    for _ in range(200):
        ok = rng.random(kd.shape) < 1 / (1 + np.exp(-8 * (x - np.log(1.5))))
        p = pt.PhasePanel(ks, ds, 40, 3, 10, 1e-3, "relu", 0.1, np.zeros(ok.shape),
                          np.zeros(ok.shape, int), ok, np.zeros(ok.shape, bool))
        fit = pt.fit_boundary(p)
        logs.append(math.log(fit.ratio))
        ses.append(fit.log_ratio_se)
    assert abs(np.mean(logs) - math.log(1.5)) < 0.02
    assert np.median(ses) == pytest.approx(np.std(logs), rel=0.25)
    lo, hi = pt.BoundaryFit(1.5, 8.0, 100, 0.1).interval()
    assert lo == pytest.approx(1.5 * math.exp(-0.196))
    assert hi == pytest.approx(1.5 * math.exp(0.196))
    sep = pt.fit_boundary(pt.PhasePanel(ks, ds, 40, 3, 10, 1e-3, "relu", 0.1, np.zeros(kd.shape),
                                        np.zeros(kd.shape, int), kd > 60, np.zeros(kd.shape, bool)))
    assert math.isnan(sep.log_ratio_se)
    with pytest.raises(ValueError, match="z must be"):
        pt.BoundaryFit(1.5, 8.0, 100, 0.1).interval(-1.0)


def test_panel_state_round_trip(tmp_path):
    from helpers.checkpoint import load_checkpoint, save_checkpoint
    p = pt.phase_panel(6, [1, 4], [2, 3], trials=2, activation="softplus", lr=0.5, steps=2500,
                       generator=make_generator(5), skip_below=1.0, give_up=4.0, audit=1)
    path = save_checkpoint(tmp_path / "panel.ckpt", p.to_state())
    q = pt.PhasePanel.from_state(load_checkpoint(path))
    assert (q.ks, q.ds, q.n, q.trials, q.steps, q.tol, q.activation, q.lr) == (
        p.ks, p.ds, p.n, p.trials, p.steps, p.tol, p.activation, p.lr)
    for name in pt.PhasePanel._ARRAYS:
        np.testing.assert_array_equal(getattr(q, name), getattr(p, name))
    assert q.audit.keys() == p.audit.keys()
    for key in p.audit:
        np.testing.assert_array_equal(q.audit[key], p.audit[key])
    with pytest.raises(ValueError, match="state must be a dict"):
        pt.PhasePanel.from_state({"ks": [1]})
