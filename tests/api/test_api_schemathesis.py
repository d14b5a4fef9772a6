"""The whole API against its own OpenAPI schema, with schemathesis, on both warehouses.

csvhub runs on pytest-django's loopback live server with an organization admin's real API token
and a dataset loaded through the real pipeline; schemathesis' CLI (a child process) reads
/api/schema/ and runs its phases (examples, coverage, fuzzing, stateful) with every check:
no 5xx, every status, content type and body as documented, schema-valid requests accepted and
schema-violating ones refused. The run is deterministic and bounded (tests/api/schemathesis.toml).

Left out, because they would destroy what the run stands on:
- DELETE /api/v1/datasets/{slug}/: the run's dataset (deleting is covered by the dataset tests);
- DELETE /api/v1/tokens/{token_id}/: the stateful phase would revoke the run's own token.
The use_after_free and ensure_resource_availability checks follow DELETEs, so they go with them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from csvhub.accounts.models import Membership, Organization, Role
from csvhub.accounts.services import token_create
from tests.datasets.pipeline import upload

CONFIG = Path(__file__).with_name("schemathesis.toml")
# About a minute per warehouse on a quiet machine; the limit only stops a run that hangs, and
# a loaded CI machine (or one shared with other runs) takes several times longer.
TIME_LIMIT_SECONDS = 900

# Columns named after the schema's examples (Titanic rows, sales analysis), so that examples
# reach the warehouse; one column of each type.
CSV = """\
Name,Sex,Ticket,Fare,Age,Survived,client_name,transaction_amount,transaction_date,Embarked
"Braund, Mr. Owen Harris",male,A/5 21171,7.25,22,false,Linda Davis,12.50,2024-01-01T09:00:00Z,S
"Cumings, Mrs. John Bradley",female,PC 17599,71.2833,38,true,Linda Davis,99.99,2024-01-02,C
"Heikkinen, Miss. Laina",female,STON/O2. 3101282,7.925,26,true,Ann Lee,5,2024-01-09T10:30:00Z,S
"Allen, Mr. William Henry",male,373450,8.05,,false,Ann Lee,-3.25,2024-02-01T00:00:00Z,
"Moran, Mr. James",male,330877,8.4583,,false,Bo Chan,1000,,Q
"""


@pytest.fixture
def admin_token(warehouse: str, settings) -> str:
    """An org admin's token, in an organization with one loaded dataset."""
    # Schemathesis sends bad credentials on purpose (ignored_auth); they must not lock the
    # run's own token out of its loopback address.
    settings.CSVHUB_TOKEN_FAILURE_LIMIT = 1_000_000
    organization = Organization.objects.create(slug="acme", name="Acme")
    user = get_user_model().objects.create_user("alice", "alice@example.com", "x" * 20)
    Membership.objects.create(user=user, organization=organization, role=Role.ADMIN)
    loaded = upload(organization, "titanic.csv", CSV)
    assert loaded.state == "succeeded", loaded.error
    created = token_create(
        organization=organization,
        user=user,
        name="schemathesis",
        role=Role.ADMIN,
        expires_at=None,
        acting_role=Role.ADMIN,
    )
    return created.text


@pytest.mark.django_db(transaction=True)
def test_the_api_keeps_to_its_openapi_schema(live_server, admin_token: str, tmp_path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(_config(tmp_path)),
            "run",
            f"{live_server.url}/api/schema/",
            "--header",
            f"Authorization: Bearer {admin_token}",
            "--checks",
            "all",
            "--exclude-checks",
            "use_after_free,ensure_resource_availability",
            "--exclude-operation-id",
            "v1_datasets_destroy",
            "--exclude-operation-id",
            "tokens_revoke",
            "--workers",
            "1",
            "--request-timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT_SECONDS,
        cwd=tmp_path,  # schemathesis keeps its cache there
        check=False,
    )
    print(result.stdout[-3_000:])  # the summary: phases, checks, cases (shown with -s)
    assert result.returncode == 0, result.stdout[-20_000:] + result.stderr[-5_000:]


def _config(tmp_path: Path) -> Path:
    """The shared configuration, with the path parameters of this run's objects."""
    from csvhub.datasets.models import Upload

    first = Upload.objects.get()
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        CONFIG.read_text() + f'\n[parameters]\n"path.slug" = "{first.dataset.slug}"\n'
        f'"path.upload_id" = "{first.id}"\n'
    )
    return config
