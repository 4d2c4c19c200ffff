"""Amazon S3: the object API (buckets, objects, versions, tags, ACLs, Object Lock, restores) on the
object layer that job services share."""

from .service import S3Service as SERVICE

__all__ = ["SERVICE"]
