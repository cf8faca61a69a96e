"""to_curl: parsed back with shlex, piece by piece; secrets only as $ENV references."""

from __future__ import annotations

import base64
import shlex
import shutil
import subprocess

import pytest

from assay.core.records import Request
from assay.core.secrets import Secrets
from assay.http import to_curl

NASTY = "it's \"quoted\" $HOME `date` \\ back\nnew line !bang"


def words(command: str) -> list[str]:
    return shlex.split(command)


def test_simple_get_matches_the_report_format():
    command = to_curl(Request("GET", "http://127.0.0.1:8000/books?limit=51"), Secrets())
    assert command == "curl -X GET 'http://127.0.0.1:8000/books?limit=51'"


def test_every_header_and_the_body_survive_a_round_trip_through_the_shell_parser():
    request = Request(
        "POST", "http://h:8000/books?q=a%20b&x='y'",
        [("Content-Type", "application/json"), ("X-Nasty", NASTY), ("X-Dup", "1"),
         ("X-Dup", "2"), ("X-Empty", "")],
        b'{"title": "Dune\'s $PATH"}',
    )
    parsed = words(to_curl(request, Secrets()))
    assert parsed[:4] == ["curl", "-X", "POST", "http://h:8000/books?q=a%20b&x='y'"]
    headers = [parsed[i + 1] for i, w in enumerate(parsed) if w == "-H"]
    assert headers == ["Content-Type: application/json", f"X-Nasty: {NASTY}", "X-Dup: 1",
                       "X-Dup: 2", "X-Empty;"]
    assert parsed[parsed.index("--data-binary") + 1] == '{"title": "Dune\'s $PATH"}'


def test_headers_curl_writes_itself_are_left_out():
    request = Request("GET", "http://h:8000/", [
        ("Host", "h:8000"), ("User-Agent", "assay/0.1.0"), ("Accept-Encoding", "gzip"),
        ("Connection", "keep-alive"), ("Content-Length", "0"), ("Accept", "*/*"),
    ])
    assert words(to_curl(request, Secrets())) == ["curl", "-X", "GET", "http://h:8000/",
                                                 "-H", "Accept: */*"]
    other_host = Request("GET", "http://127.0.0.1/", [("Host", "api.example.com")])
    assert "Host: api.example.com" in words(to_curl(other_host, Secrets()))


def test_secrets_become_environment_references_and_never_appear():
    secrets = Secrets()
    secrets.add("s3cr3t-token", "ASSAY_TOKEN", "bearer token")
    secrets.add("k3y-value", "ASSAY_API_KEY", "API key")
    request = Request(
        "POST", "http://h/items?api_key=k3y-value",
        [("Authorization", "Bearer s3cr3t-token"), ("X-Mixed", "pre $x `y` s3cr3t-token!")],
        b'{"token": "s3cr3t-token"}',
    )
    command = to_curl(request, secrets)
    assert "s3cr3t-token" not in command and "k3y-value" not in command
    assert '-H "Authorization: Bearer $ASSAY_TOKEN"' in command
    parsed = words(command)
    assert parsed[3] == "http://h/items?api_key=$ASSAY_API_KEY"
    assert "Authorization: Bearer $ASSAY_TOKEN" in parsed
    assert "X-Mixed: pre $x `y` $ASSAY_TOKEN!" in parsed
    assert parsed[-1] == '{"token": "$ASSAY_TOKEN"}'


def test_a_reference_followed_by_a_name_character_is_braced():
    secrets = Secrets()
    secrets.add("abc123", "ASSAY_TOKEN")
    command = to_curl(Request("GET", "http://h/", [("X-T", "abc123_suffix")]), secrets)
    assert '"X-T: ${ASSAY_TOKEN}_suffix"' in command


def test_basic_auth_becomes_curl_user_option():
    secrets = Secrets()
    encoded = base64.b64encode(b"ann:pa55word").decode()
    secrets.add("pa55word", "ASSAY_PASSWORD")
    secrets.add(encoded, "ASSAY_PASSWORD")
    secrets.descriptions["ASSAY_USERNAME"] = "basic auth user name"
    request = Request("GET", "http://h/", [("Authorization", f"Basic {encoded}")])
    command = to_curl(request, secrets)
    assert command == 'curl -X GET \'http://h/\' -u "$ASSAY_USERNAME:$ASSAY_PASSWORD"'
    assert encoded not in command and "pa55word" not in command


def test_basic_auth_that_is_not_a_secret_is_written_as_is():
    encoded = base64.b64encode(b"demo:demo").decode()
    parsed = words(to_curl(Request("GET", "http://h/", [("Authorization", f"Basic {encoded}")]),
                           Secrets()))
    assert parsed[-2:] == ["-u", "demo:demo"]


def decode_printf(fmt: str) -> bytes:
    """What POSIX printf writes for a format with only octal escapes and plain characters."""
    out = bytearray()
    i = 0
    while i < len(fmt):
        if fmt[i] == "\\":
            out.append(int(fmt[i + 1:i + 4], 8))
            i += 4
        else:
            out.append(ord(fmt[i]))
            i += 1
    return bytes(out)


BINARY = bytes(range(256)) + b"%s '\\"


def test_binary_body_is_piped_from_printf():
    command = to_curl(Request("PUT", "http://h/blob", [], BINARY), Secrets())
    parsed = words(command)
    assert parsed[0] == "printf" and parsed[2] == "|"
    assert decode_printf(parsed[1]) == BINARY
    assert parsed[3:] == ["curl", "-X", "PUT", "http://h/blob", "--data-binary", "@-"]


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX sh")
def test_printf_part_writes_the_exact_bytes_in_a_real_shell():
    secrets = Secrets()
    secrets.add("s3cret", "ASSAY_TOKEN")
    body = b"\x00\xffbinary s3cret end"
    command = to_curl(Request("PUT", "http://h/blob", [], body), secrets)
    assert "s3cret" not in command
    printf_part = command.split(" | ", 1)[0]
    written = subprocess.run(["sh", "-c", printf_part], capture_output=True, check=True,
                             env={"ASSAY_TOKEN": "s3cret", "PATH": "/usr/bin:/bin"}).stdout
    assert written == body


def test_body_starting_with_at_is_not_read_as_a_file_by_curl():
    command = to_curl(Request("POST", "http://h/", [], b"@/etc/passwd"), Secrets())
    assert command.endswith("--data-binary @-")
    assert decode_printf(words(command)[1]) == b"@/etc/passwd"


def test_brackets_turn_off_globbing_and_head_uses_head_option():
    parsed = words(to_curl(Request("GET", "http://h/?f[a]=1"), Secrets()))
    assert parsed == ["curl", "-X", "GET", "-g", "http://h/?f[a]=1"]
    assert words(to_curl(Request("HEAD", "http://h/"), Secrets())) == ["curl", "-I", "http://h/"]
