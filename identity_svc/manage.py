#!/usr/bin/env python
"""Django's command-line utility for identity_svc. Settings that refuse to load say why in one line."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        # Reading any setting loads the settings module, which checks the environment.
        _ = settings.INSTALLED_APPS
    except ImproperlyConfigured as error:
        sys.exit(f"identity_svc: {error}")
    execute_from_command_line(sys.argv)
