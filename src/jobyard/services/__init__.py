"""Service packages: each knows one AWS service's rules, never a wire format.

Every subpackage that exports ``SERVICE`` (a ``Service`` subclass) is served: adding an AWS service
means adding its package here and nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import Context, Page, Service


def all_services() -> list[Service]:
    services = []
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg):
        package = importlib.import_module(f"{__name__}.{module}")
        if hasattr(package, "SERVICE"):
            services.append(package.SERVICE())
    return services


__all__ = ["Context", "Page", "Service", "all_services"]
