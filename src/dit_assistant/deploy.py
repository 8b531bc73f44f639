"""Fills in the deployment templates of ``deploy/`` (see ``docs/deploy.md``).

``python -m dit_assistant.deploy nginx --server-name assistant.example-clinic.org \\
    --certificate /etc/ssl/... --certificate-key /etc/ssl/... \\
    --replica 127.0.0.1:5005 --replica 127.0.0.1:5006 > dit-assistant.conf``

``python -m dit_assistant.deploy endpoints --out /run/dit-assistant/endpoints.yml`` writes the
endpoints file a Rasa server reads, as ``make run`` does: ``bot/endpoints.yml`` with the action
server's port (``ACTION_PORT``) and, with ``REDIS_URL`` set, Rasa's Redis lock store (no password
in it: the Rasa server takes that from ``REDIS_URL`` itself).

Every ``{{placeholder}}`` of the template must be given a value, and no value may carry
characters that would end an nginx directive early: a template that would come out half filled
in, or with something injected, is refused instead.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from dit_assistant.settings import PROJECT_ROOT

DEPLOY_DIR = PROJECT_ROOT / "deploy"
NGINX_TEMPLATE = DEPLOY_DIR / "nginx" / "dit-assistant.conf"
SITE_ROOT = PROJECT_ROOT / "web" / "site"
DEFAULT_ACCESS_LOG = "/var/log/nginx/dit-assistant.access.log"

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_UNSAFE = re.compile(r"[\s;{}'\"#\\$]")
_REPLICA = re.compile(r"^[A-Za-z0-9.\-]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$")


class TemplateError(ValueError):
    """A template that cannot be filled in safely."""


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{{name}}`` replaced by ``values[name]``; refuses a missing name."""
    missing = sorted({name for name in _PLACEHOLDER.findall(template) if name not in values})
    if missing:
        raise TemplateError(f"no value for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def _word(name: str, value: str) -> str:
    if not value or _UNSAFE.search(value):
        raise TemplateError(f"{name} must be one word without spaces, quotes or ;{{}}$#: {value!r}")
    return value


def nginx_config(
    *,
    server_name: str,
    certificate: str,
    certificate_key: str,
    replicas: Sequence[str],
    listen: str = "443",
    site_root: str | Path = SITE_ROOT,
    access_log: str = DEFAULT_ACCESS_LOG,
    template: Path = NGINX_TEMPLATE,
) -> str:
    """The nginx site of ``deploy/nginx/dit-assistant.conf`` for these Rasa replicas
    (``host:port`` each, the Rasa servers' own addresses)."""
    if not replicas:
        raise TemplateError("at least one --replica host:port is needed")
    for replica in replicas:
        if not _REPLICA.match(replica):
            raise TemplateError(f"a replica is host:port, such as 127.0.0.1:5005, not {replica!r}")
    servers = "\n".join(
        f"    server {replica} max_fails=1 fail_timeout=5s;" for replica in replicas
    )
    values = {
        "server_name": _word("server name", server_name),
        "certificate": _word("certificate", certificate),
        "certificate_key": _word("certificate key", certificate_key),
        "listen": _word("listen", listen),
        "site_root": _word("site root", str(site_root).rstrip("/")),
        "access_log": _word("access log", access_log),
        "rasa_servers": servers,
    }
    return render(template.read_text("utf-8"), values)


def _write_endpoints(out: Path) -> int:
    from dit_assistant.serve import runtime_endpoints
    from dit_assistant.settings import get_settings

    written = runtime_endpoints(get_settings().action_port, out.parent)
    if written != out:
        written.replace(out)
    print(f"Wrote {out}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dit_assistant.deploy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    nginx = commands.add_parser("nginx", help="the nginx site in front of the Rasa replicas")
    nginx.add_argument("--server-name", required=True, help="e.g. assistant.example-clinic.org")
    nginx.add_argument("--certificate", required=True, help="the TLS certificate chain (PEM)")
    nginx.add_argument("--certificate-key", required=True, help="its private key (PEM)")
    nginx.add_argument(
        "--replica",
        action="append",
        required=True,
        help="a Rasa server as host:port; repeat for each replica",
    )
    nginx.add_argument("--listen", default="443", help="what nginx listens on (default 443)")
    nginx.add_argument("--site-root", default=str(SITE_ROOT), help="web/site of the checkout")
    nginx.add_argument("--access-log", default=DEFAULT_ACCESS_LOG)
    endpoints = commands.add_parser(
        "endpoints", help="the endpoints file a Rasa server reads (action server, lock store)"
    )
    endpoints.add_argument("--out", required=True, type=Path, help="where to write it")
    arguments = parser.parse_args(argv)
    if arguments.command == "endpoints":
        return _write_endpoints(arguments.out)
    try:
        text = nginx_config(
            server_name=arguments.server_name,
            certificate=arguments.certificate,
            certificate_key=arguments.certificate_key,
            replicas=arguments.replica,
            listen=arguments.listen,
            site_root=arguments.site_root,
            access_log=arguments.access_log,
        )
    except TemplateError as error:
        print(f"Not rendered: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
