"""Failed log-ins, counted atomically before the password is checked, in a decaying window.

Every attempt first takes its place in one `UPDATE … RETURNING` (a row lock: parallel attempts queue on it),
counted as a failure until the password proves right. So forty parallel attempts verify at most
`max_failed_logins` passwords, and the rest are refused without a check. Failures older than the window
(`lockout_minutes`) no longer count: an expired lock does not come back with the next typo. The same is done per
source address (`login_throttle`), so one address cannot try many accounts.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.config import AuthSettings

# Counts this attempt; locks the account when it reaches the limit. No row: the account is locked.
TAKE_ACCOUNT = text(
    """
    UPDATE app_user SET
        failed_logins = CASE WHEN last_failed_at IS NULL OR last_failed_at < now() - :window
                             THEN 1 ELSE failed_logins + 1 END,
        last_failed_at = CASE WHEN last_failed_at IS NULL OR last_failed_at < now() - :window
                              THEN now() ELSE last_failed_at END,
        locked_until = CASE WHEN (CASE WHEN last_failed_at IS NULL OR last_failed_at < now() - :window
                                       THEN 1 ELSE failed_logins + 1 END) >= :max
                            THEN now() + :window ELSE locked_until END
     WHERE id = :id AND (locked_until IS NULL OR locked_until <= now())
    RETURNING failed_logins
    """
)
TAKE_ADDRESS = text(
    """
    INSERT INTO login_throttle AS t (ip, failures, window_start) VALUES (:ip, 1, now())
    ON CONFLICT (ip) DO UPDATE SET
        failures = CASE WHEN t.window_start < now() - :window THEN 1 ELSE t.failures + 1 END,
        window_start = CASE WHEN t.window_start < now() - :window THEN now() ELSE t.window_start END
    RETURNING failures
    """
)


def take_address(session: Session, *, ip: str | None, settings: AuthSettings) -> bool:
    """Count an attempt from `ip`; False when the address has used up its failures in the window."""
    if not ip:
        return True
    window = timedelta(minutes=settings.lockout_minutes)
    failures = session.execute(TAKE_ADDRESS, {"ip": ip, "window": window}).scalar_one()
    return int(failures) <= settings.max_failed_logins_per_ip


def take_account(session: Session, *, user_id: int, settings: AuthSettings) -> bool:
    """Count an attempt on the account; False when it is locked (no password may be checked)."""
    window = timedelta(minutes=settings.lockout_minutes)
    row = session.execute(
        TAKE_ACCOUNT, {"id": user_id, "window": window, "max": settings.max_failed_logins}
    ).first()
    return row is not None


def succeeded(session: Session, *, user_id: int, ip: str | None) -> None:
    """The password was right: the attempt was no failure after all."""
    session.execute(
        text(
            "UPDATE app_user SET failed_logins = 0, last_failed_at = NULL, locked_until = NULL WHERE id = :id"
        ),
        {"id": user_id},
    )
    if ip:
        session.execute(
            text("UPDATE login_throttle SET failures = greatest(failures - 1, 0) WHERE ip = :ip"), {"ip": ip}
        )
