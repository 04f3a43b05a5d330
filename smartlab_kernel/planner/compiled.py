"""BoTorch's compiled multi-objective kernel, built ahead of the first suggestion.

BoTorch (0.18) computes ``qLogNEHVI`` with a fused C++ kernel that it compiles
with ``torch.utils.cpp_extension`` (ninja and the system's C++ compiler) the
first time a process builds that acquisition, and caches the build in
``~/.cache/torch_extensions``. In a new environment the first multi-objective
suggestion therefore waited for a compiler: about 25 s on an idle two-core
machine, two minutes in the test suite beside other work. ``smartlab kernel
install`` (part of ``make install``) calls :func:`build_multiobjective_kernel`,
so the wait happens once, at install. Without a compiler, BoTorch uses its
pure-Python path: the same values, about 3x slower to compute.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass


@dataclass(frozen=True)
class KernelBuild:
    """What :func:`build_multiobjective_kernel` found.

    Attributes:
        compiled: The fused kernel is loaded (built now or taken from the cache).
        detail: Where it was loaded from, or why it is not.
    """

    compiled: bool
    detail: str


def build_multiobjective_kernel() -> KernelBuild:
    """Compile (or load from BoTorch's cache) the fused ``qLogNEHVI`` kernel.

    Returns:
        Whether the kernel is available in this process, and where from or why not.
    """
    try:
        from botorch.acquisition.multi_objective import logei
    except ImportError as exc:  # pragma: no cover - botorch is a dependency
        return KernelBuild(False, f"botorch cannot be imported: {exc}")
    load = getattr(logei, "_try_load_fused_kernel", None)
    if load is None:
        return KernelBuild(False, "this BoTorch has no compiled multi-objective kernel to build")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load()
    module = getattr(logei, "_C", None)
    if module is not None:
        return KernelBuild(True, str(getattr(module, "__file__", module)))
    reasons = [str(w.message) for w in caught]
    return KernelBuild(False, reasons[0] if reasons else "BoTorch did not load its fused kernel")


__all__ = ["KernelBuild", "build_multiobjective_kernel"]
