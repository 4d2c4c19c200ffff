"""The object layer: S3 objects for the services whose jobs read and write them.

``layer_for(...)`` picks the implementation once per server: the built-in store (buckets and objects
as store resources, bytes under the data dir) or, with ``--s3-endpoint URL``, an external S3-compatible
server through boto3. An operation and a scheduled transition alike get an ``ObjectStore`` bound to their
account, transaction and simulated instant as ``ctx.objects``. The built-in store writes and deletes bytes
through that transaction (``ctx.files``), so a failed one leaves every object and upload as it was.

    store = ctx.objects
    if not store.bucket_exists("reports"):
        store.create_bucket("reports")
    info = store.put("reports", "job-1/report.csv", data, content_type="text/csv")   # info.etag, info.version_id
    body = store.get("manifests", "m.csv", version_id=vid, byte_range=(0, 1023)).data
    for obj in store.walk("source", prefix="images/"):
        store.put_tags(obj.bucket, obj.key, {"done": "yes"})
    upload = store.create_upload("reports", "big.bin")                      # multipart uploads
    part = store.upload_part("reports", "big.bin", upload.upload_id, 1, chunk)
    store.complete_upload("reports", "big.bin", upload.upload_id, [CompletedPart(1, part.etag)])

Failures raise ``ObjectError`` (a ``ServiceError``) with S3's code, message and status.
"""

from __future__ import annotations

from .api import (Acl, BucketInfo, BucketPage, CompletedPart, Deleted, ListPage, ObjectBody, ObjectError, ObjectInfo,
                  ObjectLayer, ObjectStore, Part, PartPage, RestoreStatus, Retention, Upload, UploadPage)


def layer_for(s3_endpoint: str | None, store, files, signer) -> ObjectLayer:
    """The built-in layer over ``store``/``files``, or the remote one when ``s3_endpoint`` is set."""
    if s3_endpoint:
        from .remote import RemoteObjectLayer

        return RemoteObjectLayer(s3_endpoint)
    from .builtin import BuiltinObjectLayer

    return BuiltinObjectLayer(store, files, signer)


__all__ = ["Acl", "BucketInfo", "BucketPage", "CompletedPart", "Deleted", "ListPage", "ObjectBody", "ObjectError",
           "ObjectInfo", "ObjectLayer", "ObjectStore", "Part", "PartPage", "RestoreStatus", "Retention", "Upload",
           "UploadPage", "layer_for"]
