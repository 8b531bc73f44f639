"""Database tables, declared once for the application and for migrations."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Integer, String
from sqlalchemy.orm import Mapped, declarative_base

Base = declarative_base()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SafetyEvent(Base):
    """One safety route taken by the assistant, for staff statistics.

    Deliberately holds no message text, sender id or other personal data: only when, which
    route, which configured region and which channel.
    """

    __tablename__ = "safety_events"

    id: Mapped[int] = Column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    route: Mapped[str] = Column(String(40), nullable=False, index=True)
    region: Mapped[str] = Column(String(40), nullable=False)
    channel: Mapped[str] = Column(String(40), nullable=False)
