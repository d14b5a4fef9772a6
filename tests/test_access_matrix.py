"""Every API endpoint by every kind of caller: the status code, and no other organization's data.

acme owns the dataset `sales` (with a value ACMESECRET); globex owns `rivals` (GLOBEXSECRET).
Whoever calls, no response body may carry the other organization's secret, slug or file name:
not lists, counts, exports, downloads or error messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile

from csvhub.accounts.models import Invitation, Role
from csvhub.accounts.services import invitation_create
from csvhub.compat.models import Customer
from csvhub.datasets import services
from csvhub.datasets.models import Upload
from tests.accounts.actors import ACTORS, DENIED, SESSION_ACTORS, World

pytestmark = pytest.mark.django_db(transaction=True)

ACME_CSV = b"id,label,at\n1,ACMESECRET,2024-01-01 10:00:00\n2,plain,2024-01-02 11:00:00\n"
GLOBEX_CSV = b"id,label,at\n1,GLOBEXSECRET,2024-01-01 10:00:00\n"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {upload} and {invitation} are replaced by ids of acme's upload and invitation
    success: int
    needs: str  # the least role that may call it: viewer, editor or admin
    scoped: bool = True  # names one of acme's objects: another organization gets 404
    body: dict | None = None
    multipart: bool = False


ENDPOINTS = [
    Endpoint("get", "/api/v1/datasets/", 200, "viewer", scoped=False),
    Endpoint("post", "/api/v1/datasets/", 201, "editor", scoped=False, body={"name": "new"}),
    Endpoint("get", "/api/v1/datasets/sales/", 200, "viewer"),
    Endpoint("delete", "/api/v1/datasets/sales/", 204, "editor"),
    Endpoint("get", "/api/v1/datasets/sales/rows/", 200, "viewer"),
    Endpoint("get", "/api/v1/datasets/sales/rows/?label=like:SECRET", 200, "viewer"),
    Endpoint("get", "/api/v1/datasets/sales/rows/?format=csv", 200, "viewer"),
    Endpoint("get", "/api/v1/datasets/sales/rows/?format=ndjson", 200, "viewer"),
    Endpoint("get", "/api/v1/datasets/sales/rows/?nosuchcolumn=1", 400, "viewer"),
    Endpoint("post", "/api/v1/datasets/sales/rows/", 201, "editor", body={"label": "appended"}),
    Endpoint("get", "/api/v1/datasets/sales/indexes/", 200, "viewer"),
    Endpoint("post", "/api/v1/datasets/sales/indexes/", 201, "editor", body={"columns": ["id"]}),
    Endpoint("get", "/api/v1/datasets/sales/summary/", 200, "viewer"),
    Endpoint("get", "/api/v1/datasets/sales/analysis/?type=row_count", 200, "viewer"),
    Endpoint("get", "/api/v1/datasets/sales/analysis/?type=time_span", 200, "viewer"),
    Endpoint(
        "get",
        "/api/v1/datasets/sales/analysis/?type=aggregate&group_by=label&metrics=count",
        200,
        "viewer",
    ),
    Endpoint("get", "/api/v1/datasets/sales/facets/?columns=label", 200, "viewer"),
    Endpoint(
        "post", "/api/v1/uploads/", 202, "editor", scoped=False, body={"x": 1}, multipart=True
    ),
    Endpoint(
        "post",
        "/api/v1/uploads/",
        202,
        "editor",
        body={"dataset": "sales"},
        multipart=True,
    ),
    # Sources carry credentials: editors and admins only, reads too (csvhub.sources).
    Endpoint("get", "/api/v1/datasets/sales/sources/", 200, "editor"),
    Endpoint(
        "post",
        "/api/v1/datasets/sales/sources/",
        201,
        "editor",
        body={"kind": "url", "url": "https://93.184.215.14/x.csv", "every_seconds": 3600},
    ),
    # Alarm rules (csvhub.alarms): viewers read, editors write and dry-run.
    Endpoint("get", "/api/v1/datasets/sales/alarms/", 200, "viewer"),
    Endpoint(
        "post", "/api/v1/datasets/sales/alarms/", 201, "editor", body={"column": "id", "upper": 5}
    ),
    Endpoint(
        "post",
        "/api/v1/datasets/sales/alarms/preview",
        200,
        "editor",
        body={"column": "id", "upper": 5},
    ),
    Endpoint("get", "/api/v1/alarms/events/", 200, "viewer", scoped=False),
    # Cleaning (csvhub.cleaning): viewers read rules, recipes and clusters; editors change them.
    Endpoint("get", "/api/v1/datasets/sales/reading-rules/", 200, "viewer"),
    Endpoint("put", "/api/v1/datasets/sales/reading-rules/", 200, "editor", body={"strict": True}),
    Endpoint("get", "/api/v1/datasets/sales/recipe/", 200, "viewer"),
    Endpoint(
        "put",
        "/api/v1/datasets/sales/recipe/",
        200,
        "editor",
        body={"steps": [{"op": "trim", "column": "label"}]},
    ),
    Endpoint("get", "/api/v1/datasets/sales/recipe/versions/", 200, "viewer"),
    Endpoint("post", "/api/v1/datasets/sales/recipe/apply", 400, "editor", body={}),
    Endpoint("get", "/api/v1/datasets/sales/columns/label/clusters/", 200, "viewer"),
    Endpoint(
        "post",
        "/api/v1/datasets/sales/columns/label/clusters/accept",
        200,
        "editor",
        body={"values": ["ACMESECRET", "plain"], "canonical": "plain"},
    ),
    Endpoint(
        "post",
        "/api/v1/datasets/sales/columns/label/clusters/reject",
        200,
        "editor",
        body={"values": ["ACMESECRET", "plain"]},
    ),
    Endpoint("get", "/api/v1/uploads/{upload}/", 200, "viewer"),
    Endpoint("get", "/api/v1/uploads/{upload}/file", 200, "viewer"),
    Endpoint("get", "/api/v1/uploads/{upload}/rejects", 200, "viewer"),
    Endpoint("get", "/api/v1/organizations/", 200, "viewer", scoped=False),
    Endpoint("get", "/api/v1/tokens/", 200, "viewer", scoped=False),
    Endpoint("get", "/api/v1/members/", 200, "admin", scoped=False),
    Endpoint("post", "/api/v1/members/", 202, "admin", scoped=False, body={"user": "dave"}),
    Endpoint("get", "/api/v1/members/invitations/", 200, "admin", scoped=False),
    Endpoint(
        "post", "/api/v1/members/invitations/", 202, "admin", scoped=False, body={"user": "dave"}
    ),
    Endpoint("delete", "/api/v1/members/invitations/{invitation}/", 204, "admin"),
    # Retention, legal holds and usage (csvhub.lifecycle): everyone reads, admins change.
    Endpoint("get", "/api/v1/retention/", 200, "viewer", scoped=False),
    Endpoint(
        "patch", "/api/v1/retention/", 200, "admin", scoped=False, body={"keep_files_days": 30}
    ),
    Endpoint("get", "/api/v1/datasets/sales/retention/", 200, "viewer"),
    Endpoint(
        "patch", "/api/v1/datasets/sales/retention/", 200, "admin", body={"keep_files_days": 7}
    ),
    Endpoint("get", "/api/v1/holds/", 200, "viewer", scoped=False),
    Endpoint("post", "/api/v1/holds/", 201, "admin", body={"dataset": "sales", "reason": "x"}),
    Endpoint("get", "/api/v1/usage/", 200, "viewer", scoped=False),
    # Compatibility endpoints (csvhub.compat): acme's customer 1000 is the dataset `sales`.
    Endpoint("post", "/etl/", 202, "editor", scoped=False, body={"title": "t"}, multipart=True),
    Endpoint("get", "/api/sales/?label=like:SECRET", 200, "viewer"),
    Endpoint("get", "/api/_/sales/", 200, "viewer"),
    Endpoint(
        "post",
        "/api/v1/event/",
        202,
        "editor",
        scoped=False,
        body={"customer_id": "1000"},
        multipart=True,
    ),
    Endpoint(
        "post", "/api/v1/analyze/", 200, "viewer", body={"customer_id": 1000, "analyze_type": 10001}
    ),
    Endpoint(
        "post",
        "/api/v1/analyze/",
        200,
        "viewer",
        body={"customer_id": 1000, "analyzer_type": 10000},
    ),
    Endpoint("get", "/api/v1/customers/", 200, "viewer", scoped=False),
]

RANK = {"viewer": 1, "editor": 2, "admin": 3}
ROLE_OF = {"viewer": "viewer", "editor": "editor", "admin": "admin", "other_org": "admin"}


def _expected(endpoint: Endpoint, actor: str) -> int:
    if actor in DENIED:
        return DENIED[actor]
    if RANK[ROLE_OF[actor]] < RANK[endpoint.needs]:
        return 403
    if actor == "other_org" and endpoint.scoped:
        return 404
    return endpoint.success


def _seed(world: World) -> Upload:
    (acme_upload,) = services.uploads_create(
        organization=world.acme, files=[ContentFile(ACME_CSV, name="sales.csv")]
    )
    services.uploads_create(
        organization=world.globex, files=[ContentFile(GLOBEX_CSV, name="rivals.csv")]
    )
    acme_upload.refresh_from_db()
    assert acme_upload.state == "succeeded", acme_upload.error
    Customer.objects.create(
        organization=world.acme, customer_id="1000", dataset=acme_upload.dataset
    )
    return acme_upload


def _invitation(world: World) -> Invitation:
    return invitation_create(
        organization=world.acme,
        identifier="mallory",
        role=Role.VIEWER,
        invited_by=world.alice,
        base_url="http://testserver/",
    )


def _call(client, endpoint: Endpoint, upload: Upload, invitation: Invitation | None = None):
    path = endpoint.path.replace("{upload}", str(upload.id))
    if invitation is not None:
        path = path.replace("{invitation}", str(invitation.id))
    if endpoint.multipart:
        data = {**(endpoint.body or {}), "file": ContentFile(ACME_CSV[:40], name="more.csv")}
        return client.post(path, data, format="multipart")
    if endpoint.body is not None:
        return getattr(client, endpoint.method)(path, endpoint.body, format="json")
    return getattr(client, endpoint.method)(path)


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_endpoint_answers_each_caller_and_never_leaks(
    endpoint: Endpoint, actor: str, api_as, world: World
) -> None:
    upload = _seed(world)
    response = _call(api_as(actor), endpoint, upload, _invitation(world))

    assert response.status_code == _expected(endpoint, actor), _body(response)[:500]
    body = _body(response)
    foreign = ("ACMESECRET", "sales.csv") if actor == "other_org" else ("GLOBEXSECRET", "rivals")
    for secret in foreign:
        assert secret not in body


@pytest.mark.parametrize("actor", ["viewer", "other_org"])
def test_acme_data_is_visible_to_acme_only(actor: str, api_as, world: World) -> None:
    """The leak check above could pass on empty answers; here acme's data must be there."""
    _seed(world)
    body = _body(api_as(actor).get("/api/v1/datasets/sales/rows/?format=csv"))
    assert ("ACMESECRET" in body) is (actor == "viewer")


# Invitations received are answered by the invited person, signed in: never by a token (403),
# and someone else's invitation is a 404. acme's invitation goes to mallory (other_org).
INVITEE_ENDPOINTS = [
    Endpoint("get", "/api/v1/invitations/", 200, "viewer"),
    Endpoint("post", "/api/v1/invitations/{invitation}/accept/", 200, "viewer"),
    Endpoint("post", "/api/v1/invitations/{invitation}/decline/", 204, "viewer"),
]
CALLERS = [(actor, False) for actor in ACTORS] + [(actor, True) for actor in SESSION_ACTORS]


def _invitee_expected(endpoint: Endpoint, actor: str, session: bool) -> int:
    if actor in DENIED:
        return DENIED[actor]
    if not session:
        return 403
    if actor != "other_org" and endpoint.method == "post":
        return 404
    return endpoint.success


@pytest.mark.parametrize(("actor", "session"), CALLERS)
@pytest.mark.parametrize("endpoint", INVITEE_ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_invitations_are_answered_by_the_invited_person_only(
    endpoint: Endpoint, actor: str, session: bool, api_as, world: World
) -> None:
    upload = _seed(world)
    client = api_as(actor, session=session) if session else api_as(actor)
    response = _call(client, endpoint, upload, _invitation(world))

    assert response.status_code == _invitee_expected(endpoint, actor, session), _body(response)
    foreign = ("ACMESECRET", "sales.csv") if actor == "other_org" else ("GLOBEXSECRET", "rivals")
    for secret in foreign:
        assert secret not in _body(response)
