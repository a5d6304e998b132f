r"""An identity check whose record does not print rounding noise.

:func:`helpers.checks.identity` records the measured error, :math:`\max|m - e|`, to one
significant digit. For identities that hold exactly in exact arithmetic (closed forms, two exact
algorithms) that error is the rounding of the floating-point computation, which differs between
CPUs (AVX2, AVX-512 and NEON kernels round differently), so a committed output that prints it
would not be reproduced elsewhere. :func:`rounding_identity` runs the same check on the error
quantised to a resolution of ``tol / 100``: an error below ``tol / 200`` (rounding) is recorded as
0, an error above ``tol`` still fails, and anything in between is recorded to the resolution.

(A core change would do this inside :func:`helpers.checks.identity`, e.g. with a
``resolution=`` argument; this subpackage-level helper stands in for it.)
"""

from __future__ import annotations

import numpy as np
import torch

from .. import checks
from .._validate import check_real

__all__ = ["rounding_identity"]


def _array(x: object) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=float)


def rounding_identity(measured: object, expected: object, *, tol: float, result: str,
                      claim: str, relative: bool = False, outside: str | None = None
                      ) -> checks.CheckRecord:
    r"""``checks.identity`` to ``tol``, recording the error quantised at ``tol / 100``.

    Parameters
    ----------
    measured, expected : float or array-like
        Broadcastable.
    tol : float
        Tolerance (``> 0``), justified by the rounding of the computation.
    result, claim : str
        The result's label and the claim.
    relative : bool, default False
        Error :math:`\max|m-e|/\max|e|`.
    outside : str, optional
        The violated hypothesis, if any.

    Returns
    -------
    helpers.checks.CheckRecord
        Kind ``identity``; ``could_fail`` is True.

    Raises
    ------
    helpers.checks.CheckFailed
        If the error exceeds ``tol``.

    References
    ----------
    The book's rule on portable outputs (CONTRIBUTING, "Determinism and portability": never
    print a quantity that is pure rounding noise).

    Examples
    --------
    >>> from helpers.gradient_confusion import rounding_identity
    >>> rounding_identity(1.0 + 3e-15, 1.0, tol=1e-12, result="x", claim="equal").strength
    'holds to 1e-12 (error 0)'
    >>> rounding_identity(1.0 + 4e-13, 1.0, tol=1e-12, result="x", claim="equal").strength
    'holds to 1e-12 (error 4e-13)'
    """
    tol = check_real(tol, "tol", minimum=0.0, strict_min=True)
    if not isinstance(relative, bool):
        raise TypeError(f"relative must be a bool, got {relative!r}")
    m, e = _array(measured), _array(expected)
    try:
        err = float(np.max(np.abs(m - e)))
    except ValueError as exc:
        raise ValueError(f"measured and expected must broadcast, got shapes {m.shape} and "
                         f"{e.shape}") from exc
    if relative:
        scale = float(np.max(np.abs(e)))
        err = err / scale if scale > 0 else float("inf")
    step = tol / 100
    quantised = step * round(err / step) if np.isfinite(err) else err
    return checks.identity(quantised, 0.0, tol=tol, result=result, claim=claim,
                           outside=outside)
