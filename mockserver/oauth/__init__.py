"""Expiring offline access tokens with rotating refresh tokens (seed 004), third-party
authorizations that merchants revoke (seed 003), and the OAuth RFCs the mock follows."""
