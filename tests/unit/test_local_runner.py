"""The local runner as a newcomer meets it (issue 16's findings): the user's sources are served,
the printout says where the demo secret is, two stacks can run side by side, several instances
of each service get their own ports and member ids, Maven prints no colour codes."""

from __future__ import annotations

import dataclasses
import io
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from winback_ingest.vendors import INTAKES
from winback_ingest.vendors.base import SignatureError, Signed
from winback_ingest.vendors.standard_webhooks import verify
from winback_local import cli
from winback_local.commands import run, send
from winback_local.kafka import MAVEN_FETCH, fetch_quietly, free_port
from winback_local.processes import last_error
from winback_local.stack import (
    DEMO_AGENT,
    DEMO_FLOOR_AGENT,
    OUTBOUND_KEYS_VARIABLE,
    Instances,
    Stack,
    StackInfo,
    StartCancelled,
    outbound_keys,
    serves_own_sources,
    service_environment,
)
from winback_local.stack_info import service_of
from winback_local.vendor_signing import configured_source
from winback_notifier.outbound.sealing import SecretBox
from winback_shared.sources import (
    STANDARD_WEBHOOKS_VENDORS,
    SourceConfig,
    Vendor,
    decode_standard_webhooks_secret,
)
from winback_shared.standard_webhooks import new_secret

USER_SOURCES = json.dumps({"typeform-nps": {"vendor": "typeform", "secrets": ["abc"]}})


def test_the_users_sources_are_served_and_no_demo_source_is_added() -> None:
    environ = {"WINBACK_SOURCES": USER_SOURCES, "DATABASE_URL": "postgresql://admin@db/x"}
    assert serves_own_sources(environ)
    env = service_environment(environ, demo_secret=None, bootstrap="127.0.0.1:9092")
    assert env["WINBACK_SOURCES"] == USER_SOURCES
    assert "DATABASE_URL" not in env, "services get their own login, never the administrator's"


def test_a_sources_file_counts_as_the_users_sources_too() -> None:
    assert serves_own_sources({"WINBACK_SOURCES_FILE": "/etc/winback/sources.toml"})
    assert not serves_own_sources({})
    assert not serves_own_sources({"WINBACK_SOURCES": ""})


def test_without_sources_the_demo_source_is_the_only_one() -> None:
    env = service_environment({}, demo_secret="whsec_x", bootstrap="b:9092", partitions=12)
    assert json.loads(env["WINBACK_SOURCES"]) == {
        "demo": {"vendor": "generic", "secrets": ["whsec_x"]}
    }
    assert env["WINBACK_TOPIC_PARTITIONS"] == "12"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "b:9092"


def test_a_harness_signs_with_the_demo_source_whatever_the_user_configured() -> None:
    environ = {"WINBACK_SOURCES": USER_SOURCES, "WINBACK_SOURCES_FILE": "s.toml"}
    assert not serves_own_sources(environ, demo_only=True)
    env = service_environment(environ, demo_secret="whsec_x", bootstrap="b:9092")
    assert "WINBACK_SOURCES_FILE" not in env
    assert list(json.loads(env["WINBACK_SOURCES"])) == ["demo"]


def info(**overrides: object) -> StackInfo:
    values: dict[str, object] = {
        "ingest_url": "http://127.0.0.1:8000",
        "notifier_url": "http://127.0.0.1:8002",
        "router_url": "http://127.0.0.1:8001",
        "source": "demo",
        "secret": "whsec_x",
        "agent_token": "tok",
        "kafka_bootstrap_servers": "127.0.0.1:9092",
        "database_url": "postgresql://x",
        "instance_urls": {"ingest": "http://127.0.0.1:8000", "router-2": "http://127.0.0.1:9"},
        "secret_path": "/repo/.winback/demo-secret",
    }
    return StackInfo(**{**values, **overrides})  # type: ignore[arg-type]


def test_the_printout_says_where_the_demo_secret_is_and_lists_extra_instances() -> None:
    text = run.describe(info(), Path("/repo/.winback"))
    assert "cat /repo/.winback/demo-secret" in text
    assert "router-2" in text and "http://127.0.0.1:9" in text
    assert "/#token=tok" in text and "/ops#token=tok" in text
    assert "winback send --nps 2" in text and "winback send --file response.json" in text


def test_the_printout_offers_the_demo_agents_console_first_and_the_supervisors_beside_it() -> None:
    lines = run.describe(info(floor_token="floor"), Path(".winback")).splitlines()
    consoles = [line for line in lines if "#token=" in line]
    assert "Agent console" in consoles[0] and "/#token=floor" in consoles[0]
    assert "demo-floor-agent" in consoles[0]
    assert "Supervisor" in consoles[1] and "/#token=tok" in consoles[1]
    assert "/ops#token=tok" in consoles[2]  # the ops page is the supervisor's
    # A stack file from before the demo had an agent: its one console, as before.
    older = run.describe(info(), Path(".winback"))
    assert "Agent console   http://127.0.0.1:8002/#token=tok" in older
    assert "Supervisor" not in older


def test_each_demo_login_keeps_its_own_token_between_runs(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    assert stack._saved_token(DEMO_AGENT) is None
    stack._save_token(DEMO_AGENT, "sup")
    stack._save_token(DEMO_FLOOR_AGENT, "flo")
    assert stack._saved_token(DEMO_AGENT) == "sup"
    assert stack._saved_token(DEMO_FLOOR_AGENT) == "flo"
    assert Stack(tmp_path, new_token=True)._saved_token(DEMO_FLOOR_AGENT) is None


def test_with_the_users_sources_the_printout_names_no_demo_secret() -> None:
    text = run.describe(info(source=None, secret=None, secret_path=None), Path(".winback"))
    assert "demo-secret" not in text and "--nps" not in text  # no demo source to sign with
    assert "WINBACK_SOURCES" in text
    # A first delivery of the user's own: a vendor's body, signed as its source's vendor signs.
    assert "winback send --file PATH --source NAME" in text
    assert "http://127.0.0.1:8000/docs" in text
    with pytest.raises(SystemExit, match="your own WINBACK_SOURCES") as refused:
        info(source=None, secret=None).demo_signing()
    message = str(refused.value)
    assert "docs/sources.md" in message, "it names a document that exists"
    assert "/webhooks/<source>" in message and "unset" in message, "it says what to do"


GENERIC_BODY = '{"response_id": "r-1", "scores": [{"kind": "nps", "value": 3}]}\n'


def test_send_file_posts_the_files_bytes_signed_the_way_ingest_verifies(tmp_path: Path) -> None:
    secret = new_secret()
    path = tmp_path / "response.json"
    path.write_text(GENERIC_BODY)
    posting = send.file_request(info(secret=secret), str(path), io.StringIO())
    url, body, headers = posting.url, posting.body, posting.headers
    assert url == "http://127.0.0.1:8000/webhooks/demo"
    assert body == GENERIC_BODY.encode(), "the bytes as written, not re-serialized"
    verify(
        keys=[decode_standard_webhooks_secret(secret)],
        msg_id=headers["webhook-id"],
        timestamp=headers["webhook-timestamp"],
        signature_header=headers["webhook-signature"],
        body=body,
        now=time.time(),
        tolerance_seconds=300,
    )
    with pytest.raises(SignatureError):  # the check above can fail: other bytes do not verify
        verify(
            keys=[decode_standard_webhooks_secret(secret)],
            msg_id=headers["webhook-id"],
            timestamp=headers["webhook-timestamp"],
            signature_header=headers["webhook-signature"],
            body=body.strip(),
            now=time.time(),
            tolerance_seconds=300,
        )


def test_send_file_dash_reads_stdin() -> None:
    posting = send.file_request(info(secret=new_secret()), "-", io.StringIO(GENERIC_BODY))
    assert posting.body == GENERIC_BODY.encode()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read"),
        ("{not json", "is not JSON"),
        ("[1, 2]", "not an object"),
    ],
)
def test_send_file_refuses_a_missing_file_or_a_body_that_is_not_a_json_object(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    path = tmp_path / "response.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit, match=expected) as refused:
        send.file_request(info(secret=new_secret()), str(path), io.StringIO())
    assert str(path) in str(refused.value), "it names the file"


def test_send_file_to_a_stack_of_the_users_own_sources_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "response.json"
    path.write_text(GENERIC_BODY)
    with pytest.raises(SystemExit, match="your own WINBACK_SOURCES") as refused:
        send.file_request(info(source=None, secret=None), str(path), io.StringIO(), None, {})
    assert "--source NAME" in str(refused.value) and "docs/sources.md" in str(refused.value)


def vendor_sources() -> dict[str, dict[str, object]]:
    """One source of each vendor, as a user's WINBACK_SOURCES would define it."""
    api = {"base_url": "https://vendor.example", "token_env": "VENDOR_TOKEN"}
    sources: dict[str, dict[str, object]] = {}
    for vendor in Vendor:
        secret = new_secret() if vendor in STANDARD_WEBHOOKS_VENDORS else f"{vendor}-secret"
        sources[f"my-{vendor}"] = {"vendor": str(vendor), "secrets": [secret]}
        if vendor in (Vendor.SURVEYMONKEY, Vendor.QUALTRICS):
            sources[f"my-{vendor}"]["api"] = api
    return sources


@pytest.mark.parametrize("vendor", list(Vendor))
def test_send_file_signs_a_vendors_example_as_that_vendors_intake_verifies_it(
    tmp_path: Path, vendor: Vendor
) -> None:
    environ = {"WINBACK_SOURCES": json.dumps(vendor_sources())}
    path = tmp_path / "example.json"
    path.write_text(json.dumps(INTAKES[vendor].example, indent=2))
    stack = info(source=None, secret=None, secret_path=None)
    posting = send.file_request(stack, str(path), io.StringIO(), f"my-{vendor}", environ)
    url, body, headers = posting.url, posting.body, posting.headers
    assert url == f"http://127.0.0.1:8000/webhooks/my-{vendor}"
    config = configured_source(environ, f"my-{vendor}")
    intake = INTAKES[vendor]
    intake.authenticate(config, Signed(headers, body, time.time(), 300))
    other = new_secret() if vendor in STANDARD_WEBHOOKS_VENDORS else "another-secret"
    stranger = SourceConfig.model_validate(vendor_sources()[f"my-{vendor}"] | {"secrets": [other]})
    with pytest.raises(SignatureError):  # the check can fail: another secret does not verify
        intake.authenticate(stranger, Signed(headers, body, time.time(), 300))


def test_send_file_refuses_a_source_this_shell_does_not_define(tmp_path: Path) -> None:
    mine = json.dumps({"my-typeform": vendor_sources()["my-typeform"]})
    path = tmp_path / "example.json"
    path.write_text(GENERIC_BODY)
    with pytest.raises(SystemExit, match="no source 'nope'") as refused:
        send.file_request(info(), str(path), io.StringIO(), "nope", {"WINBACK_SOURCES": mine})
    assert "my-typeform" in str(refused.value) and "export" in str(refused.value)
    with pytest.raises(SystemExit, match="--source NAME"):
        send.file_request(info(source=None, secret=None), str(path), io.StringIO(), None, {})


def test_a_qualtrics_workflow_body_carries_the_shared_secret_as_its_token(tmp_path: Path) -> None:
    environ = {"WINBACK_SOURCES": json.dumps(vendor_sources())}
    path = tmp_path / "workflow.json"
    path.write_text('{"responseId": "R_1", "nps": 3}')
    posting = send.file_request(info(), str(path), io.StringIO(), "my-qualtrics", environ)
    assert posting.body == path.read_bytes()
    assert posting.headers["x-winback-token"] == "qualtrics-secret"


def test_send_refuses_options_that_do_not_go_together(tmp_path: Path) -> None:
    (tmp_path / "stack.json").write_text(json.dumps(dataclasses.asdict(info())))
    state = ["--state-dir", str(tmp_path)]
    with pytest.raises(SystemExit, match="--source goes with --file"):
        cli.main(["send", "--nps", "2", "--source", "my-typeform", *state])
    with pytest.raises(SystemExit, match="write them into the file"):
        cli.main(["send", "--file", "-", "--reason", "rude", *state])


def test_send_to_an_ingest_that_does_not_answer_says_so() -> None:
    with pytest.raises(SystemExit, match=r"does not answer.*make run"):
        send.post("http://127.0.0.1:9/webhooks/demo", b"{}", {})


def test_send_takes_either_a_sample_or_a_file_not_both() -> None:
    parser = cli.build_parser()
    assert parser.parse_args(["send", "--file", "-"]).file == "-"
    assert parser.parse_args(["send", "--nps", "2"]).nps == 2
    for argv in (["send"], ["send", "--nps", "2", "--file", "x.json"]):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)


def test_the_outbound_key_is_made_once_and_kept_in_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = outbound_keys({}, tmp_path)
    assert SecretBox([key]).has_keys  # a valid Fernet key
    assert outbound_keys({}, tmp_path) == key, "what was sealed yesterday must still open"
    assert (tmp_path / "outbound-secret-keys").stat().st_mode & 0o777 == 0o600
    assert outbound_keys({OUTBOUND_KEYS_VARIABLE: "theirs"}, tmp_path / "x") == "theirs"
    assert not (tmp_path / "x").exists()
    monkeypatch.delenv(OUTBOUND_KEYS_VARIABLE, raising=False)
    text = run.describe(info(), tmp_path)
    assert f'{OUTBOUND_KEYS_VARIABLE}="$(cat {tmp_path / "outbound-secret-keys"})"' in text


def test_ports_and_state_dir_are_configurable_so_two_stacks_can_run() -> None:
    parsed = cli.build_parser().parse_args(
        ["run", "--http-port", "18000", "--kafka-port", "19092", "--state-dir", "/tmp/b"]
    )
    stack = run.stack_from(parsed)
    assert (stack.ports.ingest, stack.ports.router, stack.ports.notifier) == (18000, 18001, 18002)
    assert (stack.ports.refiner, stack.ports.outbound) == (18003, 18004), (
        "a second stack's refiner and outbound must not take the first stack's 8003 and 8004"
    )
    assert (stack.ports.kafka, stack.ports.kafka_controller) == (19092, 19093)
    assert stack.state_dir == Path("/tmp/b")
    default = run.stack_from(cli.build_parser().parse_args(["run"]))
    assert (default.ports.ingest, default.ports.kafka) == (8000, 9092)
    assert default.new_token is False


def test_counts_of_each_service_and_partitions_come_from_the_command_line() -> None:
    parsed = cli.build_parser().parse_args(
        ["run", "--ingest", "2", "--routers", "3", "--notifiers", "2", "--partitions", "12"]
    )
    stack = run.stack_from(parsed)
    assert stack.instances == Instances(ingest=2, router=3, notifier=2, outbound=1)
    assert stack.partitions == 12
    assert stack.instances.names() == [
        "ingest", "ingest-2", "router", "router-2", "router-3", "notifier", "notifier-2", "refiner",
        "outbound",
    ]  # fmt: skip
    assert [service_of(n) for n in ("router-3", "notifier")] == ["router", "notifier"]
    assert "refiner" not in Instances(refiner=0).names(), "the bench's run without the refiner"
    assert "outbound" not in Instances().names(), "the harnesses run without outbound"
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["run", "--routers", "0"])


def test_each_instance_gets_its_own_port_and_router_member_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spawned: list[dict[str, str]] = []

    def fake_spawn(command: list[str], *, log_path: Path, env: dict[str, str]) -> object:
        spawned.append(env)
        return object()

    monkeypatch.setattr("winback_local.stack.spawn", fake_spawn)
    monkeypatch.delenv("WINBACK_ROUTER_INSTANCE_ID", raising=False)
    stack = Stack(tmp_path, instances=Instances(router=3))
    for name in ("router", "router-2", "router-3", "router-2"):
        stack.start_service(name)
    ports = [env["WINBACK_ROUTER_PORT"] for env in spawned]
    ids = [env["WINBACK_ROUTER_INSTANCE_ID"] for env in spawned]
    assert ports[0] == "8001" and len(set(ports[:3])) == 3
    assert ports[3] == ports[1], "a restarted instance keeps its port"
    assert ids == ["local-router", "local-router-2", "local-router-3", "local-router-2"]


def test_maven_prints_no_colour_codes() -> None:
    assert "-B" in MAVEN_FETCH and "-Dstyle.color=never" in MAVEN_FETCH
    bootstrap = (Path(__file__).resolve().parents[2] / "scripts" / "bootstrap.sh").read_text()
    assert "mvn -q -B -Dstyle.color=never" in bootstrap
    assert '>"$maven_log" 2>&1' in bootstrap, "Maven 3.8 prints resets even when quiet"


QUIET_SUCCESS = "import sys; sys.stdout.write('\\x1b[0m' * 4)"
"""What Debian's Maven 3.8 prints with ``-q -Dstyle.color=never`` when all goes well."""
FAILURE = "import sys; sys.stdout.write('\\x1b[0m[ERROR] no network'); sys.exit(3)"


def test_a_fetch_that_works_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    fetch_quietly([sys.executable, "-c", QUIET_SUCCESS])
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_a_fetch_that_fails_says_why_without_escapes() -> None:
    with pytest.raises(RuntimeError, match=r"failed \(3\):\n\[ERROR\] no network") as failure:
        fetch_quietly([sys.executable, "-c", FAILURE])
    assert "\x1b" not in str(failure.value)


def test_a_service_that_dies_at_start_is_explained_by_its_logs_last_error(tmp_path: Path) -> None:
    log = tmp_path / "refiner.log"
    bind = "[Errno 98] error while attempting to bind on address ('127.0.0.1', 8003)"
    log.write_text(
        "\n".join(
            [
                json.dumps({"level": "error", "message": "an older error"}),
                json.dumps({"level": "error", "message": bind}),
                json.dumps({"level": "info", "message": "Application shutdown complete."}),
                "Traceback (most recent call last):",
            ]
        )
    )
    assert last_error(log) == bind, "the latest error, past the info and non-JSON lines after it"
    log.write_text(json.dumps({"level": "info", "message": "started"}))
    assert last_error(log) is None
    assert last_error(tmp_path / "missing.log") is None


def test_a_stop_asked_while_waiting_for_a_service_ends_the_wait(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    stack._instance_ports["ingest"] = free_port()  # nothing listens there
    stack._services["ingest"] = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"]
    )
    try:
        with pytest.raises(StartCancelled):  # not the TimeoutError of waiting it out
            stack.wait_ready("ingest", timeout_seconds=5, should_stop=lambda: True)
    finally:
        stack._services["ingest"].kill()
        stack._services["ingest"].wait()


class _InterruptedStack:
    """A stack whose start is interrupted the way a terminal's Ctrl-C does it: the signal first
    (through the handler ``winback run`` installed), then what the start does next."""

    def __init__(self, state_dir: Path, failure: Exception | None) -> None:
        self.state_dir = state_dir
        self.failure = failure
        self.stopped = False

    def start(self, should_stop: Callable[[], bool]) -> StackInfo:
        handler = signal.getsignal(signal.SIGINT)
        assert callable(handler)
        handler(signal.SIGINT, None)
        if self.failure is not None:
            raise self.failure  # a foreground tool killed by the same Ctrl-C
        assert should_stop(), "the handler must reach the start"
        raise StartCancelled("asked to stop while starting")

    def stop(self) -> None:
        self.stopped = True


@pytest.mark.parametrize(
    "failure", [None, subprocess.CalledProcessError(130, ["java", "kafka.tools.StorageTool"])]
)
def test_ctrl_c_while_starting_stops_at_once_without_a_banner_or_a_traceback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    failure: Exception | None,
) -> None:
    stack = _InterruptedStack(tmp_path, failure)
    monkeypatch.setattr(run, "stack_from", lambda args: stack)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = cli.main(["run", "--state-dir", str(tmp_path)])
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    out = capsys.readouterr().out
    assert code == 0
    assert stack.stopped
    assert "Asked to stop while starting." in out
    assert "winback is running" not in out


def test_a_tool_failing_at_start_without_a_stop_asked_is_still_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Failing(_InterruptedStack):
        def start(self, should_stop: Callable[[], bool]) -> StackInfo:
            raise subprocess.CalledProcessError(1, ["java"])

    stack = Failing(tmp_path, None)
    monkeypatch.setattr(run, "stack_from", lambda args: stack)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(subprocess.CalledProcessError):
            cli.main(["run", "--state-dir", str(tmp_path)])
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert stack.stopped
