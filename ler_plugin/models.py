"""Every table, imported once so `Base.metadata` is complete (Alembic, tests, the CLI)."""

from ler_plugin.audit import AuditEvent
from ler_plugin.badges.models import Badge, PendingClaim
from ler_plugin.db import Base
from ler_plugin.districts.models import District, RulesetVersion, School
from ler_plugin.issuing.keys import DistrictIssuerKey
from ler_plugin.licences.models import Reminder, ReminderOptOut
from ler_plugin.lti.models import Deployment, LoginState, Platform, PlatformKeyset, ToolKey
from ler_plugin.obapi.models import ObAuthorizationCode, ObClient, ObGrant, ObProfile, ObToken
from ler_plugin.providers.models import Provider, ProviderCredential, ProviderIssuer
from ler_plugin.ratelimit import RateCounter
from ler_plugin.rollups.models import RollupCell, RollupSchoolSpan, RollupTeacherYear
from ler_plugin.wallet.models import (
    Evidence,
    License,
    Record,
    SchoolMembership,
    Teacher,
    TeacherEmail,
    TeacherIdentity,
    Wallet,
)
from ler_plugin.wallet.sharing import ShareLink, ShareLinkRecord

metadata = Base.metadata

__all__ = [
    "AuditEvent",
    "Badge",
    "Deployment",
    "District",
    "DistrictIssuerKey",
    "Evidence",
    "License",
    "LoginState",
    "ObAuthorizationCode",
    "ObClient",
    "ObGrant",
    "ObProfile",
    "ObToken",
    "PendingClaim",
    "Platform",
    "PlatformKeyset",
    "Provider",
    "ProviderCredential",
    "ProviderIssuer",
    "RateCounter",
    "Record",
    "Reminder",
    "ReminderOptOut",
    "RollupCell",
    "RollupSchoolSpan",
    "RollupTeacherYear",
    "RulesetVersion",
    "School",
    "SchoolMembership",
    "ShareLink",
    "ShareLinkRecord",
    "Teacher",
    "TeacherEmail",
    "TeacherIdentity",
    "ToolKey",
    "Wallet",
    "metadata",
]
