"""S3 Control: the S3 Batch Operations job API, its state machine and job scheduling."""

from .service import S3ControlService

SERVICE = S3ControlService

__all__ = ["SERVICE", "S3ControlService"]
