"""Who sees which phone number: in full, masked, or not at all — applied by the API, not only by the pages.

Dispatchers and admins call workers: they see full numbers (permission `contacts.full`). Other logged-in roles
(`contacts.read`) see that a worker can be reached and how to recognise the number, masked as 138****5678.
Anonymous callers see none.
"""

from __future__ import annotations

from typing import Any

from gisgrid.auth.policy import Principal


def mask(phone: str) -> str:
    """A phone number with its middle digits hidden (138****5678); short numbers keep only the last two."""
    digits = phone.strip()
    if len(digits) >= 7:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * max(0, len(digits) - 2) + digits[-2:]


def phone_for(principal: Principal | None, phone: str | None) -> str | None:
    """The phone as `principal` may see it (None: the CLI, which sees everything, passes principal=None)."""
    if phone is None or principal is None:
        return phone
    if principal.can("contacts.full"):
        return phone
    if principal.can("contacts.read"):
        return mask(phone)
    return None


def workers_for(principal: Principal | None, workers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Worker records with each phone as `principal` may see it (the key dropped when it may see none)."""
    out = []
    for worker in workers:
        shown = phone_for(principal, worker.get("phone"))
        item = {k: v for k, v in worker.items() if k != "phone"}
        if shown is not None or (principal is not None and principal.can("contacts.read")):
            item["phone"] = shown
        out.append(item)
    return out
