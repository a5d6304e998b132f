"""The shared validators give messages that name the argument, the expectation and the value."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import _validate as v


def test_accepts_good_values():
    assert v.check_int(np.int64(3), "k", minimum=1) == 3
    assert v.check_real(torch.tensor(0.5), "lr", minimum=0, strict_min=True) == 0.5
    assert v.check_real(np.array(2.0), "x") == 2.0
    assert v.check_choice("a", "mode", ["a", "b"]) == "a"
    x = torch.zeros(2, 3)
    assert v.check_tensor(x, "X", ndim=2, shape=(None, 3), floating=True) is x
    v.check_same_length(x, torch.zeros(2), "X", "y")
    assert isinstance(v.check_rng(np.random.default_rng(0)), np.random.Generator)


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: v.check_int(True, "m"), TypeError, "m must be an integer"),
        (lambda: v.check_int(0, "m", minimum=1), ValueError, "m must be an integer >= 1, got 0"),
        (lambda: v.check_int(9, "m", maximum=4), ValueError, "<= 4"),
        (lambda: v.check_real("a", "lr"), TypeError, "lr must be a real number"),
        (lambda: v.check_real(float("inf"), "lr"), ValueError, "lr must be finite"),
        (lambda: v.check_real(0.0, "lr", minimum=0, strict_min=True), ValueError, "lr must be >"),
        (lambda: v.check_real(2.0, "p", maximum=1), ValueError, "p must be <= 1"),
        (lambda: v.check_real(1.0, "p", maximum=1, strict_max=True), ValueError, "p must be < 1"),
        (lambda: v.check_choice("c", "mode", ["a"]), ValueError, r"mode must be one of \['a'\]"),
        (lambda: v.check_generator(None), TypeError, "make_generator"),
        (lambda: v.check_generator(torch.Generator(), device="meta"), ValueError, "lives on"),
        (lambda: v.check_rng(0), TypeError, "numpy_rng"),
        (lambda: v.check_tensor([1.0], "X"), TypeError, "X must be a torch.Tensor"),
        (lambda: v.check_tensor(torch.zeros(3), "X", ndim=2), ValueError, "2 dimensions"),
        (lambda: v.check_tensor(torch.zeros(2, 2), "X", shape=(2, 3)), ValueError, r"\(2, 3\)"),
        (lambda: v.check_tensor(torch.zeros(0, 2), "X"), ValueError, "must not be empty"),
        (lambda: v.check_tensor(torch.zeros(2, dtype=torch.long), "X", floating=True), TypeError,
         "floating"),
        (lambda: v.check_tensor(torch.tensor([float("nan")]), "X"), ValueError, "NaN or Inf"),
        (lambda: v.check_same_length(torch.zeros(2), torch.zeros(3), "X", "y"), ValueError,
         "same number of rows"),
        (lambda: v.check_module(3), TypeError, "nn.Module"),
        (lambda: v.check_module(torch.nn.ReLU()), ValueError, "no parameters"),
    ],
)
def test_messages(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_trainable_parameters_and_deterministic_mode():
    import torch.nn as nn

    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Dropout(0.5))
    assert list(v.trainable_parameters(net)) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    for p in net.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        v.trainable_parameters(net)
    with pytest.raises(ValueError, match=r"batch norm \(1\) using batch statistics, so why"):
        v.check_deterministic_mode(net, batch_statistics="why", dropout="because")
    with pytest.raises(ValueError, match=r"active dropout \(2\); because; call model.eval"):
        v.check_deterministic_mode(net, batch_statistics=None, dropout="because")
    v.check_deterministic_mode(net.eval(), batch_statistics="why", dropout="because")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_finite_check_catches_every_bad_entry(bad, dtype):
    """The sum shortcut: one NaN/Inf anywhere (also next to its opposite) is still caught."""
    x = torch.ones(5, 7, dtype=dtype)
    x[3, 4] = bad
    with pytest.raises(ValueError, match="NaN or Inf"):
        v.check_tensor(x, "X")
    x[0, 0] = -bad              # +inf and -inf together sum to NaN; NaN stays NaN
    with pytest.raises(ValueError, match="NaN or Inf"):
        v.check_tensor(x, "X")


def test_finite_check_accepts_a_sum_that_overflows():
    """Large finite entries whose sum overflows are finite: the entry-wise check decides."""
    big = torch.full((4,), torch.finfo(torch.float32).max, dtype=torch.float32)
    assert not torch.isfinite(big.sum())
    assert v.check_tensor(big, "X") is big
