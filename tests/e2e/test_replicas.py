"""Two Rasa replicas on real PostgreSQL and Redis servers, one action server, and nginx in front
of them as ``deploy/nginx/dit-assistant.conf`` ships it.

- One conversation whose turns alternate between the replicas (through the enquiry form, with a
  crisis turn in the middle of it) ends exactly as the same conversation on one replica: the
  same intents and actions stored, the same enquiry saved.
- Messages for one conversation sent to both replicas while each other's turns are under way
  are handled one at a time (Rasa's lock, in Redis) and none is lost.
- The message gate's per-sender limit and a platform's redelivered update hold across replicas.
- Through nginx: TLS with a certificate made here, the widget's socket.io and a platform webhook
  reach the replicas (the same Telegram chat always the same replica), the page assets are
  served, and the REST channel, the dashboard's pages and Rasa's own endpoints are not reachable.

The replicas are started in parallel, as ``make run`` starts its Rasa server, with ``REDIS_URL``
set: the endpoints file they read names Rasa's Redis lock store.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from dit_assistant.deploy import SITE_ROOT as SITE
from dit_assistant.deploy import nginx_config
from dit_assistant.serve import _environment, runtime_endpoints
from dit_assistant.settings import get_settings
from dit_assistant.store import open_database
from dit_assistant.store.crypto import EnquiryCipher, generate_key
from dit_assistant.store.management import list_enquiries
from tests.fixtures.actions import action_server
from tests.fixtures.conversations import stored_events
from tests.fixtures.platforms import FakePlatforms, fake_platforms
from tests.fixtures.ports import free_port
from tests.fixtures.servers import RunningServer, start_replicas, terminate
from tests.fixtures.services import RedisServer, nginx_or_skip, postgres_server, redis_server
from tests.fixtures.widget import WidgetClient
from tests.fixtures.widget import texts as widget_texts

RATE = 16
"""MAX_MESSAGES_PER_MINUTE of the replicas: above any one conversation here but the limit's."""
TELEGRAM_TOKEN = "123456789:TEST-telegram-token"
TELEGRAM_SECRET = "telegram-secret-0123456789"
NAME = "Rosalind Featherstonehaugh"
PHONE = "07824 358911"
REFERENCE = re.compile(r"\bDIT-[A-Z0-9]{5}\b")
TOO_FAST = "You're sending messages faster than I can read them"


@dataclass
class Cluster:
    replicas: list[RunningServer]
    redis: RedisServer
    database_url: str
    cipher: EnquiryCipher
    fake: FakePlatforms
    workdir: Path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("replicas")
    with ExitStack() as stack:
        postgres = stack.enter_context(postgres_server())
        redis = stack.enter_context(redis_server())
        fake = stack.enter_context(fake_platforms())
        key = generate_key()
        env = _environment()
        env.update(
            DATABASE_URL=postgres.create_database(),
            ENQUIRY_KEYS=key,
            REDIS_URL=redis.url,
            DIT_VAR_DIR=str(workdir / "var"),
            MAX_MESSAGES_PER_MINUTE=str(RATE),
            TRUSTED_PROXIES="127.0.0.1",
            TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
            TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
            TELEGRAM_WEBHOOK_URL="https://assistant.example-clinic.org/webhooks/telegram/webhook",
            TELEGRAM_API_BASE=fake.url("telegram"),
        )
        webhook = stack.enter_context(action_server(workdir, env))
        endpoints = runtime_endpoints(urlsplit(webhook).port or 0, workdir, redis_url=redis.url)
        assert "lock_store" in endpoints.read_text()
        started = start_replicas(
            env, endpoints, [workdir / "replica-a", workdir / "replica-b"], stack
        )
        yield Cluster(
            replicas=[RunningServer(f"http://127.0.0.1:{port}", env) for _, port in started],
            redis=redis,
            database_url=env["DATABASE_URL"],
            cipher=EnquiryCipher((key,)),
            fake=fake,
            workdir=workdir,
        )


def _texts(reply: Any) -> str:
    return "\n".join(m.get("text", "") for m in reply) if isinstance(reply, list) else ""


def _say(server: RunningServer, sender: str, message: str, expected: str) -> str:
    status, reply = server.send(sender, message)
    assert status == 200, (message, reply)
    assert expected in _texts(reply), (message, _texts(reply))
    return _texts(reply)


# ------------------------------------------------------------ one conversation, two replicas
ENQUIRY = [
    ("I'd like to book an appointment", "18 or over"),
    ("yes", "What name"),
    (NAME, "How would you like the team to contact you?"),
    ("phone", "What phone number"),
    ("I want to kill myself", "Are you safe right now?"),  # mid-form: the crisis reply
    ("what is DIT?", "DIT"),
    ("I'd like to carry on with my enquiry", "What phone number"),
    (PHONE, "good time to contact you"),
    ("weekday mornings", "optional"),
    ("skip", "store these details"),
    ("yes", "Here is what I'll send"),
    ("yes", "Your reference is"),
]


def _stored_steps(database_url: str, sender_id: str) -> list[tuple[str, str | None, str | None]]:
    """What a conversation's stored rows say in plain text: event types, intents, actions."""
    with open_database(database_url).engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT type_name, intent_name, action_name FROM conversation_events "
                "WHERE sender_id = :sender ORDER BY id"
            ),
            {"sender": sender_id},
        ).all()
    return [tuple(row) for row in rows]


def test_a_conversation_alternating_between_replicas_ends_as_on_one_replica(cluster):
    one, two = cluster.replicas
    emergency = get_settings().helplines.emergency
    references = {}
    for label, route in [("alone", [one] * len(ENQUIRY)), ("alternating", [one, two] * 6)]:
        sender = f"{label}-{uuid.uuid4().hex}"
        for server, (message, expected) in zip(route, ENQUIRY, strict=True):
            reply = _say(server, sender, message, expected)
            if message == "I want to kill myself":
                assert emergency in reply and "What phone number" not in reply
        references[label] = (sender, REFERENCE.search(reply).group(0))

    alone, alternating = (references[k][0] for k in ("alone", "alternating"))
    steps = _stored_steps(cluster.database_url, f"rest:{alternating}")
    assert steps == _stored_steps(cluster.database_url, f"rest:{alone}")
    assert ("user", "risk_suicide", None) in steps
    enquiries = {
        e.reference: e
        for e in list_enquiries(open_database(cluster.database_url), cipher=cluster.cipher)
    }
    saved = [enquiries[reference] for _, reference in references.values()]
    assert [(e.preferred_name, e.contact_detail, e.priority) for e in saved] == [
        (NAME, "+447824358911", True)
    ] * 2
    conversation = json.dumps(
        stored_events(open_database(cluster.database_url), cluster.cipher, f"rest:{alternating}")
    )
    assert "Featherstonehaugh" not in conversation and "358911" not in conversation


# ------------------------------------------------------------- concurrent messages, one lock
QUESTIONS = [
    "what is DIT?",
    "how many sessions does DIT have?",
    "how much does it cost?",
    "is it confidential?",
    "can I have sessions online?",
    "what evidence is there for DIT?",
]
STAGGER_S = 0.01
"""Between the starts of the concurrent messages: the turns themselves (30 ms or more even on a
quiet, warmed-up machine, and a waiting turn polls the lock once a second) always overlap. At
50 ms a warm replica could finish a turn before the next message came, and no message would
wait. Rasa's own Redis lock store read and wrote a ticket as two commands, so on a busy machine
a ticket given back on one replica while the other took one could come back and hold every
later message for a minute; the lock store the replicas use makes each change atomic
(``tests/e2e/test_lock_store.py``)."""


def _watch_lock(
    redis: RedisServer,
    key: str,
    ready: threading.Event,
    stop: threading.Event,
    seen: list[dict],
) -> None:
    """Every value the lock is set to, from Redis's own MONITOR stream of commands.

    Reading the key every few milliseconds missed a value with two tickets that lived for less
    than a poll whenever the machine was busy (the watcher thread then waits for the CPU too);
    MONITOR delivers every command the server ran, in order, however late it is read.
    """
    with redis.client().monitor() as monitor:
        ready.set()
        for command in monitor.listen():
            if stop.is_set():
                return
            parts = command["command"].split(" ", 2)
            if len(parts) == 3 and parts[0].upper() == "SET" and parts[1] == key:
                # MONITOR escapes each backslash of the value; redis-py undoes only the quotes'
                # escapes, and the tickets are JSON strings inside the JSON.
                value, _ = json.JSONDecoder().raw_decode(parts[2].replace("\\\\", "\\"))
                seen.append(value)


def test_concurrent_messages_for_one_conversation_are_handled_one_at_a_time(cluster):
    one, two = cluster.replicas
    sender = f"concurrent-{uuid.uuid4().hex}"
    _say(one, sender, "hello", "")
    ready, stop, lock_values = threading.Event(), threading.Event(), []
    watcher = threading.Thread(
        target=_watch_lock,
        args=(cluster.redis, f"dit:lock:rest:{sender}", ready, stop, lock_values),
    )
    watcher.start()
    assert ready.wait(10), "Redis MONITOR did not start"

    def send(index: int) -> tuple[float, float, int, str]:
        time.sleep(index * STAGGER_S)
        started = time.monotonic()
        status, reply = cluster.replicas[index % 2].send(sender, QUESTIONS[index])
        return started, time.monotonic(), status, _texts(reply)

    try:
        with ThreadPoolExecutor(len(QUESTIONS)) as pool:
            results = list(pool.map(send, range(len(QUESTIONS))))
    finally:
        stop.set()
        cluster.redis.client().ping()  # one more command, so that the watcher sees the stop
        watcher.join()

    assert all(status == 200 and reply for _, _, status, reply in results), results
    overlapping = sum(
        1 for (s1, e1, *_), (s2, *_) in zip(results, results[1:], strict=False) if s2 < e1
    )
    assert overlapping >= 3, results  # the messages were really in flight together
    assert lock_values, "the conversation's lock was never seen in Redis"
    assert max(len(v["tickets"]) for v in lock_values) >= 2  # some waited in turn
    assert cluster.redis.client().keys("dit:lock:*") == []  # and every lock was released

    events = stored_events(open_database(cluster.database_url), cluster.cipher, f"rest:{sender}")
    said = [e["text"] for e in events if e["event"] == "user"]
    assert sorted(said) == sorted(["hello", *QUESTIONS])  # each message once, none lost
    # One turn at a time: each message is followed by the bot's reply and the wait for the next
    # message before another message appears.
    turn: list[dict[str, Any]] = []
    for event in [*events, {"event": "user", "text": "(end)"}]:
        if event["event"] == "user" and turn:
            kinds = [(e["event"], e.get("name")) for e in turn]
            assert ("bot", None) in kinds, turn[0].get("text")
            assert kinds[-1] == ("action", "action_listen"), kinds
            turn = []
        if event["event"] == "user" or turn:
            turn.append(event)


# -------------------------------------------------- the gate's limits, shared through Redis
def _telegram_update(chat_id: int, text_: str, update_id: int | None = None) -> bytes:
    return json.dumps(
        {
            "update_id": update_id or int(uuid.uuid4().int % 10**9) + 10**9,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
                "from": {"id": chat_id, "is_bot": False, "first_name": "Test"},
                "text": text_,
            },
        }
    ).encode()


def _post(
    url: str, body: bytes, headers: dict[str, str], context: ssl.SSLContext | None = None
) -> tuple[int, str]:
    request = urllib.request.Request(url, body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60, context=context) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


TELEGRAM_HEADERS = {
    "Content-Type": "application/json",
    "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
}


def _to_chat(chat_id: int):
    return lambda s: (
        s.platform == "telegram"
        and s.method == "sendMessage"
        and str(s.body.get("chat_id")) == str(chat_id)
    )


def test_the_sender_limit_and_redelivered_updates_hold_across_replicas(cluster):
    one, two = cluster.replicas
    sender = f"flood-{uuid.uuid4().hex}"
    for number in range(RATE):
        status, reply = (one, two)[number % 2].send(sender, "hello")
        assert status == 200 and TOO_FAST not in _texts(reply), number
    for server in (one, two):
        _say(server, sender, "hello again", TOO_FAST)

    chat = int(uuid.uuid4().int % 10**9) + 10**9
    update = _telegram_update(chat, "how many sessions are there?")
    path = "/webhooks/telegram/webhook"
    assert _post(one.base_url + path, update, TELEGRAM_HEADERS)[0] == 200
    first = len(cluster.fake.wait_for(_to_chat(chat)))
    assert _post(two.base_url + path, update, TELEGRAM_HEADERS)[0] == 200  # delivered again
    time.sleep(1)
    assert len(cluster.fake.matching(_to_chat(chat))) == first


# ----------------------------------------------------------------------- nginx in front
@dataclass
class Proxy:
    base_url: str
    context: ssl.SSLContext
    access_log: Path

    def upstreams(self, path: str, at_least: int = 1) -> list[str]:
        """The replicas that answered ``path``, in order, from the access log (nginx writes a
        line when a request ends: for a WebSocket, when it closes)."""
        deadline = time.monotonic() + 10
        while True:
            lines = self.access_log.read_text().splitlines()
            found = [line.split(" ")[4] for line in lines if line.split(" ")[2] == path]
            if len(found) >= at_least or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(
                self.base_url + path, timeout=30, context=self.context
            ) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the cryptography package."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


MAIN_CONFIG = """\
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log notice;
daemon off;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    include {root}/dit-assistant.conf;
}}
"""
"""Only what a system's own nginx.conf provides around the site: paths of a throwaway prefix."""


@pytest.fixture(scope="module")
def proxy(cluster) -> Iterator[Proxy]:
    nginx = nginx_or_skip()
    # Not under pytest's tmp_path: as root, nginx's workers run as nobody and must reach it.
    root = Path(tempfile.mkdtemp(prefix="dit-nginx-"))
    root.chmod(0o755)
    (root / "tmp").mkdir(mode=0o777)
    (root / "tmp").chmod(0o777)
    certificate, key = _certificate(root)
    port = free_port()
    site = nginx_config(
        server_name="127.0.0.1",
        certificate=str(certificate),
        certificate_key=str(key),
        replicas=[urlsplit(r.base_url).netloc for r in cluster.replicas],
        listen=f"127.0.0.1:{port}",
        access_log=str(root / "access.log"),
    )
    (root / "dit-assistant.conf").write_text(site)
    (root / "nginx.conf").write_text(MAIN_CONFIG.format(root=root))
    command = [str(nginx), "-p", str(root), "-e", str(root / "error.log")]
    command += ["-c", str(root / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    context = ssl.create_default_context(cafile=str(certificate))
    base_url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (root / "error.log").read_text()
            try:
                urllib.request.urlopen(f"{base_url}/assets/site.css", timeout=2, context=context)
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not answer"
                time.sleep(0.2)
        yield Proxy(base_url, context, root / "access.log")
    finally:
        terminate(process, timeout=20)
        errors = (root / "error.log").read_text(errors="replace")
        shutil.rmtree(root, ignore_errors=True)
    assert "[emerg]" not in errors and "[crit]" not in errors, errors[-2000:]


def test_tls_serves_the_page_assets_and_refuses_plain_http_and_untrusted_clients(proxy):
    status, body = proxy.get("/assets/dit-widget.js")
    assert status == 200 and body == (SITE / "assets" / "dit-widget.js").read_bytes()
    assert proxy.get("/vendor/webchat.js")[0] == 200
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(proxy.base_url + "/assets/site.css", timeout=10)
    plain = proxy.base_url.replace("https://", "http://")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(plain + "/assets/site.css", timeout=10)
    assert refused.value.code == 400


def test_the_widget_reaches_a_replica_over_a_websocket_through_the_proxy(proxy, cluster):
    async def chat() -> tuple[str, str]:
        client = WidgetClient(proxy.base_url, websocket_extra_options={"ssl": proxy.context})
        await client.connect()
        try:
            answer = widget_texts(await client.say("how many sessions does DIT have?"))
            crisis = widget_texts(await client.say("I want to end my life"))
        finally:
            await client.close()
        return answer, crisis

    answer, crisis = asyncio.run(chat())
    assert "16" in answer, answer
    assert get_settings().helplines.emergency in crisis, crisis
    replicas = {urlsplit(r.base_url).netloc for r in cluster.replicas}
    used = set(proxy.upstreams("/socket.io/"))
    assert used and used <= replicas, used  # one client address: one replica


def test_a_platform_webhook_reaches_the_replica_of_its_sender(proxy, cluster):
    path = "/webhooks/telegram/webhook"
    chats = [int(uuid.uuid4().int % 10**9) + 10**9 for _ in range(16)]
    for chat in chats:
        status, _ = _post(
            proxy.base_url + path, _telegram_update(chat, "hello"), TELEGRAM_HEADERS, proxy.context
        )
        assert status == 200
    first = proxy.upstreams(path, at_least=len(chats))[-len(chats) :]
    for chat in chats[:3]:  # the same chats again, with other questions
        for question in ("what is DIT?", "how much does it cost?"):
            update = _telegram_update(chat, question)
            assert _post(proxy.base_url + path, update, TELEGRAM_HEADERS, proxy.context)[0] == 200
    again = proxy.upstreams(path, at_least=len(chats) + 6)[-6:]
    assert again == [first[0], first[0], first[1], first[1], first[2], first[2]]
    replicas = {urlsplit(r.base_url).netloc for r in cluster.replicas}
    assert set(first) == replicas, first  # sixteen chats: both replicas get some
    for chat in chats:
        assert cluster.fake.wait_for(_to_chat(chat))
    forged = dict(TELEGRAM_HEADERS, **{"X-Telegram-Bot-Api-Secret-Token": "wrong"})
    update = _telegram_update(chats[0], "hello")
    assert _post(proxy.base_url + path, update, forged, proxy.context)[0] == 403  # the replica's


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks/rest/webhook",
        "/webhooks/rest/ready",
        "/",
        "/login",
        "/enquiries",
        "/statistics",
        "/health",
        "/webhook",
        "/version",
        "/status",
        "/conversations/rest:someone/tracker",
        "/webhooks/telegram/webhook/../../rest/webhook",
        "/webhooks/twilio/webhooks",
        "/assets/../../../bot/endpoints.yml",
    ],
)
def test_nothing_else_is_reachable_through_the_proxy(proxy, cluster, path):
    status, body = proxy.get(path)
    assert status in (400, 404), (path, status)
    assert b"rasa" not in body.lower() and b"Rasa" not in body, body[:200]
    if path == "/webhooks/rest/webhook":
        direct = cluster.replicas[0].send(f"direct-{uuid.uuid4().hex}", "hello")
        assert direct[0] == 200  # the replica itself answers it; the proxy does not forward it
        message = json.dumps({"sender": "outsider", "message": "hello"}).encode()
        headers = {"Content-Type": "application/json"}
        assert _post(proxy.base_url + path, message, headers, proxy.context)[0] == 404


def test_the_access_log_holds_no_client_addresses_query_strings_or_senders(proxy):
    log = proxy.access_log.read_text()
    assert log
    assert "?" not in log and "EIO=" not in log and "sid=" not in log
    for line in log.splitlines():
        # time, method, path (empty for a request nginx refused as malformed), status, replica,
        # duration
        fields = line.split(" ")
        assert len(fields) == 6, line
        assert fields[4] == "-" or fields[4].startswith("127.0.0.1:"), line  # the replica only


# ------------------------------------------------------------ Redis gone (last: it stops it)
def test_with_redis_stopped_the_replicas_still_answer_and_say_so_in_the_log(cluster):
    one, two = cluster.replicas
    cluster.redis.process.terminate()
    cluster.redis.process.wait(timeout=20)
    sender = f"no-redis-{uuid.uuid4().hex}"
    crisis = _say(one, sender, "I want to kill myself", "Are you safe right now?")
    assert get_settings().helplines.emergency in crisis
    _say(two, sender, "how many sessions does DIT have?", "16")
    _say(one, sender, "I'd like to book an appointment", "18 or over")
    _say(two, sender, "yes", "What name")  # the conversation goes on across the replicas
    logs = "".join(
        path.read_text(errors="replace") for path in cluster.workdir.glob("replica-*/rasa-*.log")
    )
    assert "the conversation lock could not be taken" in logs
    assert "the shared rate limits (REDIS_URL) cannot be reached" in logs
    assert "kill myself" not in logs
