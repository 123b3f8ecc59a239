"""``okr token create|list|revoke``: the API's bearer tokens (only their hashes are kept)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from entrypoints.cli.common import Commands, Parser, command, opened
from entrypoints.errors import CannotStart


def create(args: argparse.Namespace) -> int:
    with opened() as runtime:
        token_id, token = runtime.tokens.create(
            args.org, args.user, args.role, expires_in=args.expires_in
        )
    print(token)
    lasts = "" if args.expires_in is None else f"; it expires in {args.expires_in}"
    print(
        f"token id {token_id} (for `okr token revoke`); only its hash is stored{lasts}",
        file=sys.stderr,
    )
    return 0


def listing(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    with opened(create=False) as runtime:
        for info in runtime.tokens.list(args.org):
            if info.revoked_at:
                state = f"revoked {info.revoked_at}"
            elif info.expired(now):
                state = "expired"
            else:
                state = "active"
            print(
                f"{info.token_id}  org={info.organization_id}  user={info.user_id}  "
                f"role={info.role}  created={info.created_at}  "
                f"expires={info.expires_at or 'never'}  {state}"
            )
    return 0


def revoke(args: argparse.Namespace) -> int:
    with opened(create=False) as runtime:
        revoked = runtime.tokens.revoke(args.token_id)
    if not revoked:
        raise CannotStart(f"no active token with id {args.token_id}")
    print(f"revoked {args.token_id}")
    return 0


def expires_in(text: str) -> timedelta:
    """argparse type for ``--expires-in``: 90d, 12h, 30m."""
    from api.tokens import parse_expires_in

    try:
        return parse_expires_in(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_commands(commands: Commands) -> None:
    token = command(
        commands,
        "token",
        "manage API bearer tokens",
        "okr token create --org acme --user alice --role admin --expires-in 90d",
    )
    actions: Any = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    parser: Parser = command(
        actions,
        "create",
        "create a token and print it once",
        "okr token create --org acme --user alice --role admin --expires-in 90d",
        create,
    )
    parser.add_argument("--org", required=True, help="organization the token is bound to")
    parser.add_argument("--user", required=True, help="user the token acts as")
    parser.add_argument(
        "--role", required=True, choices=["admin", "member", "integration"], help="token role"
    )
    parser.add_argument(
        "--expires-in",
        type=expires_in,
        default=None,
        metavar="DURATION",
        help="refuse the token after this long: Nd, Nh or Nm (e.g. 90d); default never",
    )
    parser = command(
        actions, "list", "list tokens (never the secrets)", "okr token list --org acme", listing
    )
    parser.add_argument("--org", help="only this organization's tokens")
    parser = command(
        actions,
        "revoke",
        "revoke a token by its id",
        "okr token revoke 6c1d0e2f-0000-4000-8000-000000000000",
        revoke,
    )
    parser.add_argument("token_id", help="the id printed by `okr token create`")
