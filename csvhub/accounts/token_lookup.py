"""The read that authenticates an API token: one prepared SELECT (csvhub.prepared) of the
token, its user, its organization and the owner's membership role there (NULL when the owner
left the organization)."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from csvhub.accounts.models import ApiToken, Membership, Organization
from csvhub.prepared import ModelColumns, PreparedRead, Statement, column, table


def token_read(*, secret_hash: str) -> ApiToken | None:
    """The token with this sha256, its user and organization attached, `owner_role` set."""
    found = _TOKEN.first([secret_hash])
    if found is None:
        return None
    (token, user, organization), (owner_role,) = found
    assert isinstance(token, ApiToken) and isinstance(organization, Organization)
    token.user = user  # type: ignore[assignment]  # the User model, as AUTH_USER_MODEL says
    token.organization = organization
    token.owner_role = owner_role  # type: ignore[attr-defined]  # read by csvhub.accounts.access
    return token


def _build(connection: BaseDatabaseWrapper) -> Statement:
    q = connection.ops.quote_name
    user_model = _related(ApiToken, "user")
    parts = (
        ModelColumns.of(ApiToken, "t", connection),
        ModelColumns.of(user_model, "u", connection),
        ModelColumns.of(Organization, "o", connection),
    )
    token_user = f"t.{q(column(ApiToken, 'user'))}"
    token_organization = f"t.{q(column(ApiToken, 'organization'))}"
    sql = (
        f"SELECT {', '.join(part.select_list(q) for part in parts)}, "
        f"m.{q(column(Membership, 'role'))}"
        f" FROM {table(ApiToken, q)} t"
        f" JOIN {table(user_model, q)} u ON u.{q(column(user_model, 'id'))} = {token_user}"
        f" JOIN {table(Organization, q)} o"
        f" ON o.{q(column(Organization, 'id'))} = {token_organization}"
        f" LEFT JOIN {table(Membership, q)} m"
        f" ON m.{q(column(Membership, 'user'))} = {token_user}"
        f" AND m.{q(column(Membership, 'organization'))} = {token_organization}"
        f" WHERE t.{q(column(ApiToken, 'secret_hash'))} = %s"
    )
    return Statement(sql, parts)


def _related(model: type[Model], name: str) -> type[Model]:
    related = model._meta.get_field(name).related_model
    assert isinstance(related, type) and issubclass(related, Model)
    return related


_TOKEN = PreparedRead(_build, [(ApiToken, "secret_hash")])
