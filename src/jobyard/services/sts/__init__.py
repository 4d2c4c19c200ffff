"""AWS Security Token Service: GetCallerIdentity, so that code can learn its account before calling the
services that need it (S3 Control's ``AccountId``)."""

from .service import StsService as SERVICE

__all__ = ["SERVICE"]
