"""Sign-in, roles and their scope, without Streamlit.

- ``roles``: the roles, the ``User`` and ``scope_for(user)``;
- ``passwords``: argon2id hashes; ``users``: the local user store, throttling and lock-out;
- ``oidc``: a user from an identity provider's claims; ``demo``: the demo accounts;
- ``sessions``: the idle timeout.

Its settings (lock-out, idle timeout, OIDC claim names) are in ``data_layer/settings.py``.
"""
