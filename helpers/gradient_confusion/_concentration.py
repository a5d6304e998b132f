r"""Empirical tails against sub-Gaussian concentration bounds, and the constant they imply.

The concentration lemmas behind Sankararaman et al.'s theorems have the form
:math:`\Pr[|\ell - \mathbb E\ell| \ge t] \le 2\exp(-c\,t^2/\sigma^2)`: Lemma D.1 of [L] on the
sphere (:math:`\sigma^2 = \rho^2/d` for a :math:`\rho`-Lipschitz :math:`\ell`, unspecified
absolute :math:`c`), Lemma D.3 of [L] for Gaussian vectors (:math:`\sigma^2=\nu^2\rho^2`,
:math:`c=\frac12`). :func:`concentration_tail` measures the two-sided tail of samples around
their mean at given thresholds and reports, besides the bound, the **implied constant**
:math:`\hat c = \min_t -\log(\hat p(t)/2)\,\sigma^2/t^2` over the thresholds whose exceedances
are frequent enough to estimate (the largest :math:`c` for which the bound holds at every such
:math:`t`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .._validate import check_int, check_real, check_tensor

__all__ = ["TailEstimate", "concentration_tail"]


@dataclass(frozen=True)
class TailEstimate:
    """An empirical tail against a bound (see :func:`concentration_tail`).

    Attributes
    ----------
    thresholds : numpy.ndarray
        :math:`t`, one per threshold.
    p_hat : numpy.ndarray
        Empirical :math:`\\Pr[|\\ell-\\bar\\ell|\\ge t]`.
    bound : numpy.ndarray
        :math:`\\min(1, 2e^{-ct^2/\\sigma^2})` for the ``c`` asked.
    se : numpy.ndarray
        Binomial standard error of a frequency equal to the bound,
        :math:`\\sqrt{b(1-b)/M}` over :math:`M` samples.
    implied_c : float
        :math:`\\hat c` over the thresholds with at least ``min_count`` exceedances (``nan``
        if none has).
    """

    thresholds: np.ndarray
    p_hat: np.ndarray
    bound: np.ndarray
    se: np.ndarray
    implied_c: float


def concentration_tail(values: torch.Tensor, thresholds: torch.Tensor, *, scale: float,
                       c: float = 0.5, min_count: int = 100) -> TailEstimate:
    r"""Two-sided tail of ``values`` around their mean against :math:`2e^{-ct^2/\sigma^2}`.

    Parameters
    ----------
    values : torch.Tensor, shape (M,)
        Independent samples of :math:`\ell`.
    thresholds : torch.Tensor, shape (k,)
        Thresholds :math:`t > 0`.
    scale : float
        :math:`\sigma > 0` (e.g. :math:`\rho/\sqrt d` on the sphere, :math:`\nu\rho` for
        Gaussian vectors).
    c : float, default 0.5
        The constant of the bound compared with (``bound``).
    min_count : int, default 100
        Thresholds with fewer exceedances (relative error of :math:`\hat p` above
        :math:`1/\sqrt{100}`) do not enter :math:`\hat c`.

    Returns
    -------
    TailEstimate

    References
    ----------
    Sankararaman et al. [L], Lemma D.1 and Corollary D.1 (Lipschitz functions on the sphere),
    Lemma D.3 (Gaussian concentration); Vershynin (2018), Chapter 5.

    Examples
    --------
    A standard Gaussian sample has tail :math:`2\bar\Phi(t)`, so the implied constant is near
    :math:`-\log\bar\Phi(t)/t^2`, which tends to :math:`\frac12` from above:

    >>> import torch
    >>> from helpers.gradient_confusion import concentration_tail
    >>> z = torch.randn(200_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> tail = concentration_tail(z, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), scale=1.0)
    >>> bool((tail.p_hat <= tail.bound).all()), 0.5 < tail.implied_c < 1.0
    (True, True)
    """
    values = check_tensor(values, "values", ndim=1, floating=True)
    thresholds = check_tensor(thresholds, "thresholds", ndim=1, floating=True)
    if bool((thresholds <= 0).any()):
        raise ValueError("thresholds must be positive, got a value <= 0")
    scale = check_real(scale, "scale", minimum=0.0, strict_min=True)
    c = check_real(c, "c", minimum=0.0, strict_min=True)
    min_count = check_int(min_count, "min_count", minimum=1)
    M = values.shape[0]
    if M < 2:
        raise ValueError(f"values must hold at least 2 samples, got {M}")
    dev = (values - values.mean()).abs()
    t = thresholds.to(values.dtype)
    p_hat = (dev[None, :] >= t[:, None]).double().mean(1).cpu().numpy()
    tn = t.double().cpu().numpy()
    bound = np.minimum(1.0, 2 * np.exp(-c * tn**2 / scale**2))
    se = np.sqrt(bound * (1 - bound) / M)
    enough = p_hat * M >= min_count
    implied = (float(np.min(-np.log(p_hat[enough] / 2) * scale**2 / tn[enough] ** 2))
               if enough.any() else math.nan)
    return TailEstimate(tn, p_hat, bound, se, implied)
