"""Bounded multipart uploads shared by the import routes: one file, at most 50 MB, stored in a temp folder."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import AsyncGenerator
from pathlib import Path as FilePath

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from gisgrid.errors import InvalidInput, TooLarge

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and headers around the file


def too_large(size: int | None) -> TooLarge:
    """The 413 refusal (api/errors.py) of an upload of `size` bytes, naming the limit."""
    limit_mb = MAX_UPLOAD_BYTES // (1024 * 1024)
    return TooLarge(
        f"The upload is larger than the limit of {limit_mb} MB.",
        field="file",
        value=size,
        expected=f"a file of at most {limit_mb} MB: zip a Shapefile, or split the layer by area",
    )


async def _bounded(request: Request) -> AsyncGenerator[bytes, None]:
    """The request body, refused as soon as it passes the limit (nothing beyond is read or stored)."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES + FORM_OVERHEAD:
            raise too_large(size)
        yield chunk


async def receive_upload(request: Request, folder: FilePath) -> FilePath:
    """Store the multipart `file` field under its own (sanitised) name in `folder`; TooLarge (413) as soon as the
    declared Content-Length, the bytes read or the stored file pass the limit."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_UPLOAD_BYTES + FORM_OVERHEAD:
        raise too_large(int(length))  # nothing is read
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput(
            "The file must be uploaded as multipart/form-data.",
            field="file",
            value=request.headers.get("content-type"),
            expected="multipart/form-data with one field `file`",
        )
    try:
        form = await MultiPartParser(request.headers, _bounded(request), max_files=1, max_fields=5).parse()
    except MultiPartException as exc:
        raise InvalidInput(
            f"Unreadable upload: {exc.message}", field="file", expected="one file in field `file`"
        ) from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("No file in field `file`.", field="file", expected="multipart field `file`")
        target = folder / _safe_name(upload.filename)
        with target.open("wb") as out:
            shutil.copyfileobj(upload.file, out)
        if target.stat().st_size > MAX_UPLOAD_BYTES:
            raise too_large(target.stat().st_size)
        return target
    finally:
        await form.close()


def _safe_name(name: str | None) -> str:
    """The upload's own base name (it appears in error messages), without path or odd characters."""
    base = re.sub(r"[^\w.\-]", "_", FilePath(name or "upload").name)[-100:].lstrip(".")
    return base or "upload"


async def stage_upload(request: Request, root: FilePath) -> FilePath:
    """Stream the upload into a new folder of its own under `root`, where it waits for its job. No database
    transaction is open meanwhile; the folder is removed again if the upload is refused."""
    root.mkdir(parents=True, exist_ok=True)
    folder = FilePath(tempfile.mkdtemp(prefix="upload-", dir=root))
    try:
        return await receive_upload(request, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
