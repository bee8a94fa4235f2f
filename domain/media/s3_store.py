"""MEDIA_STORE=s3: photo bytes in a bucket of any S3-compatible object storage (AWS S3,
MinIO, Ceph RGW, Alibaba OSS, Tencent COS, ...) through boto3, for more than one machine or
more photos than the database should hold. Objects are private (no ACL is set) and are read
back only through GridSteward's /media route, which checks the caller's rights.

boto3 is synchronous: each call runs in a worker thread (`asyncio.to_thread`), on one client
shared by the process (boto3 clients are thread-safe), with short timeouts and boto3's
standard retries. boto3 is imported only when an S3 store is made (it takes a quarter of a
second), so processes on MEDIA_STORE=postgres never load it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.media.store import Blob

log = logging.getLogger("gridsteward.media")

_MISSING = {"NoSuchKey", "404", "NotFound"}


@dataclass(frozen=True)
class S3Location:
    """Where the objects go: the bucket, a key prefix, and how to reach the service (an
    endpoint URL for anything but AWS; credentials, else boto3's usual chain: environment,
    ~/.aws, instance role)."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    path_style: bool = False


def make_client(where: S3Location) -> Any:
    """A boto3 S3 client for `where` (SigV4, 5 s to connect, 30 s to read, 3 attempts)."""
    import boto3
    from botocore.config import Config

    config = Config(signature_version="s3v4", connect_timeout=5, read_timeout=30,
                    retries={"max_attempts": 3, "mode": "standard"},
                    s3={"addressing_style": "path" if where.path_style else "auto"})
    return boto3.client("s3", endpoint_url=where.endpoint_url or None,
                        region_name=where.region or None,
                        aws_access_key_id=where.access_key_id or None,
                        aws_secret_access_key=where.secret_access_key or None, config=config)


def _missing(exc: Exception) -> bool:
    """Whether boto3's error says the object does not exist."""
    response = getattr(exc, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") in _MISSING


class S3Store:
    """Photo bytes as objects `prefix + key` in one bucket."""

    name = "s3"

    def __init__(self, where: S3Location, client: Any | None = None) -> None:
        self.where = where
        self.client = client or make_client(where)

    def _key(self, key: str) -> str:
        return f"{self.where.prefix}{key}"

    async def put(self, session: AsyncSession, blobs: Sequence[Blob]) -> None:
        for blob in blobs:
            await asyncio.to_thread(
                self.client.put_object, Bucket=self.where.bucket, Key=self._key(blob.key),
                Body=blob.data, ContentType=blob.media_type)

    async def get(self, session: AsyncSession, key: str) -> Blob | None:
        try:
            found = await asyncio.to_thread(self.client.get_object, Bucket=self.where.bucket,
                                            Key=self._key(key))
        except Exception as exc:
            if _missing(exc):
                return None
            raise
        body = found["Body"]
        try:
            data = await asyncio.to_thread(body.read)
        finally:
            body.close()
        return Blob(key, data, found.get("ContentType") or "application/octet-stream")

    async def discard(self, keys: Sequence[str]) -> None:
        """Delete what a failed transaction had put; logged, never raised."""
        for key in keys:
            try:
                await asyncio.to_thread(self.client.delete_object, Bucket=self.where.bucket,
                                        Key=self._key(key))
            except Exception:
                log.warning("could not delete orphan media object %s", key, exc_info=True)
