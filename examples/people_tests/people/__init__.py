"""Stand-ins for the parts of People (suitenumerique/people, `src/backend/`) its mailbox tests run.

Written after People's code, not copied: `settings` for `django.conf.settings`, `models` for
`mailbox_manager.models` (in memory instead of PostgreSQL), `factories` for its factory_boy
factories, `dimail` for its client `mailbox_manager/utils/dimail.py`, `services` for what its API
views do around the client, `backend_conftest` for `src/backend/conftest.py` (its network guard).
"""
