"""The model store: saved policies (checkpoints) and the lease that elects one learner.

A checkpoint carries the log position its model has learned up to, so a restarted or
newly elected learner resumes from there rather than learning a decision twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from bandit.clock import utcnow
from bandit.storage.database import Database
from bandit.storage.tables import checkpoints, leases


@dataclass(frozen=True)
class Checkpoint:
    """A saved model with the log position it has learned up to."""

    id: int
    version: str
    last_seq: int
    checksum: str
    data: bytes
    created_at: datetime


def checksum(data: bytes) -> str:
    """The checksum stored with every checkpoint."""
    return hashlib.sha256(data).hexdigest()


class ModelStore:
    """Checkpoints, newest last, and named leases with a time to live."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def save_checkpoint(
        self, version: str, last_seq: int, data: bytes, now: datetime | None = None
    ) -> Checkpoint:
        """Store a model with the log position it has learned up to."""
        now = now or utcnow()
        digest = checksum(data)
        with self.database.write() as conn:
            new_id = conn.execute(
                insert(checkpoints)
                .values(
                    version=version, created_at=now, last_seq=last_seq, checksum=digest, data=data
                )
                .returning(checkpoints.c.id)
            ).scalar_one()
        return Checkpoint(int(new_id), version, last_seq, digest, data, now)

    def latest_checkpoint(self) -> Checkpoint | None:
        """The newest checkpoint, or ``None`` before the first one."""
        with self.database.engine.connect() as conn:
            row = conn.execute(
                select(checkpoints).order_by(checkpoints.c.id.desc()).limit(1)
            ).first()
        if row is None:
            return None
        return Checkpoint(
            row.id, row.version, row.last_seq, row.checksum, bytes(row.data), row.created_at
        )

    def try_lease(
        self, name: str, holder: str, ttl: timedelta, now: datetime | None = None
    ) -> bool:
        """Take or renew a named lease; ``False`` while another live holder has it."""
        now = now or utcnow()
        with self.database.write() as conn:
            query = select(leases).where(leases.c.name == name)
            if self.database.dialect == "postgresql":
                query = query.with_for_update()
            row = conn.execute(query).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(leases).values(name=name, holder=holder, expires_at=now + ttl)
                        )
                except IntegrityError:
                    return False
                return True
            if row.holder != holder and row.expires_at > now:
                return False
            conn.execute(
                update(leases)
                .where(leases.c.name == name)
                .values(holder=holder, expires_at=now + ttl)
            )
            return True

    def release_lease(self, name: str, holder: str) -> None:
        """Give a lease up early (on clean shutdown) so another process can take over now."""
        with self.database.write() as conn:
            conn.execute(leases.delete().where(leases.c.name == name, leases.c.holder == holder))
