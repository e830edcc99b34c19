"""Stands in for `django.conf.settings`: People's test values (PEOPLE.md §1)."""

MAIL_PROVISIONING_API_URL = "http://dimail:8000"
MAIL_PROVISIONING_API_CREDENTIALS = "bGFfcmVnaWU6cGFzc3dvcmQ="  # base64 of la_regie:password
MAIL_PROVISIONING_API_TIMEOUT = 20
