"""The application: the network's services composed over one event store."""

from __future__ import annotations

from domain.services.accounts import AccountService
from domain.services.cases import CaseService
from domain.services.directory import DirectoryService
from domain.services.escalations import EscalationService
from domain.services.exchange import ExchangeService
from domain.services.integrations import IntegrationService
from domain.services.referrals import ReferralService


class ReferralNetwork(AccountService, DirectoryService, CaseService, ReferralService,
                      EscalationService, IntegrationService, ExchangeService):
    """Directory, accounts, cases and referrals of one network (DESIGN §5), on one event
    store."""
