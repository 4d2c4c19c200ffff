"""Amazon S3 Glacier (vault API): vaults, archives, multipart uploads, retrieval and inventory jobs."""

from .service import GlacierService

SERVICE = GlacierService

__all__ = ["SERVICE", "GlacierService"]
