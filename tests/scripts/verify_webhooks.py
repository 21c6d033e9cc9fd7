#!/usr/bin/env python3
"""Verifies webhook requests with the `standardwebhooks` package (the
Standard Webhooks reference library for Python), independently of our Rust
signing code. Input on stdin, JSON:
  [{"secret": "whsec_...", "headers": {...}, "body": "<exact body text>"}, ...]
Output on stdout, JSON: one {"ok": bool, "error": str|null, "type": str|null} per input.
"""
import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def check(case):
    try:
        payload = Webhook(case["secret"]).verify(case["body"], case["headers"])
        return {"ok": True, "error": None, "type": payload.get("type")}
    except WebhookVerificationError as e:
        return {"ok": False, "error": str(e), "type": None}


def main():
    cases = json.load(sys.stdin)
    json.dump([check(c) for c in cases], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
