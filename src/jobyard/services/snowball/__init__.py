"""AWS Snowball: addresses, jobs, clusters and their state machines."""

from .service import SnowballService

__all__ = ["SnowballService"]
