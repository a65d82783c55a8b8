#!/usr/bin/env python3
"""A small Django site that knows nothing about payments: its own login,
an account page that shows who is signed in, free and "premium" pages.
The gateway tests run it behind Caddy and the paywall."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangosite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
