r"""The convolutional network of Appendix B (Theorem 7) and its patches (Assumption B.1)."""

from __future__ import annotations

import math

import torch

from .._validate import check_dtype, check_generator, check_int, check_real, check_tensor

__all__ = ["circular_patches", "ConvNet"]


def circular_patches(positions: int, q: int) -> torch.Tensor:
    r"""Circular patches :math:`\mathcal Q_j=\{j-\lfloor q/2\rfloor,\dots,j+\lfloor q/2\rfloor\}
    \bmod \mathfrak d` of Appendix B: every position lies in exactly ``q`` patches.

    Parameters
    ----------
    positions : int
        Number of positions :math:`\mathfrak d` (>= 1).
    q : int
        Patch size (1 <= q <= positions).

    Returns
    -------
    torch.Tensor, shape (positions, q), dtype int64
        Row ``j`` lists the positions of patch :math:`\mathcal Q_j`; as a bipartite graph
        (patches, positions) it is ``q``-regular, which is Assumption B.1.

    References
    ----------
    Allen-Zhu, Li & Song, Appendix B (Assumption B.1), Theorem 7.

    Examples
    --------
    >>> circular_patches(5, 3)[0].tolist()
    [4, 0, 1]
    >>> torch.bincount(circular_patches(5, 3).flatten()).tolist()   # Assumption B.1
    [3, 3, 3, 3, 3]
    """
    positions = check_int(positions, "positions", minimum=1)
    q = check_int(q, "q", minimum=1)
    if q > positions:
        raise ValueError(f"q must be <= positions = {positions}, got {q}")
    return (torch.arange(positions)[:, None] + torch.arange(q)[None, :] - q // 2) % positions


class ConvNet(torch.nn.Module):
    r"""The convolutional network of Appendix B (Theorem 7).

    Input :math:`x\in\mathbb R^{\mathfrak d}` (one scalar per position); with patches
    :math:`\mathcal Q_j` from :func:`circular_patches`,
    :math:`h_{0,j}=\phi(\mathbf A_j x_{\mathcal Q_j})\in\mathbb R^m`,
    :math:`h_{\ell,j}=\phi(\mathbf W_{\ell,j}[h_{\ell-1,k}]_{k\in\mathcal Q_j}
    +\tau\mathbf b_{\ell,j})`
    for :math:`\ell=1,\dots,L-1` (position-dependent weights
    :math:`\mathbf W_{\ell,j}\in\mathbb R^{m\times qm}`), then a dense
    :math:`h_L=\phi(\mathbf W_Lh_{L-1})\in\mathbb R^{\mathfrak dm}` and output
    :math:`\mathbf Bh_L`. Trained: the convolutions and :math:`\mathbf W_L`; frozen:
    :math:`\mathbf A`, :math:`\mathbf b` and :math:`\mathbf B`. Entries of
    :math:`\mathbf W_{\ell,j}`, :math:`\mathbf b_{\ell,j}` and :math:`\mathbf W_L` are
    :math:`\mathcal N(0,\frac2{qm})`; :math:`\mathbf A` defaults to the same variance (the value
    that keeps :math:`\|h_0\|\approx1`; the paper prints :math:`\frac2{\sqrt{qm}}`, see the
    erratum of the chapter), :math:`\mathbf B` has :math:`\mathcal N(0,\frac1c)` entries.

    Parameters
    ----------
    positions : int
        :math:`\mathfrak d`.
    q : int
        Patch size.
    width : int
        Channels :math:`m` per position.
    depth : int
        Number :math:`L` of trained layers (``L - 1`` convolutions and the dense
        :math:`\mathbf W_L`), >= 1.
    d_out : int
        Output dimension :math:`c`.
    tau : float
        Bias scale :math:`\tau\ge0` (the paper: :math:`\tau=\frac{\delta^2}{10\mathfrak dL}`).
    generator : torch.Generator
        Draws, in order, ``A``, the convolutions, ``b``, ``W_L`` and ``B`` (on its device).
    dtype : torch.dtype, default torch.float64
    a_var : float, optional
        Variance of the entries of ``A`` (default :math:`\frac2{qm}`).

    Attributes
    ----------
    positions, q, width, depth, d_out : int
        The constructor's sizes.
    tau : float
    Q : torch.Tensor, shape (positions, q)
        Patches (buffer).
    A : torch.Tensor, shape (positions, m, q)
    convs : torch.nn.ParameterList
        ``convs[l - 1]`` of shape (positions, m, q * m).
    b : torch.Tensor, shape (L - 1, positions, m)
    WL : torch.nn.Parameter, shape (positions * m, positions * m)
    B : torch.Tensor, shape (d_out, positions * m)

    References
    ----------
    Allen-Zhu, Li & Song, Appendix B (the convolutional network, Assumption B.1), Theorem 7.

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import paper_inputs
    >>> from helpers.rng import make_generator
    >>> net = ConvNet(6, 3, 8, 3, 1, 0.01, generator=make_generator(0))
    >>> X = paper_inputs(4, 6, 0.3, generator=make_generator(1))
    >>> net(X).shape, [tuple(h.shape) for h in net.hidden_states(X)]
    (torch.Size([4, 1]), [(4, 6, 8), (4, 6, 8), (4, 6, 8), (4, 48)])
    """

    def __init__(self, positions: int, q: int, width: int, depth: int, d_out: int, tau: float, *,
                 generator: torch.Generator, dtype: torch.dtype = torch.float64,
                 a_var: float | None = None) -> None:
        super().__init__()
        Q = circular_patches(positions, q)
        m = check_int(width, "width", minimum=1)
        L = check_int(depth, "depth", minimum=1)
        c = check_int(d_out, "d_out", minimum=1)
        tau = check_real(tau, "tau", minimum=0.0)
        check_generator(generator)
        check_dtype(dtype)
        if a_var is not None:
            a_var = check_real(a_var, "a_var", minimum=0.0, strict_min=True)
        device = generator.device
        self.positions, self.q, self.width, self.depth, self.d_out = positions, q, m, L, c
        self.tau = tau
        self.register_buffer("Q", Q.to(device))
        sd = math.sqrt(2 / (q * m))
        a_sd = math.sqrt(a_var) if a_var is not None else sd

        def gauss(*shape: int) -> torch.Tensor:
            return torch.randn(*shape, generator=generator, dtype=dtype, device=device)

        self.register_buffer("A", gauss(positions, m, q) * a_sd)
        self.convs = torch.nn.ParameterList(
            torch.nn.Parameter(gauss(positions, m, q * m) * sd) for _ in range(L - 1))
        self.register_buffer("b", gauss(L - 1, positions, m) * sd)
        self.WL = torch.nn.Parameter(gauss(positions * m, positions * m) * sd)
        self.register_buffer("B", gauss(c, positions * m) / math.sqrt(c))

    def hidden_states(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``[h_0, ..., h_{L-1}]`` of shape ``(n, positions, m)``, then ``h_L`` of shape
        ``(n, positions * m)``, for ``x`` of shape ``(n, positions)``."""
        x = check_tensor(x, "x", ndim=2, floating=True, finite=False)
        if x.shape[1] != self.positions:
            raise ValueError(f"x must have shape (n, {self.positions}), got {tuple(x.shape)}")
        h = torch.relu(torch.einsum("jmq,njq->njm", self.A, x[:, self.Q]))
        states = [h]
        for W, b in zip(self.convs, self.b, strict=True):
            h = torch.relu(torch.einsum("jmk,njk->njm", W, h[:, self.Q].flatten(2))
                           + self.tau * b)
            states.append(h)
        states.append(torch.relu(h.flatten(1) @ self.WL.T))
        return states

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x`` of shape ``(n, positions)`` to :math:`\\mathbf Bh_L`, shape ``(n, d_out)``."""
        return self.hidden_states(x)[-1] @ self.B.T
