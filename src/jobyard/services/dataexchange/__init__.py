"""AWS Data Exchange: data sets, revisions, assets, jobs with real signed URLs, event actions, data grants."""

from .service import DataExchangeService

SERVICE = DataExchangeService

__all__ = ["SERVICE", "DataExchangeService"]
