"""`memorygraph token` and the checks `memorygraph serve --transport http` makes before
it listens: one-line errors naming the flag, the right exit codes."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from memorygraph.cli.main import main
from memorygraph.principal import Principal
from memorygraph.tokens import TokenFile


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tokens = tmp_path / "tokens.json"
    code, token, err = run(
        capsys, "token", "create", "alice", "--tokens", str(tokens),
        "--namespace", "team-a", "--namespace", "shared", "--scope", "write", "--scope", "read",
    )  # fmt: skip
    assert code == 0 and err == ""
    token = token.strip()
    assert token.startswith("mgt_") and len(token) > 40
    assert os.stat(tokens).st_mode & 0o777 == 0o600
    assert token not in tokens.read_text()
    file = TokenFile(tokens)
    assert file.principal_of(token) == Principal(
        "alice", ("team-a", "shared"), frozenset({"read", "write"})
    )
    assert file.principal_of(token + "x") is None
    assert file.principal_of("not-a-token") is None

    code, out, _ = run(capsys, "token", "list", "--tokens", str(tokens), "--json")
    listed = orjson.loads(out)
    assert [(e["principal"], e["namespaces"], e["scopes"]) for e in listed] == [
        ("alice", ["team-a", "shared"], ["read", "write"])
    ]

    code, out, _ = run(capsys, "token", "revoke", listed[0]["id"], "--tokens", str(tokens))
    assert code == 0 and "revoked 1 token" in out
    assert file.principal_of(token) is None
    code, _, err = run(capsys, "token", "revoke", "alice", "--tokens", str(tokens))
    assert code == 1 and "no token with id or principal 'alice'" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--namespace", "a", "--scope", "owner"], "--scope"),
        (["--namespace", " ", "--scope", "read"], "(--namespace)"),
        (["--scope", "read"], "--namespace"),
        (["--namespace", "a"], "--scope"),
    ],
)
def test_create_refuses_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    tokens = tmp_path / "tokens.json"
    code, out, err = run(capsys, "token", "create", "bob", "--tokens", str(tokens), *args)
    assert code == 2 and out == ""
    assert says in err and err.count("\n") == 1
    assert not tokens.exists()


def test_a_link_at_the_token_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text("{}")
    (tmp_path / "tokens.json").symlink_to(target)
    code, _, err = run(
        capsys, "token", "create", "bob", "--tokens", str(tmp_path / "tokens.json"),
        "--namespace", "a", "--scope", "read",
    )  # fmt: skip
    assert code == 2 and "link" in err
    assert target.read_text() == "{}"


def test_serve_refuses_the_network_without_authentication(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "memory.db")
    code, _, err = run(capsys, "serve", "--transport", "http", "--host", "0.0.0.0", "--path", db)
    assert code == 2 and err.count("\n") == 1
    assert "--host 0.0.0.0 is not a loopback address" in err
    for flag in ("--tokens", "--jwt-secret-env", "--jwt-jwks-url", "--jwt-public-key"):
        assert flag in err
    assert not Path(db).exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--tokens", "t.json"], "need --transport http"),
        (["--transport", "http", "--jwt-secret-env", "NO_SUCH_VARIABLE_SET", "--jwt-audience",
          "a"], "NO_SUCH_VARIABLE_SET"),
        (["--transport", "http", "--jwt-secret-env", "HOME"], "--jwt-audience"),
        (["--transport", "http", "--jwt-audience", "a"], "exactly one of --jwt-secret-env"),
    ],
)  # fmt: skip
def test_serve_refuses_incomplete_http_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    code, _, err = run(capsys, "serve", "--path", str(tmp_path / "m.db"), *args)
    assert code == 2 and says in err and err.count("\n") == 1


def test_serve_refuses_a_missing_or_foreign_token_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "memory.db")
    tokens = tmp_path / "tokens.json"
    code, _, err = run(
        capsys, "serve", "--transport", "http", "--path", db, "--tokens", str(tokens)
    )
    assert code == 2 and "does not exist" in err and "memorygraph token create" in err
    tokens.write_text('{"tokens": "mgt_not_a_hash"}')
    code, _, err = run(
        capsys, "serve", "--transport", "http", "--path", db, "--tokens", str(tokens)
    )
    assert code == 2 and "not a memorygraph token file" in err and "(--tokens)" in err
    assert "mgt_not_a_hash" not in err
