"""Accounts, passwords (argon2), log-in with lock-out, sessions and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gisgrid.auth import audit, throttle
from gisgrid.auth.policy import ROLES, Principal
from gisgrid.config import AuthSettings
from gisgrid.db import sql
from gisgrid.db.aio import AioDB
from gisgrid.db.models import AppUser, AuthSession, GridUnit
from gisgrid.errors import Conflict, InvalidInput, NotFound, TooManyRequests, Unauthorized

HASHER = PasswordHasher()
MIN_PASSWORD = 8
SEEN_RESOLUTION = timedelta(minutes=1)
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_.-")


class AuthFailed(Unauthorized):
    """Log-in refused: wrong credentials, locked, disabled or expired."""


def load_secret(path: Path) -> bytes:
    """The server's secret key, generated on first use and kept (mode 600) at `path`."""
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def keyed_hash(secret: bytes, token: str) -> str:
    """HMAC-SHA256 of a token: what is stored, so a leaked table gives no usable tokens."""
    return hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _check_username(username: str) -> str:
    name = username.strip().lower()
    if not (2 <= len(name) <= 64) or not set(name) <= USERNAME_CHARS:
        raise InvalidInput(
            f"Invalid user name {username!r}.",
            field="username",
            value=username,
            expected="2–64 characters: a–z, 0–9, '_', '.', '-'",
        )
    return name


def check_password(password: str) -> None:
    """Refuse a password that is too short or too long, or made of one repeated character or white space."""
    expected = f"{MIN_PASSWORD}–256 characters, not only spaces, not one character repeated"
    if not (MIN_PASSWORD <= len(password) <= 256):
        raise InvalidInput(
            "密码长度不符 The password is too short or too long.",
            field="password",
            value=f"{len(password)} characters",  # never the password itself
            expected=expected,
        )
    if len(password.strip()) < MIN_PASSWORD or len(set(password)) < 3 or "\x00" in password:
        raise InvalidInput(
            "密码太弱 The password is too weak: spaces, a NUL or one or two characters repeated.",
            field="password",
            value=f"{len(password)} characters",
            expected=expected,
        )


def _check_scope(session: Session, scope: list[str]) -> list[str]:
    current = set(
        session.scalars(
            select(GridUnit.code).where(
                GridUnit.valid_to.is_(None), GridUnit.level.in_(("subdistrict", "community"))
            )
        )
    )
    unknown = [c for c in scope if c not in current]
    if unknown:
        raise InvalidInput(
            f"Unknown scope code(s): {', '.join(unknown)}.",
            field="scope",
            value=",".join(unknown),
            expected="codes of current subdistricts or communities; empty = whole subdistrict",
        )
    return scope


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    scope: list[str] | None = None,
    is_demo: bool = False,
    actor: Principal | None = None,
) -> AppUser:
    """Create an account; the password is stored as an argon2 hash."""
    name = _check_username(username)
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}.", field="role", value=role, expected=", ".join(ROLES))
    check_password(password)
    if session.scalar(select(AppUser.id).where(AppUser.username == name)) is not None:
        raise Conflict(
            f"User {name!r} already exists.", field="username", value=name, expected="a new user name"
        )
    user = AppUser(
        username=name,
        display_name=display_name or name,
        role=role,
        is_demo=is_demo,
        scope_codes=_check_scope(session, scope or []),
        password_hash=HASHER.hash(password),
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity="user",
        key=name,
        after={"role": role, "scope": user.scope_codes, "display_name": user.display_name},
    )
    return user


def get_user(session: Session, username: str) -> AppUser:
    """The account called `username`, or NotFound."""
    user = session.scalar(select(AppUser).where(AppUser.username == username.strip().lower()))
    if user is None:
        raise NotFound(
            f"No user {username!r}.", field="username", value=username, expected="an existing user"
        )
    return user


def set_password(session: Session, *, username: str, password: str, actor: Principal | None = None) -> None:
    """Change a password, end the account's sessions and API tokens and clear any lock."""
    check_password(password)
    user = get_user(session, username)
    user.password_hash = HASHER.hash(password)
    user.is_demo = False
    user.failed_logins, user.locked_until, user.last_failed_at = 0, None, None
    _revoke_all(session, user.id)  # a token made with the old password must not outlive it
    audit.record(session, actor=actor, action="set_password", entity="user", key=user.username)


def set_disabled(session: Session, *, username: str, disabled: bool, actor: Principal | None = None) -> None:
    """Disable (or enable) an account; disabling ends its sessions and tokens."""
    user = get_user(session, username)
    before = user.disabled
    user.disabled = disabled
    if disabled:
        _revoke_all(session, user.id)
    audit.record(
        session,
        actor=actor,
        action="disable" if disabled else "enable",
        entity="user",
        key=user.username,
        before={"disabled": before},
        after={"disabled": disabled},
    )


def _revoke_all(session: Session, user_id: int, kind: str | None = None) -> None:
    stmt = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if kind:
        stmt = stmt.where(AuthSession.kind == kind)
    session.execute(stmt.values(revoked_at=_now()))


LOGIN_FAILED = "用户名或密码错误，或账户不可用 Wrong user name or password, or the account cannot log in now."


@cache
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def _same_work(password: str) -> None:
    """An argon2 check that fails: unknown, disabled and locked accounts take as long as a wrong password."""
    try:
        HASHER.verify(_dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        pass


def authenticate(
    session: Session, *, username: str, password: str, settings: AuthSettings, ip: str | None = None
) -> AppUser:
    """Check a password: the attempt is counted first (atomically, per account and per address, in a decaying
    window); unknown, disabled and locked accounts get the same answer in the same time; every failure audited.

    The caller must commit after an AuthFailed or TooManyRequests too (the counts and the audit row)."""
    user = session.scalar(select(AppUser).where(AppUser.username == username.strip().lower()))

    def fail(reason: str, *, checked: bool = False) -> AuthFailed:
        """Audit the failure; without a password check, do the same work one takes (nothing to time)."""
        if not checked:
            _same_work(password)
        audit.record(
            session,
            actor=None,
            action="login_failed",
            entity="user",
            key=username[:64],
            ip=ip,
            detail={"reason": reason},
        )
        return AuthFailed(LOGIN_FAILED, field="password", expected="a valid user name and password")

    if not throttle.take_address(session, ip=ip, settings=settings):
        fail("address throttled")
        raise TooManyRequests(
            f"登录失败次数过多 Too many failed log-ins from your address: wait up to {settings.lockout_minutes} "
            "minutes.",
            field="ip",
            expected=f"at most {settings.max_failed_logins_per_ip} failed log-ins per {settings.lockout_minutes} "
            "minutes from one address",
        )
    if user is None or user.password_hash is None:
        raise fail("unknown user")
    if user.disabled:
        raise fail("disabled")
    if not throttle.take_account(session, user_id=user.id, settings=settings):
        raise fail("locked")
    try:
        HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise fail("wrong password", checked=True) from None
    throttle.succeeded(session, user_id=user.id, ip=ip)
    session.refresh(user)
    user.last_login_at = _now()
    return user


TOKEN_ID_CHARS = 12  # the public handle of a token: a prefix of its keyed hash (the token cannot be derived)


@dataclass(frozen=True)
class TokenInfo:
    """An API token as its owner and admins see it (never the token itself)."""

    id: str
    username: str
    name: str | None
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None
    ip: str | None

    @property
    def active(self) -> bool:
        """Not revoked and not expired."""
        return self.revoked_at is None and self.expires_at > _now()

    def public(self) -> dict[str, Any]:
        """The token as the API and the CLI show it (times in ISO 8601; never the IP)."""

        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {
            "id": self.id,
            "username": self.username,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "last_seen_at": iso(self.last_seen_at),
            "revoked_at": iso(self.revoked_at),
            "active": self.active,
        }


def list_tokens(session: Session, *, username: str | None = None) -> list[TokenInfo]:
    """API tokens, newest first: of one account, or (username None) of every account."""
    stmt = (
        select(AuthSession, AppUser.username)
        .join(AppUser, AppUser.id == AuthSession.user_id)
        .where(AuthSession.kind == "token")
        .order_by(AuthSession.created_at.desc(), AuthSession.token_hash)
    )
    if username is not None:
        stmt = stmt.where(AppUser.id == get_user(session, username).id)
    return [
        TokenInfo(
            id=row.token_hash[:TOKEN_ID_CHARS],
            username=name,
            name=row.name,
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_seen_at=row.last_seen_at,
            revoked_at=row.revoked_at,
            ip=row.ip,
        )
        for row, name in session.execute(stmt)
    ]


def revoke_token(
    session: Session, *, token_id: str, actor: Principal | None, username: str | None = None
) -> TokenInfo:
    """Revoke one API token by its id; `username` limits the search to that account (callers that are not admins)."""
    if not (6 <= len(token_id) <= TOKEN_ID_CHARS) or not all(c in "0123456789abcdef" for c in token_id):
        raise InvalidInput(
            f"令牌编号无效 {token_id!r} is not a token id.",
            field="token_id",
            value=token_id[:40],
            expected=f"the {TOKEN_ID_CHARS} hexadecimal characters listed by GET /api/auth/tokens",
        )
    matches = [t for t in list_tokens(session, username=username) if t.id.startswith(token_id)]
    if len(matches) != 1:
        raise NotFound(
            f"没有这个令牌 No token {token_id!r}" + (f" of {username}" if username else "") + ".",
            field="token_id",
            value=token_id,
            expected="an id listed by GET /api/auth/tokens"
            + (" (more characters: it is ambiguous)" if matches else ""),
        )
    token, now = matches[0], _now()
    session.execute(
        update(AuthSession)
        .where(
            AuthSession.token_hash.startswith(token.id),
            AuthSession.kind == "token",
            AuthSession.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    audit.record(
        session,
        actor=actor,
        action="token_revoke",
        entity="user",
        key=token.username,
        detail={"token": token.id, "name": token.name},
    )
    return replace(token, revoked_at=token.revoked_at or now)


def verify_demo_password(user: AppUser, password: str) -> bool:
    """Whether the account still has the given (demo) password."""
    try:
        return user.password_hash is not None and HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass
class Issued:
    """A new session or token: the secret values are shown once and never stored."""

    token: str
    csrf: str | None
    expires_at: datetime


def issue(
    session: Session,
    *,
    user: AppUser,
    kind: str,
    secret: bytes,
    ttl: timedelta,
    name: str | None = None,
    ip: str | None = None,
) -> Issued:
    """Start a cookie session (with a CSRF token) or create a bearer API token."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24) if kind == "session" else None
    expires = _now() + ttl
    session.add(
        AuthSession(
            token_hash=keyed_hash(secret, token),
            user_id=user.id,
            kind=kind,
            name=name,
            csrf_hash=keyed_hash(secret, csrf) if csrf else None,
            expires_at=expires,
            ip=ip,
        )
    )
    audit.record(
        session,
        actor=principal_of(user),
        action="login" if kind == "session" else "token_create",
        entity="user",
        key=user.username,
        ip=ip,
        detail={"kind": kind, "name": name},
    )
    return Issued(token=token, csrf=csrf, expires_at=expires)


def principal_of(user: AppUser, *, via: str = "none", session_hash: str | None = None) -> Principal:
    """The Principal for an account."""
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        scope_codes=tuple(user.scope_codes or ()),
        via=via,
        session_hash=session_hash,
        worker_id=user.worker_id,
    )


# One statement for both drivers: the session/token row and its account in one round trip.
RESOLVE = sql.Statement(
    """
SELECT s.token_hash, s.kind, s.revoked_at, s.expires_at, s.last_seen_at, s.csrf_hash,
       u.id, u.username, u.display_name, u.role, u.scope_codes, u.worker_id, u.disabled
  FROM auth_session s LEFT JOIN app_user u ON u.id = s.user_id
 WHERE s.token_hash = :token_hash
""",
    name="resolve_session",
)
TOUCH = sql.Statement(
    "UPDATE auth_session SET last_seen_at = :now WHERE token_hash = :token_hash", name="touch_session"
)
SESSION_FIELDS = ("token_hash", "kind", "revoked_at", "expires_at", "last_seen_at", "csrf_hash")
USER_FIELDS = ("id", "username", "display_name", "role", "scope_codes", "worker_id", "disabled")


@dataclass(frozen=True)
class Resolved:
    """The caller behind a credential, its session/token row, and the last-seen update to write (or None)."""

    principal: Principal
    row: SimpleNamespace
    touch: dict[str, Any] | None


def interpret(found: Mapping[Any, Any] | None, *, via: str, now: datetime) -> Resolved:
    """A row of RESOLVE as the caller (or AuthFailed saying why not), for the sync and the async driver alike."""
    row: Any = SimpleNamespace(**{k: found[k] for k in SESSION_FIELDS}) if found else None
    user = (
        SimpleNamespace(**{k: found[k] for k in USER_FIELDS}) if found and found["id"] is not None else None
    )
    principal = check_session(row, user, via=via, now=now)  # refuses a missing row
    touch = {"token_hash": row.token_hash, "now": now} if stale_seen(row.last_seen_at, now) else None
    return Resolved(principal, row, touch)


def resolve(session: Session, *, token: str, secret: bytes, via: str) -> tuple[Principal, Any]:
    """The caller behind a session cookie or bearer token, or AuthFailed (expired, revoked, unknown); the row
    has AuthSession's fields."""
    found = sql.run(session, RESOLVE, {"token_hash": keyed_hash(secret, token)}).mappings().first()
    resolved = interpret(found, via=via, now=_now())
    if resolved.touch is not None:
        sql.run(session, TOUCH, resolved.touch)
    return resolved.principal, resolved.row


async def resolve_async(db: AioDB, *, token: str, secret: bytes, via: str) -> tuple[Principal, Any]:
    """`resolve` on the async pool, for the hot read routes."""
    found = await db.fetchrow(RESOLVE, {"token_hash": keyed_hash(secret, token)})
    resolved = interpret(found, via=via, now=_now())
    if resolved.touch is not None:
        await db.execute(TOUCH, resolved.touch)
    return resolved.principal, resolved.row


def check_session(row: Any, user: Any, *, via: str, now: datetime) -> Principal:
    """The Principal of a session/token row and its account, or AuthFailed saying why not."""
    kind = "session" if via == "cookie" else "token"
    if row is None or row.kind != kind or row.revoked_at is not None:
        raise AuthFailed(
            "未登录或登录已失效 Not logged in, or the session/token is not valid.",
            field="authorization",
            expected="log in again, or a valid bearer token",
        )
    if row.expires_at <= now:
        raise AuthFailed(
            "登录已过期 The session has expired: please log in again.",
            field="authorization",
            expected="log in again",
        )
    if user is None or user.disabled:
        raise AuthFailed("账户已停用 This account is disabled.", field="authorization")
    return principal_of(user, via=via, session_hash=row.token_hash)


def stale_seen(last_seen_at: datetime | None, now: datetime) -> bool:
    """Whether last_seen_at needs writing: a write per request would cost more than the request."""
    return last_seen_at is None or now - last_seen_at > SEEN_RESOLUTION


def revoke(session: Session, *, token_hash: str) -> None:
    """End one session or token."""
    session.execute(update(AuthSession).where(AuthSession.token_hash == token_hash).values(revoked_at=_now()))


def list_users(session: Session) -> list[dict[str, object]]:
    """Every account (without secrets)."""
    return [
        {
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "scope": list(u.scope_codes or []),
            "disabled": u.disabled,
            "locked": bool(u.locked_until and u.locked_until > _now()),
            "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
            "demo": u.is_demo,
        }
        for u in session.scalars(select(AppUser).order_by(AppUser.username))
    ]
