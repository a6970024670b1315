"""Accounts, roles and scopes, sessions and API tokens, and the audit trail."""
