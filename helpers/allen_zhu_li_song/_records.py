r"""Check records for experiments outside a result's hypotheses.

:func:`helpers.checks.falsification` passes ``outside=`` on to the check it runs but returns a
record without it (``outside=None``), so the falsification of an experiment that runs outside a
theorem's hypotheses would count as a check *inside* them, and the status page would call the
theorem reproduced on the strength of a power test. In this part nearly every training experiment
runs far outside the width and step-size hypotheses of Theorems 1-8; :func:`falsification_outside`
keeps the hypothesis on the record. (A core fix belongs in :func:`helpers.checks.falsification`.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from .. import checks

__all__ = ["falsification_outside"]


def falsification_outside(check: Callable[..., checks.CheckRecord], *args: object, result: str,
                          claim: str, perturbation: str, outside: str | None,
                          **kwargs: object) -> checks.CheckRecord:
    r""":func:`helpers.checks.falsification` whose record keeps ``outside``.

    Parameters
    ----------
    check, *args, result, claim, perturbation, **kwargs
        As for :func:`helpers.checks.falsification`.
    outside : str or None
        The violated hypothesis of the experiment (passed to ``check`` and kept on the record).

    Returns
    -------
    helpers.checks.CheckRecord
        Kind ``falsification``; ``outside`` as given.

    Raises
    ------
    helpers.checks.CheckFailed
        If the perturbed check passes (no power).

    References
    ----------
    The check vocabulary of :mod:`helpers.checks`; the status rule of ``scripts/make_index.py``.

    Examples
    --------
    >>> from helpers import checks
    >>> r = falsification_outside(checks.bound, 2.0, 1.0, result="x", claim="f <= 2",
    ...                           perturbation="bound 1", outside="width 64 < 1e40")
    >>> r.kind, r.could_fail, r.outside
    ('falsification', True, 'width 64 < 1e40')
    """
    if outside is not None and (not isinstance(outside, str) or not outside.strip()):
        raise TypeError(f"outside must be a non-empty string or None, got {outside!r}")
    record = checks.falsification(check, *args, result=result, claim=claim,
                                  perturbation=perturbation, outside=outside, **kwargs)
    return dataclasses.replace(record, outside=outside)
