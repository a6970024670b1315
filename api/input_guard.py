"""Refuse NUL characters, invalid UTF-8, lone surrogates and non-finite numbers in a request before any route
sees it: a 422 in the one error shape naming the parameter.

PostgreSQL refuses NUL in text and psycopg2 cannot encode a lone surrogate, so such a string would otherwise
surface as a 500 wherever it reaches the database (a search, a log-in, a title). The path and query string of
every request are checked, and JSON and form bodies (small ones: uploads are multipart and checked by the
importers); JSON's NaN and Infinity are refused too. Plain ASGI, so the hot routes pay one scan of the query.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response

CHECKED_BODIES = ("application/json", "application/x-www-form-urlencoded")
MAX_CHECKED_BODY = 1024 * 1024  # JSON and form bodies of this API are small; larger ones go on unchecked
EXPECTED = "文本不能含NUL或无效字符 text without NUL characters or invalid (surrogate) characters, in UTF-8"


class BadInput(Exception):
    """What is wrong and where."""

    def __init__(self, field: str, value: object, message: str, expected: str = EXPECTED) -> None:
        super().__init__(message)
        self.field, self.value, self.message, self.expected = field, value, message, expected


def _shown(value: str | bytes) -> str:
    """A value that can always be encoded back: NUL and surrogates escaped, cut to 80 characters."""
    text = value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else value
    text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text if len(text) <= 80 else text[:79] + "…"


SECRET_FIELDS = ("password", "token", "secret")


def _echo(field: str, value: str | bytes) -> str | None:
    """The value as echoed in the error; never a password or token."""
    return None if any(s in field.lower() for s in SECRET_FIELDS) else _shown(value)


def check_text(field: str, value: str) -> None:
    """BadInput when `value` holds a NUL or a lone surrogate."""
    if "\x00" in value:
        raise BadInput(field, _echo(field, value), f"{field} 含有NUL字符 holds a NUL character.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        message = f"{field} 含有无效字符 holds an invalid (lone surrogate) character."
        raise BadInput(field, _echo(field, value), message) from None


def check_raw(field: str, raw: bytes) -> str:
    """The percent-decoded bytes as text, or BadInput (NUL, not UTF-8)."""
    if b"\x00" in raw:
        raise BadInput(field, _echo(field, raw), f"{field} 含有NUL字符 holds a NUL character.")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(
            field, _echo(field, raw), f"{field} 不是有效的UTF-8 is not valid UTF-8 text."
        ) from None


def check_query(query: bytes) -> None:
    """Every name and value of a query string (or form body)."""
    for pair in query.split(b"&"):  # by hand: parse_qsl would already have replaced invalid UTF-8
        name, _, value = pair.partition(b"=")
        key = check_raw("query", unquote_to_bytes(name.replace(b"+", b" ")))
        check_raw(key, unquote_to_bytes(value.replace(b"+", b" ")))


def _reject_constant(name: str) -> Any:
    raise BadInput(
        "body", name, f"JSON中不能有 {name}: {name} is not a number JSON allows.", "finite numbers"
    )


def check_json(body: bytes) -> None:
    """Every key and string of a JSON body; NaN and Infinity refused."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(
            "body", _shown(body[:80]), "请求体不是有效的UTF-8 The body is not valid UTF-8."
        ) from None
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError:
        return  # the route's own validation names what is wrong with it
    todo = deque([("body", doc)])
    while todo:
        where, node = todo.popleft()  # in document order: the first bad field is named
        if isinstance(node, str):
            check_text(where, node)
        elif isinstance(node, dict):
            for key, value in node.items():
                check_text(where, key)
                todo.append((key, value))
        elif isinstance(node, list):
            todo.extend((where, item) for item in node)


class InputGuardMiddleware:
    """Refuse bad text in the path, the query string and small JSON/form bodies with a 422."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_raw("path", unquote_to_bytes(scope.get("raw_path") or scope["path"].encode("utf-8")))
            check_query(scope.get("query_string", b""))
            receive = await self._checked_body(scope, receive)
        except BadInput as bad:
            body = {"code": "invalid_input", "message": bad.message, "field": bad.field, "value": bad.value}
            body["expected"] = bad.expected
            await error_response(422, body)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _checked_body(self, scope: Scope, receive: Receive) -> Receive:
        headers = dict(scope.get("headers") or [])
        kind = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        length = headers.get(b"content-length", b"")
        if kind not in CHECKED_BODIES or not length.isdigit() or int(length) > MAX_CHECKED_BODY:
            return receive
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return receive  # the client went away: let the app see it
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if kind == "application/json":
            check_json(body)
        else:
            check_query(body)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay
