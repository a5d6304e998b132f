r"""The proofs' error scalar and the gradient signal it forces (Lemmas A.3, A.4, B.3, B.4).

* :func:`max_weighted_error` -- :math:`v = \max_{q,j,s}\mathbb E[p_{j,s}v_{q,j,s}] =
  \max_{j,s}p_{j,s}\,\mathbb E_{\mathcal D_{j,s}}[1-o_j]` (the error variables of
  Appendix A and B; the second form because :math:`|v_q|\le v_y`), with the component weights
  and means estimated on a sample (a pool standing for the population, or the points of the
  simplified case).
* :func:`gradient_norms` -- every neuron's expected pseudo-gradient and gradient norm on a sample:
  Lemmas A.3/B.3 say that a fraction :math:`\Omega(\delta/(cl))` of them is
  :math:`\tilde\Omega(v\delta/(cl))`.
"""

from __future__ import annotations

import torch

from .._validate import check_int, check_tensor
from ._coupling import _check_labels, loss_gradient, pseudo_gradient

__all__ = ["max_weighted_error", "gradient_norms"]


def max_weighted_error(logits: torch.Tensor, y: torch.Tensor, component: torch.Tensor, *,
                       num_components: int | None = None) -> float:
    r"""The largest weighted error :math:`v=\max_{j,s}\hat p_{j,s}\,\hat{\mathbb E}_{j,s}[1-o_j]`.

    :math:`o=\operatorname{softmax}(f(\mathbf x))`; :math:`\hat p_{j,s}` is the frequency of
    component :math:`(j,s)` in the sample and :math:`\hat{\mathbb E}_{j,s}` the mean over its
    points, so :math:`\hat p_{j,s}\hat{\mathbb E}_{j,s}[\cdot]` is the sum over the component's
    points divided by the sample size. With one point per component and uniform weights this
    is the simplified case's :math:`\max_{q,j}p_jv_{q,j}`.

    Parameters
    ----------
    logits : torch.Tensor, shape (n, k)
        Network outputs :math:`f(\mathbf x)`.
    y : torch.Tensor, shape (n,)
        Integer labels.
    component : torch.Tensor, shape (n,)
        Integer component of each point (values in ``[0, num_components)``).
    num_components : int, optional
        Default ``component.max() + 1``.

    Returns
    -------
    float
        In :math:`[0, \max_{j,s}\hat p_{j,s}]`.

    References
    ----------
    Li & Liang (2018), Appendix A.3 (:math:`v^{(t)}`), Appendix B.3 (proof of Theorem 4.1).

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import max_weighted_error
    >>> logits = torch.zeros(4, 2, dtype=torch.float64)            # o = (1/2, 1/2)
    >>> max_weighted_error(logits, torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 2, 2]))
    0.25
    """
    logits = check_tensor(logits, "logits", ndim=2, floating=True).detach()
    n, k = logits.shape
    y = _check_labels(y, n, k)
    component = check_tensor(component, "component", shape=(n,))
    if component.is_floating_point() or component.is_complex() or component.dtype == torch.bool:
        raise TypeError(f"component must have an integer dtype, got {component.dtype}")
    if num_components is None:
        num_components = int(component.max()) + 1
    num_components = check_int(num_components, "num_components", minimum=1)
    if int(component.min()) < 0 or int(component.max()) >= num_components:
        raise ValueError(f"component must have values in [0, {num_components}), got values in "
                         f"[{int(component.min())}, {int(component.max())}]")
    component = component.long()
    o = torch.softmax(logits, dim=1)
    miss = 1 - o[torch.arange(n, device=logits.device), y]
    total = torch.zeros(num_components, dtype=logits.dtype, device=logits.device)
    return float((total.index_add_(0, component, miss) / n).max())


def gradient_norms(W: torch.Tensor, W0: torch.Tensor, a: torch.Tensor, X: torch.Tensor,
                   y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Norms of every neuron's expected pseudo-gradient and gradient on a sample.

    Row :math:`r` of :func:`pseudo_gradient` and of :func:`loss_gradient` (the mean over the
    sample, which stands for the expectation over :math:`\mathcal D`).

    Parameters
    ----------
    W, W0 : torch.Tensor, shape (m, d)
        Current and initial hidden weights.
    a : torch.Tensor, shape (k, m)
    X : torch.Tensor, shape (n, d)
    y : torch.Tensor, shape (n,)

    Returns
    -------
    tuple of torch.Tensor
        ``(pseudo, true)``, each of shape (m,).

    References
    ----------
    Li & Liang (2018), Lemma B.3 (expected pseudo-gradient), Lemma A.3.

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import gradient_norms
    >>> W0 = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    >>> a = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    >>> X, y = torch.tensor([[1.0, 0.0]], dtype=torch.float64), torch.tensor([0])
    >>> pseudo, true = gradient_norms(-W0, W0, a, X, y)     # the neuron's pattern flipped
    >>> pseudo.tolist(), true.tolist()
    ([1.0], [0.0])
    """
    pseudo = pseudo_gradient(W, W0, a, X, y).norm(dim=1)
    return pseudo, loss_gradient(W, a, X, y).norm(dim=1)
