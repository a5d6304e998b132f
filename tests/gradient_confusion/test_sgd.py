"""Tests for helpers.gradient_confusion (Sankararaman et al., Theorems 3.1, 3.2, B.1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.gradient_confusion import glm_sgd, pl_bound, pl_rate, stationary_bound
from helpers.rng import make_generator

DT = torch.float64


def test_pl_rate_closed_forms():
    # Theorem 3.1: rho = 1 - 2 mu a / n + mu L a^2; at a = 1/(nL): 1 - mu/(n^2 L).
    n, mu, L = 20, 0.5, 2.0
    a = 1 / (n * L)
    assert pl_rate(a, n=n, mu=mu, smoothness=L) == pytest.approx(1 - mu / (n**2 * L))
    # Theorem B.1 at a = 1/L: 1 - mu/(n L).
    assert pl_rate(1 / L, n=n, mu=mu, smoothness=L, strengthened=True) == pytest.approx(
        1 - mu / (n * L))


def test_pl_bound_constant_and_path():
    kw = dict(lr=0.02, n=10, mu=1.0, smoothness=1.0)
    rho = pl_rate(**kw)
    b = pl_bound(5, 2.0, zeta=0.3, **kw)
    np.testing.assert_allclose(b, rho ** np.arange(6) * 2.0 + 0.02 * 0.3 / (1 - rho))
    zs = np.array([0.3, 0.1, 0.0, 0.2, 0.3])
    path = pl_bound(5, 2.0, zeta=zs, **kw)
    assert path[0] == 2.0
    assert np.all(path <= b + 1e-15)            # recursion never exceeds the printed form
    assert path[2] == pytest.approx(rho * (rho * 2.0 + 0.02 * 0.3) + 0.02 * 0.1)


def test_stationary_versions_differ_by_lr():
    long = stationary_bound(50, 3.0, lr=0.01, zeta=0.0, n=10, smoothness=2.0)
    icml = stationary_bound(50, 3.0, lr=0.01, zeta=0.0, n=10, smoothness=2.0, version="icml")
    assert icml == pytest.approx(0.01 * long)
    noise_l = stationary_bound(50, 0.0, lr=0.01, zeta=0.5, n=10, smoothness=2.0)
    noise_i = stationary_bound(50, 0.0, lr=0.01, zeta=0.5, n=10, smoothness=2.0, version="icml")
    assert noise_l == pytest.approx(noise_i) == pytest.approx(2 * 10 * 0.5 / (2 - 10 * 2 * 0.01))


@pytest.mark.parametrize("link", ["identity", "tanh"])
def test_glm_sgd_records_match_autograd(gen, link):
    n, d = 6, 4
    X = torch.randn(n, d, generator=gen, dtype=DT)
    y = torch.rand(n, generator=gen, dtype=DT) - 0.5
    w0 = torch.randn(d, generator=gen, dtype=DT)
    out = glm_sgd(X, y, w0, lr=0.05, steps=3, runs=2, generator=gen, link=link)
    w = out.final_weights[1].clone().requires_grad_(True)
    s = torch.tanh(X @ w) if link == "tanh" else X @ w
    per = 0.5 * (s - y) ** 2
    F = float(per.detach().mean())
    grads = torch.stack([torch.autograd.grad(per[i], w, retain_graph=True)[0] for i in range(n)])
    G = grads @ grads.T
    off = ~torch.eye(n, dtype=torch.bool)
    assert float(out.loss[1, -1]) == pytest.approx(F, rel=1e-12)
    assert float(out.grad_sq[1, -1]) == pytest.approx(float(grads.mean(0).pow(2).sum()),
                                                      rel=1e-10)
    assert float(out.min_inner[1, -1]) == pytest.approx(float(G[off].min()), rel=1e-10)
    assert float(out.mean_inner[1, -1]) == pytest.approx(float(G[off].mean()), rel=1e-10)
    cos = G / (G.diagonal().sqrt()[:, None] * G.diagonal().sqrt()[None, :])
    assert float(out.min_cosine[1, -1]) == pytest.approx(float(cos[off].min()), rel=1e-10)


def test_glm_sgd_deterministic_and_record_grid():
    X = torch.eye(4, dtype=DT)
    y = torch.ones(4, dtype=DT)
    w0 = torch.zeros(4, dtype=DT)
    a = glm_sgd(X, y, w0, lr=0.3, steps=10, runs=3, generator=make_generator(5), record_every=4)
    b = glm_sgd(X, y, w0, lr=0.3, steps=10, runs=3, generator=make_generator(5), record_every=4)
    assert a.steps.tolist() == [0, 4, 8, 10]
    assert torch.equal(a.loss, b.loss)
    c = glm_sgd(X, y, w0, lr=0.3, steps=10, runs=3, generator=make_generator(5), record_every=4,
                cosines=False)
    assert torch.equal(a.min_inner, c.min_inner) and bool(c.min_cosine.isnan().all())


def test_orthonormal_data_matches_theorem_b1_exactly():
    # x_i = e_i, square loss: E F_k = (1 - (2a - a^2)/n)^k F_0 exactly (Theorem B.1 rate,
    # L = mu = 1, confusion 0). 20 000 chains: the standard error of the mean is estimated
    # from the sample and the test allows 5 standard errors.
    n, a, K = 5, 0.5, 6
    X = torch.eye(n, dtype=DT)
    y = torch.ones(n, dtype=DT)
    out = glm_sgd(X, y, torch.zeros(n, dtype=DT), lr=a, steps=K, runs=20_000,
                  generator=make_generator(1))
    exact = pl_bound(K, 0.5, lr=a, zeta=0.0, n=n, mu=1.0, smoothness=1.0, strengthened=True)
    emp = out.loss.mean(0).numpy()
    se = out.loss.std(0).numpy() / np.sqrt(20_000)
    assert np.all(np.abs(emp - exact) <= 5 * se + 1e-12)
    assert float(out.confusion.max()) == 0.0


def test_bad_inputs():
    X = torch.eye(3, dtype=DT)
    y = torch.ones(3, dtype=DT)
    w0 = torch.zeros(3, dtype=DT)
    with pytest.raises(ValueError, match="lr must be <"):
        pl_rate(0.2, n=10, mu=1.0, smoothness=1.0)
    with pytest.raises(ValueError, match="mu must be <= smoothness"):
        pl_rate(0.01, n=10, mu=2.0, smoothness=1.0)
    with pytest.raises(TypeError, match="strengthened must be a bool"):
        pl_rate(0.01, n=10, mu=1.0, smoothness=1.0, strengthened=1)
    with pytest.raises(ValueError, match="zeta must be a float or an array of shape"):
        pl_bound(3, 1.0, lr=0.01, zeta=[0.1, 0.2], n=10, mu=1.0, smoothness=1.0)
    with pytest.raises(ValueError, match="initial_gap must be >="):
        pl_bound(3, -1.0, lr=0.01, zeta=0.1, n=10, mu=1.0, smoothness=1.0)
    with pytest.raises(ValueError, match="version must be one of"):
        stationary_bound(10, 1.0, lr=0.01, zeta=0.0, n=10, smoothness=1.0, version="arxiv")
    with pytest.raises(ValueError, match="T must be an integer >= 1"):
        stationary_bound(0, 1.0, lr=0.01, zeta=0.0, n=10, smoothness=1.0)
    with pytest.raises(ValueError, match="y must have shape"):
        glm_sgd(X, torch.ones(2, dtype=DT), w0, lr=0.1, steps=2, runs=1,
                generator=make_generator(0))
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        glm_sgd(X, y, w0, lr=0.1, steps=2, runs=1, generator=0)
    with pytest.raises(ValueError, match="link must be one of"):
        glm_sgd(X, y, w0, lr=0.1, steps=2, runs=1, generator=make_generator(0), link="relu")
    with pytest.raises(ValueError, match="must have the dtype and device of X"):
        glm_sgd(X, y.float(), w0, lr=0.1, steps=2, runs=1, generator=make_generator(0))
    with pytest.raises(TypeError, match="cosines must be a bool"):
        glm_sgd(X, y, w0, lr=0.1, steps=2, runs=1, generator=make_generator(0), cosines=1)
    with pytest.raises(TypeError, match="confusion must be a bool"):
        glm_sgd(X, y, w0, lr=0.1, steps=2, runs=1, generator=make_generator(0), confusion=1)
    with pytest.raises(FloatingPointError, match="diverged"):
        glm_sgd(10 * X, y, w0, lr=1.0, steps=2000, runs=1, generator=make_generator(0))


def test_loss_only_mode_matches_full_recording():
    """confusion=False records the same loss trajectory (same draws) and NaN statistics."""
    gen = make_generator(3)
    X = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    y = torch.randn(6, generator=gen, dtype=torch.float64)
    w0 = torch.zeros(4, dtype=torch.float64)
    kwargs = {"lr": 0.05, "steps": 30, "runs": 5, "record_every": 7}
    full = glm_sgd(X, y, w0, generator=make_generator(1), **kwargs)
    lean = glm_sgd(X, y, w0, generator=make_generator(1), confusion=False, **kwargs)
    assert torch.equal(full.loss, lean.loss)
    assert (full.steps == lean.steps).all()
    assert torch.equal(full.final_weights, lean.final_weights)
    assert torch.isnan(lean.min_inner).all() and torch.isnan(lean.grad_sq).all()
