"""Log-in, who am I, tokens, accounts and the audit trail."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.common import JsonObject, Schema, Timestamp


class Me(Schema):
    """当前用户 The caller: user name, role and scope (anonymous callers too)."""

    username: str = Field(description="用户名 user name; 'anonymous' when not logged in")
    display_name: str = Field(description="显示名 display name")
    role: str = Field(
        description="角色 role: admin, planner, dispatcher, auditor, grid_worker, patrol, anonymous"
    )
    role_title: str = Field(description="角色名称 the role's title, Chinese and English")
    scope: list[str] = Field(description="范围 community codes the account is limited to; empty = all")
    authenticated: bool = Field(description="是否已登录 logged in")
    session_expired: bool = Field(
        description="会话已失效 the browser sent a dead session cookie (now cleared)"
    )
    session_message: str | None = Field(description="why the session cookie was refused, if it was")


class LoginAnswer(Schema):
    """登录成功 The user, the CSRF token for writes and when the session ends."""

    user: Me
    csrf_token: str | None = Field(
        description="CSRF 令牌 send it as X-CSRF-Token on cookie-authenticated writes"
    )
    expires_at: Timestamp = Field(description="会话到期 when the session ends")


class LogoutAnswer(Schema):
    """退出 Log-out done."""

    status: Literal["logged out"]


class TokenAnswer(Schema):
    """API 令牌 The new bearer token, shown this once."""

    token: str = Field(description="令牌 send as `Authorization: Bearer …`; only its hash is stored")
    name: str = Field(description="用途 what the token is for")
    expires_at: Timestamp = Field(description="到期 when the token stops working")


class TokenRow(Schema):
    """API 令牌 One API token (never the token itself)."""

    id: str = Field(description="编号 the token's public id (revoke with DELETE /api/auth/tokens/{id})")
    username: str = Field(description="账户 the account it acts for")
    name: str | None = Field(description="用途 what it is for")
    created_at: Timestamp = Field(description="创建 when it was made")
    expires_at: Timestamp = Field(description="到期 when it stops working")
    last_seen_at: Timestamp | None = Field(description="最近使用 when it was last used")
    revoked_at: Timestamp | None = Field(description="撤销 when it was revoked, if it was")
    active: bool = Field(description="有效 neither revoked nor expired")


class UserSummary(Schema):
    """账户 One account, without secrets."""

    username: str
    display_name: str | None = Field(description="显示名 display name")
    role: str = Field(description="角色 role")
    scope: list[str] = Field(description="范围 community codes; empty = the whole subdistrict")
    disabled: bool = Field(description="已停用 disabled")
    locked: bool = Field(description="已锁定 locked after failed log-ins")
    last_login_at: Timestamp | None = Field(description="最近登录 last log-in")
    demo: bool = Field(description="演示账户 a demo account (still with its demo password)")


class CreatedUser(Schema):
    """新账户 The account created."""

    username: str
    role: str
    scope: list[str] = Field(description="范围 community codes; empty = the whole subdistrict")


class UserStateAnswer(Schema):
    """账户状态 The account's new state."""

    username: str
    disabled: bool


class AuditRow(Schema):
    """审计记录 One audited write or log-in: who, when, from where, what, before and after."""

    id: int
    at: Timestamp = Field(description="时间 when")
    actor: str | None = Field(description="操作人 user name (or system)")
    role: str | None = Field(description="角色 the actor's role then")
    ip: str | None = Field(description="来源地址 the caller's address")
    action: str = Field(description="操作 e.g. update, login, login_failed, create_token")
    entity: str = Field(description="对象类型 e.g. grid_unit, user, incident")
    key: str | None = Field(description="对象标识 the entity's code or id")
    before: JsonObject | None = Field(description="修改前 values before")
    after: JsonObject | None = Field(description="修改后 values after")
    detail: JsonObject | None = Field(description="详情 more about the action")
