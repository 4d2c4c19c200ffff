"""AWS Snowball: addresses, jobs, clusters and their state machines."""

from .service import SnowballService

SERVICE = SnowballService

__all__ = ["SERVICE", "SnowballService"]
