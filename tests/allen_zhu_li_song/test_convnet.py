"""The convolutional network of Appendix B: Assumption B.1, an explicit loop as the oracle,
bad inputs."""

from __future__ import annotations

import pytest
import torch

from helpers.allen_zhu_li_song import ConvNet, circular_patches, paper_inputs
from helpers.rng import make_generator


def test_circular_patches_are_q_regular():
    for positions, q in [(1, 1), (5, 3), (8, 4), (7, 7)]:
        Q = circular_patches(positions, q)
        assert Q.shape == (positions, q)
        assert (torch.bincount(Q.flatten(), minlength=positions) == q).all()   # Assumption B.1
        assert all(len(set(row.tolist())) == q for row in Q)


def test_convnet_matches_an_explicit_loop_and_is_deterministic():
    gen_args = dict(generator=make_generator(3))
    net = ConvNet(5, 3, 4, 3, 2, 0.1, **gen_args)
    X = paper_inputs(3, 5, 0.3, generator=make_generator(4))
    hs = net.hidden_states(X)
    Q = circular_patches(5, 3)
    h = torch.stack([torch.relu(net.A[j] @ X[:, Q[j]].T).T for j in range(5)], 1)
    assert torch.allclose(hs[0], h, atol=1e-13)
    for ell, (W, b) in enumerate(zip(net.convs, net.b, strict=True), start=1):
        h = torch.stack([torch.relu(h[:, Q[j]].flatten(1) @ W[j].T + 0.1 * b[j])
                         for j in range(5)], 1)
        assert torch.allclose(hs[ell], h, atol=1e-13)
    out = torch.relu(h.flatten(1) @ net.WL.T) @ net.B.T
    assert torch.allclose(net(X), out, atol=1e-13) and out.shape == (3, 2)
    again = ConvNet(5, 3, 4, 3, 2, 0.1, generator=make_generator(3))
    assert torch.equal(again(X), net(X))
    assert (net.positions, net.q, net.width, net.depth, net.d_out) == (5, 3, 4, 3, 2)
    trained = {name for name, p in net.named_parameters() if p.requires_grad}
    assert trained == {"convs.0", "convs.1", "WL"}


def test_convnet_input_layer_variance_and_bad_inputs():
    net = ConvNet(6, 3, 64, 2, 1, 0.0, generator=make_generator(0), a_var=0.5)
    assert float(net.A.var()) == pytest.approx(0.5, rel=0.1)     # 1152 entries: 5 % sd
    with pytest.raises(ValueError, match="q must be <= positions"):
        circular_patches(3, 4)
    with pytest.raises(ValueError, match="positions"):
        circular_patches(0, 1)
    with pytest.raises(ValueError, match="width must be"):
        ConvNet(5, 3, 0, 2, 1, 0.1, generator=make_generator(0))
    with pytest.raises(ValueError, match="tau"):
        ConvNet(5, 3, 4, 2, 1, -1.0, generator=make_generator(0))
    with pytest.raises(ValueError, match="a_var"):
        ConvNet(5, 3, 4, 2, 1, 0.1, generator=make_generator(0), a_var=0.0)
    with pytest.raises(TypeError, match="dtype"):
        ConvNet(5, 3, 4, 2, 1, 0.1, generator=make_generator(0), dtype=torch.int64)
    with pytest.raises(ValueError, match=r"x must have shape \(n, 6\)"):
        net(torch.zeros(2, 5, dtype=torch.float64))
