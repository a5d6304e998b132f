"""Tests for helpers.losses: closed forms, autograd derivatives, stability, bad inputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from helpers.losses import cross_entropy, logistic_loss, mean_loss, squared_loss

D = torch.float64


def test_squared_loss_shapes_and_values(gen):
    out = torch.randn(6, 3, generator=gen, dtype=D)
    tgt = torch.randn(6, 3, generator=gen, dtype=D)
    torch.testing.assert_close(squared_loss(out, tgt), 0.5 * ((out - tgt) ** 2).sum(1))
    s = out[:, :1]
    t = tgt[:, 0]
    expected = 0.5 * (s[:, 0] - t) ** 2
    torch.testing.assert_close(squared_loss(s, t), expected)
    torch.testing.assert_close(squared_loss(s[:, 0], t), expected)
    torch.testing.assert_close(squared_loss(s, t[:, None]), expected)


def test_squared_loss_derivative_is_residual(gen):
    out = torch.randn(5, generator=gen, dtype=D, requires_grad=True)
    tgt = torch.randn(5, generator=gen, dtype=D)
    (g,) = torch.autograd.grad(squared_loss(out, tgt).sum(), out)
    torch.testing.assert_close(g, (out - tgt).detach())


def test_logistic_loss_matches_closed_form_and_is_stable(gen):
    out = torch.randn(8, generator=gen, dtype=D) * 3
    y = torch.where(torch.rand(8, generator=gen, dtype=D) < 0.5, -1.0, 1.0).to(D)
    torch.testing.assert_close(logistic_loss(out, y), torch.log1p(torch.exp(-y * out)))
    big = torch.tensor([1000.0, -1000.0, 40.0], dtype=D)
    ones = torch.ones(3, dtype=D)
    loss = logistic_loss(big, ones)
    assert torch.isfinite(loss).all()
    torch.testing.assert_close(loss, torch.tensor([0.0, 1000.0, 4.248354255291589e-18], dtype=D))
    # derivative zeta = -y / (1 + exp(y f)) (Sankararaman et al., Section 5)
    o = out.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(logistic_loss(o, y).sum(), o)
    torch.testing.assert_close(g, -y / (1 + torch.exp(y * out)))


def test_logistic_loss_accepts_column_and_soft_labels(gen):
    out = torch.randn(4, 1, generator=gen, dtype=D)
    y = torch.tensor([0.5, -0.25, 1.0, -1.0], dtype=D)
    torch.testing.assert_close(logistic_loss(out, y), F.softplus(-y * out[:, 0]))


def test_cross_entropy_matches_log_softmax(gen):
    out = torch.randn(7, 4, generator=gen, dtype=D)
    y = torch.randint(0, 4, (7,), generator=gen)
    expected = -torch.log_softmax(out, 1)[torch.arange(7), y]
    torch.testing.assert_close(cross_entropy(out, y), expected)


def test_mean_loss_is_mean(gen):
    out = torch.randn(5, generator=gen, dtype=D)
    tgt = torch.randn(5, generator=gen, dtype=D)
    torch.testing.assert_close(mean_loss(squared_loss, out, tgt), squared_loss(out, tgt).mean())


def test_losses_run_under_vmap_grad():
    out = torch.tensor([[0.3], [-1.2]], dtype=D)
    y = torch.tensor([1.0, -1.0], dtype=D)

    def one(o, t):
        return logistic_loss(o.unsqueeze(0), t.unsqueeze(0)).sum()

    g = torch.func.vmap(torch.func.grad(one))(out, y)
    torch.testing.assert_close(g[:, 0], -y / (1 + torch.exp(y * out[:, 0])))


def test_squared_loss_bad_inputs():
    x = torch.zeros(3, dtype=D)
    with pytest.raises(TypeError, match="outputs must be a torch.Tensor"):
        squared_loss([1.0], x)
    with pytest.raises(ValueError, match="same number of rows"):
        squared_loss(x, torch.zeros(4, dtype=D))
    with pytest.raises(ValueError, match="targets must have the shape"):
        squared_loss(torch.zeros(3, 2, dtype=D), x)
    with pytest.raises(ValueError, match="outputs must contain only finite"):
        squared_loss(torch.tensor([float("nan")], dtype=D), torch.zeros(1, dtype=D))
    with pytest.raises(TypeError, match="targets must have a floating dtype"):
        squared_loss(x, torch.zeros(3, dtype=torch.long))


def test_logistic_loss_bad_inputs():
    x = torch.zeros(3, dtype=D)
    with pytest.raises(ValueError, match=r"labels in \[-1, 1\]"):
        logistic_loss(x, torch.tensor([1.0, 2.0, -1.0], dtype=D))
    with pytest.raises(ValueError, match="scalar per example"):
        logistic_loss(torch.zeros(3, 2, dtype=D), x)
    with pytest.raises(ValueError, match="same number of rows"):
        logistic_loss(x, torch.ones(2, dtype=D))


def test_cross_entropy_bad_inputs():
    out = torch.zeros(3, 4, dtype=D)
    with pytest.raises(TypeError, match="integer class indices"):
        cross_entropy(out, torch.zeros(3, dtype=D))
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\]"):
        cross_entropy(out, torch.tensor([0, 4, 1]))
    with pytest.raises(ValueError, match="k >= 2 classes"):
        cross_entropy(torch.zeros(3, dtype=D), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="same number of rows"):
        cross_entropy(out, torch.zeros(2, dtype=torch.long))


def test_mean_loss_bad_inputs():
    x = torch.zeros(3, dtype=D)
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        mean_loss("mse", x, x)
    with pytest.raises(ValueError, match="one loss per example"):
        mean_loss(lambda o, t: (o - t).sum(), x, x)
