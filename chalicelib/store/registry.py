"""Every table model in one list: local provisioning, tests and the CloudFormation template all
create tables from these definitions, so the schema exists once."""

from __future__ import annotations

from pynamodb.models import Model

from chalicelib.store.accounts import AccountModel, ContactModel
from chalicelib.store.directory import TenantDirectoryModel
from chalicelib.store.feedback import CommentModel, FollowUpModel
from chalicelib.store.heartbeat import (
    AggregateModel,
    BenchmarkResultModel,
    HeartbeatConfigModel,
    LedgerModel,
    QuestionUsageModel,
    RoundModel,
)
from chalicelib.store.insights import InsightModel
from chalicelib.store.invitations import InvitationModel, SendLedgerModel, SurveyTokenModel
from chalicelib.store.level_changes import LevelChangeModel
from chalicelib.store.notifications import NotificationModel
from chalicelib.store.opt_outs import OptOutModel
from chalicelib.store.pulses import PulseModel, ScoreHistoryModel
from chalicelib.store.rate_limits import RateLimitModel
from chalicelib.store.reason_codes import ReasonCodeModel
from chalicelib.store.reviews import ActionModel, ReviewModel
from chalicelib.store.score_aggregates import ScoreAggregateModel
from chalicelib.store.segments import SegmentModel
from chalicelib.store.sender_identities import SenderIdentityClaimModel, SenderIdentityModel
from chalicelib.store.tenants import TenantModel, UserModel

MODELS: tuple[type[Model], ...] = (
    TenantModel,
    UserModel,
    AccountModel,
    ContactModel,
    OptOutModel,
    NotificationModel,
    SegmentModel,
    LevelChangeModel,
    InsightModel,
    HeartbeatConfigModel,
    QuestionUsageModel,
    RoundModel,
    AggregateModel,
    LedgerModel,
    BenchmarkResultModel,
    ReasonCodeModel,
    PulseModel,
    ScoreHistoryModel,
    TenantDirectoryModel,
    ReviewModel,
    ActionModel,
    CommentModel,
    FollowUpModel,
    InvitationModel,
    SurveyTokenModel,
    SendLedgerModel,
    ScoreAggregateModel,
    RateLimitModel,
    SenderIdentityModel,
    SenderIdentityClaimModel,
)
