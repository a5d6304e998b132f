"""The deep ReLU network of Allen-Zhu, Li & Song (Section 2)."""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validate import check_int
from ..models import _check_input, _setup, init_weight_

__all__ = ["DeepReLUNet"]


class DeepReLUNet(nn.Module):
    """Allen-Zhu, Li & Song's network: :math:`\\mathbf h_0 = \\mathrm{ReLU}(\\mathbf A\\mathbf x)`,
    :math:`\\mathbf h_\\ell = \\mathrm{ReLU}(\\mathbf W_\\ell\\mathbf h_{\\ell-1})`
    (:math:`\\ell = 1..L`), output :math:`\\mathbf B\\mathbf h_L`.

    Initialisation of Definition 2.3: :math:`\\mathbf A \\in \\mathbb R^{m\\times d_{in}}` and
    :math:`\\mathbf W_\\ell \\in \\mathbb R^{m\\times m}` with i.i.d. :math:`\\mathcal N(0, 2/m)`
    entries, :math:`\\mathbf B \\in \\mathbb R^{d_{out}\\times m}` with :math:`\\mathcal N(0,
    1/d_{out})` entries. Only :math:`\\mathbf W_1, \\dots, \\mathbf W_L` are trained (Section 2.1);
    ``A`` and ``B`` are buffers. At this initialisation :math:`\\|\\mathbf h_\\ell\\|^2 /
    \\|\\mathbf h_{\\ell-1}\\|^2 \\sim \\frac2m\\chi^2_{\\mathrm{Bin}(m, 1/2)}` independently over
    layers, with mean 1 and variance :math:`5/m`, so :math:`\\|\\mathbf h_\\ell\\| \\approx
    \\|\\mathbf x\\|` (Lemma 7.1).

    Parameters
    ----------
    d_in : int
        Input dimension (the paper's :math:`\\mathfrak d`; inputs have unit norm).
    width : int
        Width :math:`m`.
    depth : int
        Number :math:`L` of trained hidden layers (>= 1).
    d_out : int
        Output dimension (the paper's :math:`d`, the book's :math:`c`).
    generator : torch.Generator
        Draws ``A``, then ``W_1..W_L``, then ``B``.
    dtype : torch.dtype, default torch.float64

    Attributes
    ----------
    d_in, width, depth, d_out : int
        The constructor's sizes (:math:`\\mathfrak d, m, L, c`).
    A : torch.Tensor, shape (width, d_in)
        Frozen input layer (buffer).
    Ws : torch.nn.ParameterList
        ``Ws[l - 1]`` is :math:`\\mathbf W_l`, shape (width, width), trained.
    B : torch.Tensor, shape (d_out, width)
        Frozen output layer (buffer).

    References
    ----------
    Allen-Zhu, Li & Song, Section 2 (network, Definition 2.3, objective :math:`F = \\sum_i
    \\frac12\\|\\mathbf B\\mathbf h_{i,L} - \\mathbf y_i^*\\|^2`), Fact 7.2 and Lemma 7.1;
    learning rates :math:`\\Theta(d\\delta/(\\mathrm{poly}(n, L)m))` (Theorem 1).

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import DeepReLUNet
    >>> from helpers.rng import make_generator
    >>> net = DeepReLUNet(4, 64, 3, 2, generator=make_generator(0))
    >>> x = torch.ones(5, 4, dtype=torch.float64) / 2      # unit-norm rows
    >>> net(x).shape, len(net.hidden_states(x)), len(list(net.parameters()))
    (torch.Size([5, 2]), 4, 3)
    >>> net.width, net.depth
    (64, 3)
    """

    def __init__(self, d_in: int, width: int, depth: int, d_out: int, *,
                 generator: torch.Generator, dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        d_in = check_int(d_in, "d_in", minimum=1)
        width = check_int(width, "width", minimum=1)
        depth = check_int(depth, "depth", minimum=1)
        d_out = check_int(d_out, "d_out", minimum=1)
        device, dtype = _setup(generator, dtype)
        self.d_in, self.width, self.depth, self.d_out = d_in, width, depth, d_out
        sd = math.sqrt(2.0 / width)
        A = init_weight_(torch.empty(width, d_in, dtype=dtype, device=device), "gaussian",
                         generator=generator, std=sd)
        self.Ws = nn.ParameterList(
            nn.Parameter(init_weight_(torch.empty(width, width, dtype=dtype, device=device),
                                      "gaussian", generator=generator, std=sd))
            for _ in range(depth)
        )
        B = init_weight_(torch.empty(d_out, width, dtype=dtype, device=device), "gaussian",
                         generator=generator, std=1.0 / math.sqrt(d_out))
        self.register_buffer("A", A)
        self.register_buffer("B", B)

    def closed_form_ntk(self, X: torch.Tensor, *, output: int = 0, per_layer: bool = False,
                        perturbation=None) -> torch.Tensor:
        """The NTK Gram matrix of output ``output`` in closed form (Fact 2.6; used by
        :func:`helpers.gradients.ntk_gram`)."""
        from ._ntk import _closed_form_ntk  # the analysis modules import this one

        return _closed_form_ntk(self, X, output=output, per_layer=per_layer,
                                perturbation=perturbation)

    def hidden_states(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return ``[h_0, ..., h_L]``, each of shape ``(n, width)``, for ``x`` of shape
        ``(n, d_in)``."""
        x = _check_input(x, self, 2, self.d_in)
        h = torch.relu(x @ self.A.T)
        states = [h]
        for W in self.Ws:
            h = torch.relu(h @ W.T)
            states.append(h)
        return states

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x`` of shape ``(n, d_in)`` to :math:`\\mathbf B\\mathbf h_L`, shape
        ``(n, d_out)``."""
        return self.hidden_states(x)[-1] @ self.B.T
