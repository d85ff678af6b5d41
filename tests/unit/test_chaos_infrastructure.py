"""Which fault-harness runs may use a broker and database they were given."""

from __future__ import annotations

import pytest

from winback_local.chaos.__main__ import parse_args
from winback_local.chaos.plan import FULL, SCALE, SHORT, Fault, Plan, Target
from winback_local.chaos.run import Options, run


def test_only_the_full_plan_kills_the_broker_or_postgres() -> None:
    assert FULL.kills_infrastructure
    assert not SHORT.kills_infrastructure
    assert not SCALE.kills_infrastructure
    for target in (Target.BROKER, Target.POSTGRES):
        one = Plan(faults=(Fault(target, 1),), warmup_seconds=0, gap_seconds=0, drain_seconds=0)
        assert one.kills_infrastructure


def test_a_plan_that_kills_the_infrastructure_is_refused_a_given_one() -> None:
    with pytest.raises(ValueError, match="stack of its own"):
        run(Options(plan=FULL, given_infrastructure=True))


@pytest.mark.parametrize("kind", ["--short", "--scale"])
def test_short_and_scale_runs_may_be_given_the_infrastructure(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@/db")
    assert parse_args([kind, "--given-infrastructure"]).given_infrastructure
    monkeypatch.delenv("DATABASE_URL")
    with pytest.raises(SystemExit):
        parse_args([kind, "--given-infrastructure"])


def test_the_full_run_is_refused_the_given_infrastructure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@/db")
    with pytest.raises(SystemExit):
        parse_args(["--given-infrastructure"])
    assert "kills the broker and PostgreSQL" in capsys.readouterr().err
    assert not parse_args(["--short"]).given_infrastructure
