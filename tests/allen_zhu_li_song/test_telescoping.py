"""Proposition 11.3 and Claim 11.2: exact identities."""

from __future__ import annotations

import pytest
import torch

from helpers.allen_zhu_li_song import random_perturbation, relu_switch_diagonal, telescoping

D = torch.float64


def test_relu_switch_diagonal_identity(gen):
    a = torch.randn(500, generator=gen, dtype=D)
    b = a + 0.5 * torch.randn(500, generator=gen, dtype=D)
    Dpp = relu_switch_diagonal(a, b)
    Dm = (a >= 0).to(D)
    assert torch.allclose(torch.relu(a) - torch.relu(b), (Dm + Dpp) * (a - b))
    assert float(Dpp.abs().max()) <= 1.0
    assert float((Dm + Dpp).abs().max()) <= 1.0
    same = (a >= 0) == (b >= 0)
    assert float(Dpp[same].abs().max()) == 0.0
    assert bool((Dpp[~same] != 0).all())


def test_relu_switch_diagonal_bad():
    with pytest.raises(ValueError, match="same shape"):
        relu_switch_diagonal(torch.zeros(3, dtype=D), torch.zeros(4, dtype=D))
    with pytest.raises(TypeError, match="floating"):
        relu_switch_diagonal(torch.zeros(3, dtype=torch.int64), torch.zeros(3, dtype=D))


@pytest.mark.parametrize("with_base", [False, True])
def test_telescoping_exact(setup, gen, with_base):
    net, X, _ = setup
    base = random_perturbation(net, 0.2, generator=gen) if with_base else None
    P = random_perturbation(net, 0.5, generator=gen)
    t = telescoping(net, X, P, base=base)
    for u, v in zip(t.direct, t.telescoped):
        assert torch.allclose(u, v, atol=1e-12)
    assert t.terms.shape == (net.depth, 4, net.width)
    assert torch.allclose(t.terms.sum(0), t.direct[-1], atol=1e-12)
    assert all(float(d.abs().max()) <= 1.0 for d in t.D_switch)


def test_telescoping_bad(setup):
    net, X, _ = setup
    with pytest.raises(TypeError, match="list of 3 tensors"):
        telescoping(net, X, torch.zeros(3, 24, 24, dtype=D))
