"""Policies as bytes: one zip of the saved directory, for checkpoints and model registries."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from bandit.catalog import Catalog
from bandit.errors import IncompatibleModel
from bandit.policy import Policy

#: Refuse archives that would unpack to more than this (a corrupt or hostile artifact).
MAX_UNPACKED_BYTES = 512 * 1024 * 1024


def dump_policy(policy: Policy) -> bytes:
    """Serialise a policy (its ``save`` directory, zipped)."""
    with tempfile.TemporaryDirectory() as tmp:
        policy.save(tmp)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(Path(tmp).iterdir()):
                archive.write(path, path.name)
        return buffer.getvalue()


def load_policy(data: bytes, catalog: Catalog | None = None) -> Policy:
    """Rebuild a policy from :func:`dump_policy` bytes; :class:`IncompatibleModel` if it cannot."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                raise IncompatibleModel("policy archive is too large")
            with tempfile.TemporaryDirectory() as tmp:
                for member in members:
                    name = Path(member.filename).name  # flat archive: no paths, no traversal
                    (Path(tmp) / name).write_bytes(archive.read(member))
                return Policy.load(tmp, catalog=catalog)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise IncompatibleModel(f"not a policy archive: {exc}") from exc
