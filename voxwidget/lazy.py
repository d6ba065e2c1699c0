"""Lazy public names for a package ``__init__`` (PEP 562): a name is imported from its defining module
when first asked for, so importing one module of a package does not import the others (nor, through
the package, itself: no import circle). Code inside ``voxwidget`` imports the defining module instead.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package``, whose public name ``n`` is defined in
    its module ``where[n]``::

        __getattr__, __dir__ = lazy_names(__name__, {"open_image": "image"})
    """

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:
        return sorted([*vars(sys.modules[package]), *where])

    return __getattr__, __dir__
