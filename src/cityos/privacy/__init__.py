"""Privacy and access control: who may call (OAuth2 bearer JWTs with roles and scopes), what
personal data leaves the hub (MyData consent, purpose-bound, enforced in hub hooks), and the
record of every use (audit trail). See ``docs/privacy.md``."""
