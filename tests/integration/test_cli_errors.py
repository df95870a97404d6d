"""The CLI from a user's fresh shell: AWS set-up mistakes are one sentence and exit 2, never a traceback.

``huracan feed`` as the README shows it (``--stack huracan-local --endpoint <the demo's URL>``) must work without
any AWS configuration; without an endpoint and without a region it must say so. A stack that is not there, an
endpoint nobody answers on, ``--days 0`` and a workspace that already holds a run are each refused plainly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from huracan.cli import main
from huracan.data import find_data_file
from huracan.local.aws import LOCAL_REGION, EmbeddedAws
from huracan.local.stack import LocalStack

STACK = "huracan-cli-errors"
_AWS_VARS = (
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
)


@pytest.fixture(scope="module")
def stack(moto_aws: EmbeddedAws) -> Iterator[LocalStack]:
    yield LocalStack(moto_aws, stack_name=STACK).deploy()


@pytest.fixture(autouse=True)
def _own_environment() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def fresh_shell(tmp_path: Path) -> None:
    """No region, no credentials, no endpoint, no AWS config files: a new user's terminal."""
    for k in _AWS_VARS:
        os.environ.pop(k, None)
    os.environ["AWS_CONFIG_FILE"] = str(tmp_path / "no-config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "no-credentials")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def _err_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip()


def test_the_embedded_stacks_region_is_what_the_cli_assumes_on_loopback() -> None:
    from huracan.adapters.stack_outputs import EMBEDDED_REGION

    assert EMBEDDED_REGION == LOCAL_REGION


def test_feed_as_the_readme_shows_it_works_from_a_fresh_shell(
    stack: LocalStack, moto_aws: EmbeddedAws, fresh_shell: None, capsys
) -> None:
    assert main(["feed", "--stack", STACK, "--endpoint", moto_aws.endpoint, "--once"]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_feed_without_a_region_says_so(fresh_shell: None, capsys) -> None:
    assert main(["feed", "--stack", STACK, "--once"]) == 2
    assert _err_line(capsys).startswith("huracan: no AWS region is configured")


@pytest.mark.parametrize(
    "argv",
    [
        ["feed", "--once"],
        ["replay", "--data", "{data}"],
        ["backfill", "--data", "{data}", "--symbol", "BTC-USD"],
        ["models", "{stack}", "list"],
        ["report", "--day", "2022-01-01"],
    ],
    ids=["feed", "replay", "backfill", "models", "report"],
)
def test_a_stack_that_is_not_there_is_one_sentence(
    argv: list[str], stack: LocalStack, moto_aws: EmbeddedAws, fresh_shell: None, capsys
) -> None:
    data = str(find_data_file("coinbase_ETHUSD_1m_4days_2017-2018.csv.gz"))
    where = ["--stack", "no-such-stack", "--endpoint", moto_aws.endpoint]
    args = [a.replace("{data}", data) for a in argv if a != "{stack}"]
    args = [*args[:1], *where, *args[1:]] if argv[0] == "models" else [*args, *where]
    assert main(args) == 2
    assert _err_line(capsys) == f"huracan: no stack named 'no-such-stack' at {moto_aws.endpoint}"


def test_models_reads_a_stacks_registry(stack: LocalStack, moto_aws: EmbeddedAws, fresh_shell: None, capsys) -> None:
    assert main(["models", "--stack", STACK, "--endpoint", moto_aws.endpoint, "list"]) == 0
    assert f"no models in s3://{stack.physical['ModelBucket']}/models" in capsys.readouterr().out


def test_an_endpoint_nobody_answers_on(fresh_shell: None, capsys) -> None:
    os.environ["AWS_MAX_ATTEMPTS"] = "1"
    assert main(["feed", "--stack", STACK, "--endpoint", "http://127.0.0.1:9", "--once"]) == 2
    assert "nothing answers at http://127.0.0.1:9" in _err_line(capsys)


@pytest.mark.parametrize("days", ["0", "-3", "two"])
def test_days_below_one_is_refused_before_anything_starts(days: str, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["replay", "--data", "x.csv", "--days", days])
    assert exc.value.code == 2
    assert "--days must be" in capsys.readouterr().err


def test_a_workspace_that_holds_a_run_is_refused_before_the_stack_starts(tmp_path: Path, capsys) -> None:
    ws = tmp_path / "w"
    ws.mkdir()
    (ws / "summary.json").write_text("{}")
    data = str(find_data_file("coinbase_ETHUSD_1m_4days_2017-2018.csv.gz"))
    assert main(["replay", "--data", data, "--days", "1", "--workspace", str(ws), "--no-progress"]) == 2
    assert _err_line(capsys) == f"huracan: {ws} already holds a run; choose another --workspace or remove it"
