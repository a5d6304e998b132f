"""(S)GD with the kernel's step size: the closed form of a linear model, SGD and checkpoints,
and the batch-size sweep of Theorem 2."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers.allen_zhu_li_song import (
    DeepReLUNet,
    batch_sweep,
    kernel_gd,
    paper_inputs,
)
from helpers.rng import make_generator

D = torch.float64


def _linear(gen, n=5, d=8):
    model = torch.nn.Linear(d, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, d, generator=gen, dtype=D))
    X = torch.randn(n, d, generator=gen, dtype=D)
    Y = torch.randn(n, 1, generator=gen, dtype=D)
    return model, X, Y


def test_gd_on_a_linear_model_follows_the_closed_form(gen):
    # residual r_t = (I - K/lambda_max)^t r_0 for eta = 1/lambda_max on F = sum_i F_i
    model, X, Y = _linear(gen)
    r0 = (Y - model(X)).detach()[:, 0]
    K = X @ X.T
    run = kernel_gd(model, X, Y, steps=60, K0=K)
    lam = torch.linalg.eigvalsh(K)
    assert run.lr == pytest.approx(5 / float(lam[-1]))
    M = torch.eye(5, dtype=D) - K / lam[-1]
    expected = [0.5 * float((torch.linalg.matrix_power(M, t) @ r0).pow(2).sum())
                for t in range(61)]
    np.testing.assert_allclose(run.loss, expected, rtol=1e-9, atol=1e-30)
    assert run.kappa == pytest.approx(float(lam[-1] / lam[0]))
    # at convergence the movement is the kernel model's minimum-norm distance
    long = kernel_gd(_linear(make_generator(3))[0], X, Y, steps=4000, K0=K)
    assert long.frobenius_movement == pytest.approx(long.min_norm, rel=1e-6)
    assert run.steps_to(1e-300) == math.inf


def test_sgd_step_and_checkpoint_resume(gen, tmp_path):
    net = DeepReLUNet(5, 32, 2, 1, generator=make_generator(1))
    X = paper_inputs(4, 5, 0.3, generator=gen)
    Y = torch.ones(4, 1, dtype=D)
    a = kernel_gd(DeepReLUNet(5, 32, 2, 1, generator=make_generator(1)), X, Y, steps=10,
                  batch_size=2, generator=make_generator(7))
    b = kernel_gd(DeepReLUNet(5, 32, 2, 1, generator=make_generator(1)), X, Y, steps=10,
                  batch_size=2, generator=make_generator(7))
    np.testing.assert_array_equal(a.loss, b.loss)                  # deterministic
    assert a.lr == pytest.approx(2 / float(a.eigenvalues[-1]))    # eta_b = (b/n) eta_GD
    c = kernel_gd(net, X, Y, steps=10, batch_size=2, generator=make_generator(7),
                  checkpoint=tmp_path / "run.ckpt")
    assert c.steps.tolist() == [0, 2, 4, 6, 8, 10] and (tmp_path / "run.ckpt").exists()
    assert c.loss[0] == pytest.approx(a.loss[0])


def test_kernel_gd_bad(gen):
    model, X, Y = _linear(gen)
    with pytest.raises(ValueError, match="steps must be"):
        kernel_gd(model, X, Y, steps=0)
    with pytest.raises(ValueError, match="Y must have shape"):
        kernel_gd(model, X, Y[:3], steps=1)
    with pytest.raises(ValueError, match="K0 must have shape"):
        kernel_gd(model, X, Y, steps=1, K0=torch.eye(3, dtype=D))
    with pytest.raises(TypeError, match="generator"):
        kernel_gd(model, X, Y, steps=1, batch_size=2)


def test_batch_sweep_runs_gd_then_sgd_with_budgets(gen):
    net = DeepReLUNet(5, 128, 2, 1, generator=gen)
    X = paper_inputs(4, 5, 0.3, generator=gen)
    Y = torch.tensor([[1.0], [-1.0], [1.0], [-1.0]], dtype=D)
    before = [W.detach().clone() for W in net.Ws]
    runs, curves = batch_sweep(net, X, Y, batches=[1, 2, 4], seeds=2, eps=1e-4, seed=3)
    assert runs[["b", "seed"]].values.tolist() == [[4, 0], [1, 0], [1, 1], [2, 0], [2, 1]]
    T_gd = runs["steps to eps"].iloc[0]
    assert runs["budget"].iloc[0] == math.ceil(2 * runs["kappa"].iloc[0] * math.log(1e4))
    assert runs["budget"].iloc[1:].tolist() == [math.ceil(2 * T_gd * 4 / b) for b in (1, 1, 2, 2)]
    assert (runs["steps to eps"] <= runs["budget"]).all()
    assert set(curves.columns) == {"b", "seed", "step", "F / F0"}
    assert float(curves["F / F0"].iloc[0]) == 1.0
    assert all(torch.equal(W.detach(), w) for W, w in zip(net.Ws, before))   # copies trained


def test_batch_sweep_bad(gen):
    model, X, Y = _linear(gen)
    with pytest.raises(ValueError, match="GD did not reach"):
        batch_sweep(model, X, Y, batches=[1], seeds=1, eps=1e-6, seed=0,
                    K0=1e6 * torch.eye(5, dtype=D))
    with pytest.raises(ValueError, match="positive definite"):
        batch_sweep(model, X, Y, batches=[1], seeds=1, eps=1e-6, seed=0,
                    K0=torch.zeros(5, 5, dtype=D))
    with pytest.raises(ValueError, match="eps must be"):
        batch_sweep(model, X, Y, batches=[1], seeds=1, eps=1.0, seed=0)
