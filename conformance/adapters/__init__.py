"""Adapters that put popular Python OAuth clients under the kit's contract, unchanged: each
keeps the library's own refresh behaviour and only maps the kit's storage to its token dict."""
