"""Tests for helpers.hessian: explicit Hessians as oracle, closed forms, determinism, bad inputs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers import hessian
from helpers.losses import cross_entropy, squared_loss
from helpers.models import SmallCNN
from helpers.rng import make_generator

D = torch.float64


class Quadratic(nn.Module):
    """F(w) = 1/2 w^T A w + c^T w for every example: Hessian A exactly."""

    def __init__(self, A: torch.Tensor, c: torch.Tensor, w0: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("A", A)
        self.register_buffer("c", c)
        self.w = nn.Parameter(w0.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value = 0.5 * self.w @ self.A @ self.w + self.c @ self.w
        return value.expand(x.shape[0], 1)


def first_column(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return outputs[:, 0]


@pytest.fixture
def quad(gen):
    p = 6
    Qm, _ = torch.linalg.qr(torch.randn(p, p, generator=gen, dtype=D))
    eigs = torch.tensor([-3.0, -0.5, 0.2, 1.0, 2.5, 4.0], dtype=D)
    A = Qm @ torch.diag(eigs) @ Qm.T
    A = 0.5 * (A + A.T)
    model = Quadratic(A, torch.randn(p, generator=gen, dtype=D), torch.randn(p, generator=gen,
                                                                                dtype=D))
    X = torch.zeros(3, 1, dtype=D)
    return model, X, torch.zeros(3, dtype=D), A, eigs


@pytest.fixture
def tiny(gen):
    """A tanh MLP with biases and cross-entropy: a generic, indefinite Hessian (p = 35)."""
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3)).double()
    with torch.no_grad():
        for prm in model.parameters():
            prm.copy_(torch.randn(prm.shape, generator=gen, dtype=D))
    X = torch.randn(7, 3, generator=gen, dtype=D)
    y = torch.randint(0, 3, (7,), generator=gen)
    return model, X, y


def explicit_hessian(model, loss_fn, X, y):
    names = [k for k, p in model.named_parameters() if p.requires_grad]
    params = dict(model.named_parameters())
    shapes = [params[k].shape for k in names]
    numels = [params[k].numel() for k in names]
    w = torch.cat([params[k].detach().reshape(-1) for k in names])

    def F(flat):
        sub = {k: t.reshape(s) for k, t, s in zip(names, torch.split(flat, numels), shapes)}
        return loss_fn(torch.func.functional_call(model, sub, (X,)), y).mean()

    return torch.autograd.functional.hessian(F, w), F, w


def test_hvp_matches_explicit_hessian(tiny, gen):
    model, X, y = tiny
    H, _, w = explicit_hessian(model, cross_entropy, X, y)
    V = torch.randn(4, w.numel(), generator=gen, dtype=D)
    torch.testing.assert_close(hessian.hvp(model, cross_entropy, X, y, V), V @ H.T,
                               rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(hessian.hvp(model, cross_entropy, X, y, V[0]), H @ V[0],
                               rtol=1e-10, atol=1e-12)


def test_hvp_closed_forms(quad, gen):
    model, X, y, A, _ = quad
    v = torch.randn(6, generator=gen, dtype=D)
    torch.testing.assert_close(hessian.hvp(model, first_column, X, y, v), A @ v)
    # linear model, squared loss: Hessian X^T X / n, whatever the weights
    lin = nn.Linear(4, 1, bias=False).double()
    Xl = torch.randn(9, 4, generator=gen, dtype=D)
    yl = torch.randn(9, generator=gen, dtype=D)
    torch.testing.assert_close(hessian.hvp(lin, squared_loss, Xl, yl, v[:4]),
                               Xl.T @ Xl @ v[:4] / 9)


def test_hvp_of_affine_loss_is_zero(gen):
    lin = nn.Linear(3, 1, bias=False).double()
    ident = lambda out, t: out[:, 0]  # noqa: E731  (loss linear in w: zero Hessian)
    X = torch.randn(5, 3, generator=gen, dtype=D)
    out = hessian.hvp(lin, ident, X, torch.zeros(5, dtype=D), torch.ones(3, dtype=D))
    torch.testing.assert_close(out, torch.zeros(3, dtype=D))


@pytest.mark.parametrize("which", ["min", "max"])
def test_extreme_eigenpair_quadratic_closed_form(quad, which):
    model, X, y, A, eigs = quad
    pair = hessian.extreme_eigenpair(model, first_column, X, y, which=which, iters=20,
                                     generator=make_generator(1))
    target = float(eigs.min() if which == "min" else eigs.max())
    assert pair.value == pytest.approx(target, abs=1e-10)
    assert pair.iterations <= 6  # the Krylov space is at most p-dimensional
    assert pair.residual < 1e-8
    torch.testing.assert_close(A @ pair.vector, pair.value * pair.vector, atol=1e-8, rtol=0)
    assert float(pair.vector.norm()) == pytest.approx(1.0)
    assert pair.vector[pair.vector.abs().argmax()] > 0


@pytest.mark.parametrize("which", ["min", "max"])
def test_extreme_eigenpair_matches_eigvalsh(tiny, which):
    model, X, y = tiny
    H, _, w = explicit_hessian(model, cross_entropy, X, y)
    evals = torch.linalg.eigvalsh(H)
    pair = hessian.extreme_eigenpair(model, cross_entropy, X, y, which=which, iters=w.numel(),
                                     generator=make_generator(2))
    target = float(evals[0] if which == "min" else evals[-1])
    assert pair.value == pytest.approx(target, abs=1e-9)
    assert pair.residual < 1e-6
    # a few steps already give a Ritz value inside the spectrum, on the correct side
    few = hessian.extreme_eigenpair(model, cross_entropy, X, y, which=which, iters=5,
                                    generator=make_generator(2))
    assert float(evals[0]) - 1e-12 <= few.value <= float(evals[-1]) + 1e-12
    assert few.residual > 0
    assert (few.value >= target - 1e-12) if which == "min" else (few.value <= target + 1e-12)


def test_extreme_eigenpair_deterministic(tiny):
    model, X, y = tiny
    a = hessian.extreme_eigenpair(model, cross_entropy, X, y, iters=10,
                                  generator=make_generator(5))
    b = hessian.extreme_eigenpair(model, cross_entropy, X, y, iters=10,
                                  generator=make_generator(5))
    assert a.value == b.value and a.residual == b.residual
    assert torch.equal(a.vector, b.vector)


def test_landscape_grid_matches_direct_evaluation(tiny, gen):
    model, X, y = tiny
    _, F, w = explicit_hessian(model, cross_entropy, X, y)
    u = torch.randn(w.numel(), generator=gen, dtype=D)
    v = torch.randn(w.numel(), generator=gen, dtype=D)
    alphas = torch.linspace(-1, 1, 5, dtype=D)
    betas = [-0.5, 0.0, 0.25]
    Z = hessian.landscape_grid(model, cross_entropy, X, y, u, v, alphas, betas, chunk_size=4)
    assert Z.shape == (3, 5)
    direct = torch.stack([torch.stack([F(w + a * u + b * v) for a in alphas]) for b in betas])
    torch.testing.assert_close(Z, direct, rtol=1e-12, atol=1e-12)
    looped = hessian.landscape_grid(model, cross_entropy, X, y, u, v, alphas, betas,
                                    vectorize=False)
    torch.testing.assert_close(Z, looped, rtol=1e-12, atol=1e-12)
    assert float(Z[1, 2]) == pytest.approx(float(F(w)))


def test_landscape_grid_quadratic_closed_form(quad):
    model, X, y, A, _ = quad
    w, c = model.w.detach(), model.c
    u, v = torch.eye(6, dtype=D)[:2]
    alphas, betas = torch.tensor([-1.0, 2.0], dtype=D), torch.tensor([0.5], dtype=D)
    Z = hessian.landscape_grid(model, first_column, X, y, u, v, alphas, betas)
    for k, a in enumerate(alphas):
        z = w + a * u + betas[0] * v
        assert float(Z[0, k]) == pytest.approx(float(0.5 * z @ A @ z + c @ z), abs=1e-12)


def test_weights_untouched_and_batchnorm_eval(gen):
    net = SmallCNN(generator=gen, width=3, depth=1, batch_norm=True, skip=True, dtype=D)
    X = torch.rand(4, 3, 8, 8, generator=gen, dtype=D)
    y = torch.randint(0, 10, (4,), generator=gen)
    net.train()
    net(X)  # give the running statistics non-trivial values
    net.eval()
    before = {k: t.clone() for k, t in net.state_dict().items()}
    p = sum(t.numel() for t in net.parameters())
    u = torch.randn(p, generator=gen, dtype=D)
    hessian.hvp(net, cross_entropy, X, y, u)
    hessian.extreme_eigenpair(net, cross_entropy, X, y, iters=3, generator=make_generator(0))
    hessian.landscape_grid(net, cross_entropy, X, y, u, u, [0.0, 1.0], [0.0, 1.0])
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(prm.grad is None for prm in net.parameters())
    net.train()
    with pytest.raises(ValueError, match="batch norm"):
        hessian.hvp(net, cross_entropy, X, y, u)


def test_frozen_parameters_are_excluded(gen):
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).double()
    model[0].weight.requires_grad_(False)
    X = torch.randn(5, 2, generator=gen, dtype=D)
    y = torch.randint(0, 2, (5,), generator=gen)
    p = sum(t.numel() for t in model.parameters() if t.requires_grad)
    assert p == 3 + 6 + 2
    H, _, w = explicit_hessian(model, cross_entropy, X, y)
    v = torch.randn(p, generator=gen, dtype=D)
    torch.testing.assert_close(hessian.hvp(model, cross_entropy, X, y, v), H @ v)


def test_bad_inputs(tiny, gen):
    model, X, y = tiny
    p = sum(t.numel() for t in model.parameters())
    v = torch.zeros(p, dtype=D)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        hessian.hvp("net", cross_entropy, X, y, v)
    with pytest.raises(TypeError, match="loss_fn must be a per-example loss"):
        hessian.hvp(model, None, X, y, v)
    with pytest.raises(TypeError, match="X has dtype"):
        hessian.hvp(model, cross_entropy, X.float(), y, v)
    with pytest.raises(ValueError, match="same number of rows"):
        hessian.hvp(model, cross_entropy, X, y[:3], v)
    with pytest.raises(ValueError, match=f"must have {p} entries"):
        hessian.hvp(model, cross_entropy, X, y, torch.zeros(p + 1, dtype=D))
    with pytest.raises(TypeError, match="parameters' dtype"):
        hessian.hvp(model, cross_entropy, X, y, v.float())
    with pytest.raises(ValueError, match="one loss per example"):
        hessian.hvp(model, lambda o, t: cross_entropy(o, t).mean(), X, y, v)
    with pytest.raises(ValueError, match="which must be one of"):
        hessian.extreme_eigenpair(model, cross_entropy, X, y, which="smallest",
                                  generator=make_generator(0))
    with pytest.raises(ValueError, match="iters must be an integer >= 1"):
        hessian.extreme_eigenpair(model, cross_entropy, X, y, iters=0,
                                  generator=make_generator(0))
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        hessian.extreme_eigenpair(model, cross_entropy, X, y, generator=0)
    with pytest.raises(ValueError, match="direction_v must have"):
        hessian.landscape_grid(model, cross_entropy, X, y, v, v[:3], [0.0], [0.0])
    with pytest.raises(ValueError, match="alphas must contain only finite"):
        hessian.landscape_grid(model, cross_entropy, X, y, v, v, [float("nan")], [0.0])
    with pytest.raises(ValueError, match="betas must have 1 dimensions"):
        hessian.landscape_grid(model, cross_entropy, X, y, v, v, [0.0], [[0.0]])
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 1"):
        hessian.landscape_grid(model, cross_entropy, X, y, v, v, [0.0], [0.0], chunk_size=0)
    with pytest.raises(TypeError, match="vectorize must be a bool"):
        hessian.landscape_grid(model, cross_entropy, X, y, v, v, [0.0], [0.0], vectorize=1)
    frozen = nn.Linear(2, 1).double().requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        hessian.hvp(frozen, squared_loss, X[:, :2], y.double(), torch.zeros(3, dtype=D))
    drop = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5)).double()
    with pytest.raises(ValueError, match="active dropout"):
        hessian.extreme_eigenpair(drop, cross_entropy, X, y, generator=make_generator(0))
