"""``okr webhook create|list|rotate|delete``: a tracker's URL and secret, per organization."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from entrypoints.cli.common import Commands, Parser, command, opened
from entrypoints.errors import USAGE, CannotStart


def create(args: argparse.Namespace) -> int:
    from consumers.trackers import UnknownTracker, get_adapter

    try:
        tracker = get_adapter(args.tracker).name
    except UnknownTracker as error:
        raise CannotStart(str(error), USAGE) from None
    if not args.org.strip():
        raise CannotStart("--org must not be blank", USAGE)
    mapping: dict[str, Any] | None = None
    if args.mapping is not None:
        try:
            mapping = json.loads(args.mapping)
        except ValueError as error:
            raise CannotStart(f"--mapping is not JSON ({error})", USAGE) from None
        if not isinstance(mapping, dict):
            raise CannotStart("--mapping must be a JSON object", USAGE)
    with opened() as runtime:
        most = runtime.settings.webhook_registrations_per_organization
        if runtime.webhooks.count(args.org) >= most:
            raise CannotStart(
                f"{args.org!r} already has {most} webhook registrations"
                " (OKR_WEBHOOK_REGISTRATIONS_PER_ORGANIZATION)"
            )
        try:
            hook = runtime.webhooks.create(args.org, tracker, mapping)
        except ValueError as error:
            raise CannotStart(str(error), USAGE) from None
    print(f"id      {hook.registration_id}")
    print(f"url     {hook.url}")
    print(f"secret  {hook.secret}")
    print(f"give the url and secret to {tracker}; the secret is not shown again", file=sys.stderr)
    return 0


def listing(args: argparse.Namespace) -> int:
    with opened(create=False) as runtime:
        after = None
        while True:
            page = runtime.webhooks.page(args.org, 500, after)
            for hook in page.registrations:
                rotated = f"  rotated={hook.rotated_at}" if hook.rotated_at else ""
                print(
                    f"{hook.registration_id}  org={hook.organization_id}  tracker={hook.tracker}"
                    f"  url={hook.url}  created={hook.created_at}{rotated}"
                )
            if page.last is None:
                break
            after = page.last
    return 0


def rotate(args: argparse.Namespace) -> int:
    with opened(create=False) as runtime:
        hook = runtime.webhooks.rotate(args.registration_id, args.org)
    if hook is None:
        raise CannotStart(f"no webhook registration {args.registration_id!r}")
    print(f"secret  {hook.secret}")
    print("the old secret no longer verifies; the new one is not shown again", file=sys.stderr)
    return 0


def delete(args: argparse.Namespace) -> int:
    with opened(create=False) as runtime:
        deleted = runtime.webhooks.delete(args.registration_id, args.org)
    if not deleted:
        raise CannotStart(f"no webhook registration {args.registration_id!r}")
    print(f"deleted {args.registration_id}")
    return 0


def add_commands(commands: Commands) -> None:
    webhook = command(
        commands,
        "webhook",
        "manage webhook registrations (one URL and secret each)",
        "okr webhook create --org acme --tracker github",
    )
    actions: Any = webhook.add_subparsers(dest="webhook_command", required=True, metavar="ACTION")
    parser: Parser = command(
        actions,
        "create",
        "register a tracker; prints id, url and secret",
        "okr webhook create --org acme --tracker github",
        create,
    )
    parser.add_argument("--org", required=True, help="organization deliveries land in")
    parser.add_argument(
        "--tracker", required=True, help="github, gitlab, jira, linear, azure_devops"
    )
    parser.add_argument(
        "--mapping",
        help="a JSON mapping: labels, statuses, columns, estimate_field, estimate_labels",
    )
    parser = command(
        actions,
        "list",
        "list registrations (never the secrets)",
        "okr webhook list --org acme",
        listing,
    )
    parser.add_argument("--org", help="only this organization's registrations")
    for action, run, what in (
        ("rotate", rotate, "give a registration a new secret and print it once"),
        ("delete", delete, "delete a registration: its URL answers 404 from then on"),
    ):
        parser = command(actions, action, what, f"okr webhook {action} wh_0123abcd --org acme", run)
        parser.add_argument("registration_id", help="the id printed by `okr webhook create`")
        parser.add_argument("--org", help="refuse unless the registration is this organization's")
