"""Hash credentials for the ``[auth]`` config; the value is read from stdin, never from argv.

    python -m policies.auth secret                  # scrypt$... for a client's secret_hash
    python -m policies.auth api-key                 # sha256$... for api_key_hashes
    python -m policies.auth api-key --generate      # a new random key, then its hash
    python -m policies.auth secret --generate       # a new random secret, then its hash
"""

from __future__ import annotations

import argparse
import getpass
import sys

from policies.auth.hashing import generate_credential, hash_api_key, hash_secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policies.auth",
                                     description="Hash a client secret or API key for [auth].")
    parser.add_argument("kind", choices=["secret", "api-key"])
    parser.add_argument("--generate", action="store_true",
                        help="generate a new random value, print it and then its hash")
    args = parser.parse_args(argv)
    if args.generate:
        value = generate_credential()
        print(value)
    elif sys.stdin.isatty():
        value = getpass.getpass(f"{args.kind}: ")
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        parser.error("empty value")
    print(hash_secret(value) if args.kind == "secret" else hash_api_key(value))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
