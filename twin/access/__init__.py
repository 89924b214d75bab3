"""Five levels, one backend: users, roles and the jurisdiction scope every query obeys.

The scope rule itself lives in the database (row-level security, see twin.db.rls); this package signs
people in, turns a token into the scope of a transaction, and manages users.
"""

from twin.access.passwords import hash_password, verify_password
from twin.access.roles import ROLES, Role
from twin.access.scope import Caller, begin_request, planner_scope
from twin.access.tokens import TokenError, TokenPair, issue_tokens, read_token

__all__ = [
    "ROLES",
    "Caller",
    "Role",
    "TokenError",
    "TokenPair",
    "begin_request",
    "hash_password",
    "issue_tokens",
    "planner_scope",
    "read_token",
    "verify_password",
]
