"""Lemma 8.6's adversary: power iteration against the SVD, the products it perturbs."""

from __future__ import annotations

import pytest
import torch

from helpers.allen_zhu_li_song import (
    DeepReLUNet,
    adversarial_product_norm,
    forward,
    layer_product,
    operator_norm,
    paper_inputs,
)

D = torch.float64


def test_operator_norm_matches_svd(gen):
    M = torch.randn(30, 20, generator=gen, dtype=D)
    est, v = operator_norm(lambda x: M @ x, lambda u: M.T @ u, 20, iters=300)
    assert est == pytest.approx(float(torch.linalg.matrix_norm(M, ord=2)), rel=1e-8)
    assert float(v.norm()) == pytest.approx(1.0)


def test_adversarial_product_norm_unperturbed_is_the_product_norm(gen):
    net = DeepReLUNet(5, 64, 4, 1, generator=gen)
    x = paper_inputs(2, 5, 0.3, generator=gen)[:1]
    s = forward(net, x)
    Ws = [W.detach() for W in net.Ws]
    D0 = [s.D[ell][0] for ell in range(1, 4)]
    base, pert = adversarial_product_norm(Ws, D0, s=1, omega=0.0, iters=200)
    exact = float(torch.linalg.matrix_norm(layer_product(s, 1, 4)[0], ord=2))
    assert base == pytest.approx(exact, rel=1e-6)
    assert pert >= base                         # D'' = +3 on the top coordinates only helps
    _, stronger = adversarial_product_norm(Ws, D0, s=4, omega=0.5, iters=200)
    assert stronger > pert


def test_adversarial_product_norm_bad(gen):
    net = DeepReLUNet(5, 16, 3, 1, generator=gen)
    Ws = [W.detach() for W in net.Ws]
    ones = [torch.ones(16, dtype=D)] * 2
    with pytest.raises(ValueError, match="D0 must be"):
        adversarial_product_norm(Ws, ones[:1], s=1, omega=0.1)
    with pytest.raises(ValueError, match="s must be"):
        adversarial_product_norm(Ws, ones, s=0, omega=0.1)
    with pytest.raises(ValueError, match=r"Ws\[1\] must have shape"):
        adversarial_product_norm([Ws[0], Ws[1][:3]], ones[:1], s=1, omega=0.1)
    with pytest.raises(TypeError, match="apply and apply_t"):
        operator_norm(None, None, 3)
