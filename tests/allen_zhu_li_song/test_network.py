"""Allen-Zhu, Li & Song's deep ReLU network (Section 2): initialisation laws, frozen layers,
the norms of Lemma 7.1, bad inputs."""

from __future__ import annotations

import pytest
import torch

from helpers.allen_zhu_li_song import DeepReLUNet
from helpers.models import count_parameters

F64 = torch.float64


def _unit_rows(n: int, d: int, gen: torch.Generator) -> torch.Tensor:
    x = torch.randn(n, d, generator=gen, dtype=F64)
    return x / x.norm(dim=1, keepdim=True)


def test_deep_relu_initialisation_and_frozen_layers(gen):
    net = DeepReLUNet(20, 300, 2, 5, generator=gen)
    assert (net.d_in, net.width, net.depth, net.d_out) == (20, 300, 2, 5)
    # Definition 2.3: A, W ~ N(0, 2/m), B ~ N(0, 1/d_out). Entries: 6 000, 90 000, 1 500;
    # relative s.e. of the variance sqrt(2/N) <= 0.037; tolerance 0.15 (4 s.e. for B).
    assert abs(net.A.var().item() * 300 / 2 - 1) < 0.15
    assert abs(net.Ws[0].var().item() * 300 / 2 - 1) < 0.05
    assert abs(net.B.var().item() * 5 - 1) < 0.15
    assert [n for n, _ in net.named_parameters()] == ["Ws.0", "Ws.1"]
    assert set(dict(net.named_buffers())) == {"A", "B"}
    net(_unit_rows(3, 20, gen)).sum().backward()
    assert all(W.grad is not None for W in net.Ws)
    assert net.A.grad is None and net.B.grad is None
    assert count_parameters(net) == 2 * 300 * 300


def test_deep_relu_hidden_norms_concentrate(gen):
    # Lemma 7.1: ||h_l|| in [1 - eps, 1 + eps] for unit inputs. Exactly, ||h_l||^2 is a product of
    # l + 1 i.i.d. factors with mean 1 and variance 5/m (Fact 7.2), so ||h_l|| has s.d.
    # ~ sqrt(5 (l + 1) / m) / 2 = 0.055 for m = 1024, l = 3. Over 12 inputs the maximum
    # deviation stays below 0.3 (> 5 s.d.).
    net = DeepReLUNet(16, 1024, 3, 1, generator=gen)
    x = _unit_rows(12, 16, gen)
    states = net.hidden_states(x)
    assert len(states) == 4 and all(h.shape == (12, 1024) for h in states)
    norms = torch.stack([h.norm(dim=1) for h in states])
    assert (norms - 1).abs().max().item() < 0.3, norms
    torch.testing.assert_close(net(x), states[-1] @ net.B.T)


def test_deep_relu_mean_squared_norm_is_preserved(gen):
    # E||h_L||^2 = ||x||^2 exactly. 30 independent nets (m = 256, L = 3), one input each:
    # Var ||h_3||^2 = (1 + 5/256)^4 - 1 = 0.080, s.e. of the mean sqrt(0.080/30) = 0.052;
    # tolerance 0.21 (4 s.e.).
    vals = []
    for _ in range(30):
        net = DeepReLUNet(8, 256, 3, 1, generator=gen)
        vals.append(net.hidden_states(_unit_rows(1, 8, gen))[-1].pow(2).sum())
    assert abs(torch.stack(vals).mean().item() - 1) < 0.21


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"depth": 0}, ValueError, "depth must be an integer >= 1"),
        ({"width": -3}, ValueError, "width must be an integer >= 1"),
        ({"d_out": 0}, ValueError, "d_out must be an integer >= 1"),
        ({"generator": 1}, TypeError, "generator must be a torch.Generator"),
        ({"dtype": "float64"}, TypeError, "dtype must be a floating"),
    ],
)
def test_deep_relu_bad_inputs(kwargs, exc, match, gen):
    args = {"d_in": 3, "width": 8, "depth": 2, "d_out": 1, "generator": gen} | kwargs
    with pytest.raises(exc, match=match):
        DeepReLUNet(**args)


def test_deep_relu_bad_forward(gen):
    net = DeepReLUNet(3, 8, 2, 1, generator=gen)
    with pytest.raises(ValueError, match="must have 3 features"):
        net.hidden_states(torch.ones(2, 4, dtype=F64))
