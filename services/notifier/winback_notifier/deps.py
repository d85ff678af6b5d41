"""What every request handler needs besides the signed-in agent: the notifier's shared services.

Who is calling (``CurrentAgent``, ``CurrentSupervisor``, ``CurrentAdmin``) is decided in
:mod:`winback_shared.auth`, the same way for every service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from winback_notifier.calls.guidance import CallGuidance
from winback_notifier.cases.publisher import CaseEventPublisher
from winback_notifier.settings import NotifierSettings
from winback_shared.taxonomy import Taxonomy


@dataclass(frozen=True)
class Services:
    """Built once in the app's lifespan; handlers reach it through ``ServicesDep``."""

    settings: NotifierSettings
    pool: asyncpg.Pool
    publisher: CaseEventPublisher
    taxonomy: Taxonomy
    guidance: CallGuidance
    """The words for the call, checked against ``taxonomy`` at start-up."""


def get_services(request: Request) -> Services:
    """The app's services."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
