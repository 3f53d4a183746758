"""Evidence behind a record: a link, or a file kept once under data_dir/evidence/<sha256>.

What a file is comes from its first bytes, never from the name or the browser's content type:
only PDF, PNG, JPEG and Word (.docx) documents are kept, at most `MAX_BYTES` each.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.audit import record_event
from ler_plugin.principal import Principal
from ler_plugin.wallet.errors import WalletError
from ler_plugin.wallet.models import Evidence, Record

MAX_BYTES = 10 * 1024 * 1024
URL_MAX = 2048
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ALLOWED = "PDF, PNG, JPEG or Word (.docx)"


@dataclass(frozen=True)
class EvidenceFile:
    filename: str
    content_type: str
    data: bytes


class EvidenceError(WalletError):
    pass


def sniff(data: bytes) -> str | None:
    """The content type the bytes really are, among those we keep; None for anything else."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return DOCX
        except zipfile.BadZipFile:
            return None
    return None


def check_file(filename: str, data: bytes) -> EvidenceFile:
    if not data:
        raise EvidenceError("bad_evidence_file", "the evidence file is empty")
    if len(data) > MAX_BYTES:
        raise EvidenceError(
            "evidence_too_large",
            f"the evidence file is larger than {MAX_BYTES // (1024 * 1024)} MB",
        )
    content_type = sniff(data)
    if content_type is None:
        raise EvidenceError("bad_evidence_type", f"the evidence file must be a {ALLOWED} file")
    return EvidenceFile(filename=safe_filename(filename), content_type=content_type, data=data)


def safe_filename(name: str) -> str:
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = re.sub(r"[^\w.\- ]+", "_", base).strip(" .") or "evidence"
    return cleaned[:255]


def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or len(url) > URL_MAX:
        raise EvidenceError(
            "bad_evidence_url", "the evidence link must be a web address starting with https://"
        )
    return url


def evidence_dir(data_dir: Path) -> Path:
    return data_dir / "evidence"


def store_file(data_dir: Path, file: EvidenceFile) -> str:
    """Keep the bytes under their SHA-256 (the same file twice is kept once); return the digest."""
    digest = hashlib.sha256(file.data).hexdigest()
    folder = evidence_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / digest
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
        with os.fdopen(fd, "wb") as out:
            out.write(file.data)
        os.replace(tmp, target)
    return digest


def stored_path(data_dir: Path, evidence: Evidence) -> Path | None:
    if not evidence.sha256 or not re.fullmatch(r"[0-9a-f]{64}", evidence.sha256):
        return None
    path = evidence_dir(data_dir) / evidence.sha256
    return path if path.is_file() else None


async def attach(
    *,
    session: AsyncSession,
    principal: Principal,
    data_dir: Path,
    record: Record,
    file: EvidenceFile | None = None,
    url: str | None = None,
) -> list[Evidence]:
    added: list[Evidence] = []
    if file is not None:
        digest = store_file(data_dir, file)
        added.append(
            Evidence(
                record_id=record.id,
                filename=file.filename,
                content_type=file.content_type,
                size=len(file.data),
                sha256=digest,
            )
        )
    if url:
        added.append(Evidence(record_id=record.id, url=check_url(url)))
    session.add_all(added)
    await session.flush()
    for evidence in added:
        record_event(
            session,
            "record:evidence:attach",
            actor_kind=principal.actor_kind,
            actor_id=principal.subject,
            district_id=record.district_id,
            subject_type="record",
            subject_id=record.id,
            evidence_id=evidence.id,
            sha256=evidence.sha256,
            url=evidence.url,
        )
    return added
