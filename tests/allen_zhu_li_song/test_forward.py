"""The forward pass with sign patterns (Definitions 2.2, 8.1) and the norms through depth."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.allen_zhu_li_song import (
    DeepReLUNet,
    forward,
    norm_profile,
    paper_inputs,
    random_perturbation,
)
from helpers.rng import make_generator

D = torch.float64


def test_forward_matches_model_and_signs(setup):
    net, X, _ = setup
    s = forward(net, X)
    assert torch.allclose(s.output, net(X))
    for g, h, Dm in zip(s.g, s.h, s.D):
        assert torch.equal(h, Dm * g)
        assert set(Dm.unique().tolist()) <= {0.0, 1.0}
    states = net.hidden_states(X)
    assert all(torch.allclose(a, b) for a, b in zip(states, s.h))


def test_forward_with_perturbation_equals_shifted_net(setup, gen):
    net, X, _ = setup
    P = random_perturbation(net, 0.2, generator=gen)
    s = forward(net, X, perturbation=P)
    with torch.no_grad():
        for W, p in zip(net.Ws, P):
            W.add_(p)
    assert torch.allclose(s.output, net(X))


def test_forward_bad(setup):
    net, X, _ = setup
    with pytest.raises(TypeError, match="DeepReLUNet"):
        forward(torch.nn.Linear(2, 2), X)
    with pytest.raises(ValueError, match="X must have shape"):
        forward(net, X[:, :3])
    with pytest.raises(TypeError, match="dtype"):
        forward(net, X.float())
    with pytest.raises(ValueError, match="L=3 matrices"):
        forward(net, X, perturbation=[torch.zeros(24, 24, dtype=D)])
    with pytest.raises(ValueError, match=r"perturbation\[0\] must have shape"):
        forward(net, X, perturbation=[torch.zeros(3, 3, dtype=D)] * 3)


def test_norm_profile_matches_a_direct_computation():
    table, norms = norm_profile([16, 64], depth=3, n=5, d=6, delta=0.2,
                                generator=make_generator(1))
    gen = make_generator(1)
    X = paper_inputs(5, 6, 0.2, generator=gen)
    for m in (16, 64):
        net = DeepReLUNet(6, m, 3, 1, generator=gen)
        hs = torch.stack([h.norm(dim=1) for h in net.hidden_states(X)]).detach()
        assert table.loc[m, "rms |h_L| - 1"] == pytest.approx(
            float((hs[-1] - 1).pow(2).mean().sqrt()), rel=1e-12)
        assert table.loc[m, "predicted"] == pytest.approx(0.5 * math.sqrt(5 * 4 / m))
        assert table.loc[m, "max |h_l|"] == pytest.approx(float(hs.max()), rel=1e-12)
    torch.testing.assert_close(torch.as_tensor(norms), hs)


def test_norm_profile_concentrates_like_one_over_sqrt_m():
    # Lemma 7.1: the deviation scales like m^(-1/2); a factor 64 in width, a factor ~8 in the
    # deviation, measured over 64 inputs (loose: > 3)
    table, _ = norm_profile([64, 4096], depth=4, n=64, d=8, delta=0.1,
                            generator=make_generator(2))
    rms = table["rms |h_L| - 1"]
    assert rms.iloc[0] > 3 * rms.iloc[1]


def test_norm_profile_bad():
    with pytest.raises(ValueError, match="widths must hold"):
        norm_profile([], depth=2, n=3, d=4, delta=0.2, generator=make_generator(0))
    with pytest.raises(ValueError, match="depth must be"):
        norm_profile([8], depth=0, n=3, d=4, delta=0.2, generator=make_generator(0))
    with pytest.raises(TypeError, match="generator"):
        norm_profile([8], depth=2, n=3, d=4, delta=0.2, generator=None)
