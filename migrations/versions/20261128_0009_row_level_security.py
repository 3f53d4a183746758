"""row-level security by district (PostgreSQL)

A second wall behind the services' own checks: every table that holds a district's data shows a
transaction only the rows of the district it names in the `ler.district_id` setting, or every row
when `ler.system` is on (both set per transaction by `ler_plugin.db`). A transaction that names
no tenant sees no rows and writes none: never an error, never another district's data.
FORCE makes the wall hold for the role that owns the tables too; only superusers and roles with
BYPASSRLS pass it, so the app must not connect as one (docs/deployment.md).

Tables without a district column take their parent's wall: a wallet is visible when its teacher
is. Not walled: the tool's own LTI signing keys, rate-limit counters and shipped rulesets, which
belong to no district.

Revision ID: 0003_row_level_security
Revises: 0002_audit
Create Date: 2026-11-28 21:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_row_level_security"
down_revision: str | Sequence[str] | None = "0002_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYSTEM = "current_setting('ler.system', true) = 'on'"
DISTRICT = "nullif(current_setting('ler.district_id', true), '')::bigint"

# table -> the column that names its district
BY_DISTRICT = {
    "district": "id",
    "audit_event": "district_id",
    "badge": "district_id",
    "district_issuer_key": "district_id",
    "lti_platform": "district_id",
    "pending_claim": "district_id",
    "provider": "district_id",
    "record": "district_id",
    "rollup_cell": "district_id",
    "rollup_school_span": "district_id",
    "rollup_teacher_year": "district_id",
    "school": "district_id",
    "share_link": "district_id",
    "teacher": "district_id",
    "teacher_email": "district_id",
}
# table -> (its foreign key column, the walled parent table it points to)
BY_PARENT = {
    "wallet": ("teacher_id", "teacher"),
    "license": ("teacher_id", "teacher"),
    "school_membership": ("teacher_id", "teacher"),
    "teacher_identity": ("teacher_id", "teacher"),
    "evidence": ("record_id", "record"),
    "share_link_record": ("share_link_id", "share_link"),
    "provider_credential": ("provider_id", "provider"),
    "provider_issuer": ("provider_id", "provider"),
    "lti_deployment": ("platform_id", "lti_platform"),
    "lti_login_state": ("platform_id", "lti_platform"),
    "lti_platform_keyset": ("platform_id", "lti_platform"),
}
POLICY = "district_wall"


def _policies() -> dict[str, str]:
    found = {table: f"{SYSTEM} OR {column} = {DISTRICT}" for table, column in BY_DISTRICT.items()}
    for table, (column, parent) in BY_PARENT.items():
        # The parent's own wall filters the subquery.
        found[table] = (
            f"{SYSTEM} OR EXISTS (SELECT 1 FROM {parent} p WHERE p.id = {table}.{column})"  # noqa: S608 (constants above)
        )
    return found


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no row-level security: one file is one deployment
    for table, condition in _policies().items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({condition})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _policies():
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
