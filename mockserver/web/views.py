"""The two token tools of seeds 000-002, served as pages: the merchant's API Settings and the
partner's Manage Partner Tokens, plus sign-in. They call the same services as the JSON APIs."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, session, url_for

from mockserver.api.common import services
from mockserver.api.store import find_caller
from mockserver.errors import ApiError, BearerChallenge, ValidationFailed
from mockserver.partner_access import Issued, Scope
from mockserver.partner_tokens import (
    DEFAULT_VALIDITY_DAYS,
    PartnerToken,
    check_renewable,
)
from mockserver.web.common import (
    action,
    bp,
    current_partner,
    current_store,
    describe,
    forget_signed_in,
    form_flag,
    form_ids,
    form_int,
    form_text,
    page,
    requires,
    sign_in,
    signed_in,
)

#: The renewal validity choices (seed 000: 1 day to 5 years, default 1 year).
VALIDITY_CHOICES = (
    (1, "1 day"), (7, "7 days"), (30, "30 days"), (90, "90 days"), (180, "180 days"),
    (DEFAULT_VALIDITY_DAYS, "1 year"), (730, "2 years"), (1095, "3 years"), (1461, "4 years"),
    (1826, "5 years"),
)
TABS = (("active", "Active Tokens"), ("expiring", "Expiring Tokens"), ("all", "All tokens"))


# --- sign-in ------------------------------------------------------------------------------

@bp.get("/")
def home() -> Any:
    who = signed_in()
    if who is None:
        return redirect(url_for("console.sign_in_page"))
    return redirect(url_for("console.merchant" if who[0] == "merchant" else "console.partner"))


@bp.get("/sign-in")
def sign_in_page() -> Any:
    svc = services()
    role = request.args.get("role", "merchant")
    return page("sign_in.html", role=role if role in ("merchant", "partner") else "merchant",
                stores=svc.tenants.stores(), partners=svc.tenants.partners())


def _sign_in_again() -> str:
    return url_for("console.sign_in_page", role=request.form.get("role", "merchant"))


@bp.post("/sign-in")
@action(back=_sign_in_again)
def sign_in_submit() -> Any:
    tenants = services().tenants
    if request.form.get("role") == "partner":
        client_id = form_text("client_id", "client ID", 100)
        secret = form_text("client_secret", "client secret", 200)
        try:
            partner = tenants.authenticate_partner(client_id, secret)
        except ApiError:
            raise ValidationFailed("The client ID or client secret is not right.") from None
        sign_in("partner", partner.id)
        flash(f"Signed in as partner {partner.name} ({partner.id}).", "success")
        return redirect(url_for("console.partner"))
    store_id = form_text("store_id", "store ID", 100)
    key = form_text("merchant_key", "merchant key", 200)
    try:
        store = tenants.authenticate_merchant(key)
    except ApiError:
        store = None
    if store is None or store.id != store_id:
        raise ValidationFailed("The store ID or merchant key is not right.")
    sign_in("merchant", store.id)
    flash(f"Signed in to {store.name} ({store.id}).", "success")
    return redirect(url_for("console.merchant"))


@bp.post("/sign-out")
def sign_out() -> Any:
    session.clear()
    forget_signed_in()
    flash("Signed out.", "success")
    return redirect(url_for("console.sign_in_page"))


# --- the merchant's API Settings ----------------------------------------------------------

def merchant_scope() -> Scope:
    return Scope.merchant(current_store())


def _merchant_home() -> str:
    return url_for("console.merchant")


@bp.get("/merchant")
@requires("merchant")
def merchant() -> Any:
    return merchant_page()


def merchant_page(issued: Issued | None = None, issued_note: str = "") -> Any:
    """API Settings: partners on the access list, every token of the store grouped by partner,
    and (once, right after it was made) a new token's plaintext."""
    svc = services()
    store = current_store()
    scope = Scope.merchant(store)
    now = svc.partner_access.now(scope)
    tokens = svc.partner_access.tokens(scope)
    listed = svc.partner_access.access_list(store)
    on_list = {str(p["partner_id"]) for p in listed}
    groups: list[dict[str, Any]] = [
        {"partner_id": p["partner_id"], "name": p["name"], "added_at": p["added_at"],
         "on_list": True, "tokens": []} for p in listed
    ]
    by_id = {g["partner_id"]: g for g in groups}
    for token in tokens:
        group = by_id.get(token.partner_id)
        if group is None:
            partner = svc.tenants.partner(token.partner_id)
            group = {"partner_id": partner.id, "name": partner.name, "added_at": None,
                     "on_list": False, "tokens": []}
            by_id[partner.id] = group
            groups.append(group)
        group["tokens"].append(describe(token, now))
    for group in groups:
        group["tokens"].sort(key=lambda t: (t["issued_at"], t["id"]), reverse=True)
    addable = [p for p in svc.tenants.partners(store.sandbox) if p.id not in on_list]
    return page("merchant.html", store=store, groups=groups, now=now, addable=addable,
                issued=_issued_view(issued, now), issued_note=issued_note,
                validity_choices=VALIDITY_CHOICES,
                authorizations=svc.oauth.authorizations(store))


def _issued_view(issued: Issued | None, now: Any) -> dict[str, Any] | None:
    if issued is None:
        return None
    return {"token": describe(issued.token, now), "plaintext": issued.plaintext}


@bp.post("/merchant/partners")
@requires("merchant")
@action(back=_merchant_home)
def merchant_add_partner() -> Any:
    partner_id = form_text("partner_id", "partner ID", 100)
    issued = services().partner_access.add_partner(current_store(), partner_id,
                                                    email_copy=form_flag("email_copy"))
    note = f"Partner {partner_id} was added; its token is valid for one year."
    if form_flag("email_copy"):
        note += " A copy was e-mailed to the partner."
    return merchant_page(issued, note)


@bp.get("/merchant/partners/<partner_id>/revoke-all")
@requires("merchant")
def merchant_revoke_all_confirm(partner_id: str) -> Any:
    svc = services()
    listed = {p["partner_id"] for p in svc.partner_access.access_list(current_store())}
    if partner_id not in listed:
        flash(f"Partner {partner_id} is not on the access list.", "error")
        return redirect(_merchant_home())
    scope = merchant_scope()
    now = svc.partner_access.now(scope)
    valid = [describe(t, now) for t in svc.partner_access.tokens(scope, partner_id=partner_id)
             if t.is_valid(now)]
    return page("confirm_revoke.html", mode="all", partner_id=partner_id, selected=valid,
                others=[], action_url=url_for("console.merchant_revoke_all",
                                              partner_id=partner_id),
                cancel_url=_merchant_home())


@bp.post("/merchant/partners/<partner_id>/revoke-all")
@requires("merchant")
@action(back=_merchant_home)
def merchant_revoke_all(partner_id: str) -> Any:
    revoked = services().partner_access.revoke_all(current_store(), partner_id)
    flash(f"Revoked {len(revoked)} token(s) of {partner_id} and removed it from the access "
          "list. Add the partner again to issue a fresh token.", "success")
    return redirect(_merchant_home())


@bp.get("/merchant/tokens/<token_id>/renew")
@requires("merchant")
def merchant_renew_form(token_id: str) -> Any:
    return _renew_form("merchant", token_id)


@bp.post("/merchant/tokens/<token_id>/renew")
@requires("merchant")
@action(back=_merchant_home)
def merchant_renew(token_id: str) -> Any:
    days = form_int("validity_days", "validity")
    copy = form_flag("email_copy")
    issued = services().partner_access.renew(merchant_scope(), token_id, validity_days=days,
                                             email_copy=copy)
    note = (f"Token {token_id} was renewed: it is now marked Renewed and keeps working until "
            "its own expiry. The new token is marked New. Both sides were notified by e-mail.")
    if copy:
        note += " A copy of the new token was e-mailed to the partner."
    return merchant_page(issued, note)


@bp.post("/merchant/tokens/<token_id>/email-copy")
@requires("merchant")
@action(back=_merchant_home)
def merchant_email_copy(token_id: str) -> Any:
    plaintext = form_text("token_value", "token", 200)
    services().partner_access.email_copy(current_store(), token_id, plaintext)
    flash(f"A copy of token {token_id} was e-mailed to the partner.", "success")
    return redirect(_merchant_home())


@bp.post("/merchant/tokens/revoke")
@requires("merchant")
@action(back=_merchant_home)
def merchant_revoke() -> Any:
    return _revoke(merchant_scope(), _merchant_home())


@bp.post("/merchant/authorizations/<client_id>/revoke")
@requires("merchant")
@action(back=_merchant_home)
def merchant_revoke_authorization(client_id: str) -> Any:
    """Seed 003: revoking an app's authorization; the app must be authorized again."""
    revoked = services().oauth.revoke_authorization(current_store(), client_id, by="merchant")
    flash(f"Revoked the authorization of {revoked['app_name']} ({client_id}). Its tokens fail "
          "with 'authorization_revoked' until the app is authorized again.", "success")
    return redirect(_merchant_home())


# --- the partner's Manage Partner Tokens ----------------------------------------------------

def partner_scope() -> Scope:
    return Scope.partner(current_partner())


def _tab() -> str:
    tab = request.values.get("tab", "active")
    return tab if tab in dict(TABS) else "active"


def _partner_home() -> str:
    return url_for("console.partner", tab=_tab())


@bp.get("/partner")
@requires("partner")
def partner() -> Any:
    return partner_page()


def partner_page(issued: Issued | None = None, issued_note: str = "") -> Any:
    """Active Tokens (valid), Expiring Tokens (valid, expiring within 30 days), All tokens."""
    svc = services()
    scope = partner_scope()
    now = svc.partner_access.now(scope)
    tab = _tab()
    every = svc.partner_access.tokens(scope)
    valid = [t for t in every if t.is_valid(now)]
    lists = {"active": valid, "expiring": [t for t in valid if t.is_expiring(now)],
             "all": every}
    tokens = sorted(lists[tab], key=lambda t: (t.store_id, -t.issued_at, t.id))
    names = {s.id: s.name for s in svc.tenants.stores(scope.sandbox)}
    counts = {name: len(listed) for name, listed in lists.items()}
    return page("partner.html", partner=current_partner(), tab=tab, tabs=TABS, counts=counts,
                tokens=[describe(t, now) for t in tokens], store_names=names, now=now,
                issued=_issued_view(issued, now), issued_note=issued_note)


@bp.get("/partner/tokens/<token_id>/renew")
@requires("partner")
def partner_renew_form(token_id: str) -> Any:
    return _renew_form("partner", token_id)


@bp.post("/partner/tokens/<token_id>/renew")
@requires("partner")
@action(back=_partner_home)
def partner_renew(token_id: str) -> Any:
    days = form_int("validity_days", "validity")
    issued = services().partner_access.renew(partner_scope(), token_id, validity_days=days)
    return partner_page(issued, f"Token {token_id} was renewed: it is now marked Renewed and "
                                "keeps working until its own expiry. Start using the new token "
                                "before then; the merchant was notified by e-mail.")


@bp.post("/partner/tokens/revoke")
@requires("partner")
@action(back=_partner_home)
def partner_revoke() -> Any:
    return _revoke(partner_scope(), _partner_home())


@bp.post("/partner/test")
@requires("partner")
@action(back=_partner_home)
def partner_test_connection() -> Any:
    """The integrator's Test button (seed 003): the same gate and answer as
    `GET /api/v1/token`, told as a sentence."""
    token = form_text("token_value", "Token", max_length=500)
    svc = services()
    try:
        caller = find_caller(svc, token, "GET", "/api/v1/token")
    except BearerChallenge as failed:
        flash(f"Test failed: {TEST_FAILURES.get(failed.error, failed.description)}", "error")
        return redirect(_partner_home())
    if caller is None:
        flash("Test failed: the token is not recognised. Copy it again, or create a new one.",
              "error")
        return redirect(_partner_home())
    if caller.partner_id != current_partner().id:
        flash("Test failed: that token belongs to another partner.", "error")
        return redirect(_partner_home())
    info = caller.describe()
    expiry = f"expires {info['expires_at']}" if info.get("expires_at") else "does not expire"
    successor = (f" It was renewed: switch to {info['successor']['id']} before it expires."
                 if info.get("successor") else "")
    flash(f"Test passed: the token works for store {caller.store.id} ({info['status']}, "
          f"{expiry}).{successor}", "success")
    return redirect(_partner_home())


#: What the Test button says about a token the store API refuses.
TEST_FAILURES = {
    "token_expired": "the token has expired and needs to be re-created: renew it (or ask the "
                     "merchant to) and use the new token, or authorize the app again.",
    "token_revoked": "the token was revoked and needs to be re-created: ask the merchant to add "
                     "you again, or authorize the app again.",
    "authorization_revoked": "the store revoked the app's authorization: the token must be "
                             "re-created by sending the merchant through /oauth/authorize.",
}


# --- shared steps -----------------------------------------------------------------------------

def _renew_form(kind: str, token_id: str) -> Any:
    svc = services()
    scope = merchant_scope() if kind == "merchant" else partner_scope()
    now = svc.partner_access.now(scope)
    token = svc.partner_access.token(token_id, scope)
    back = _merchant_home() if kind == "merchant" else _partner_home()
    try:
        check_renewable(token, now)
    except ApiError as refused:
        flash(refused.description, "error")
        return redirect(back)
    return page("renew.html", kind=kind, token=describe(token, now),
                validity_choices=VALIDITY_CHOICES, default_days=DEFAULT_VALIDITY_DAYS,
                action_url=url_for(f"console.{kind}_renew", token_id=token_id), cancel_url=back,
                tab=_tab())


def _revoke(scope: Scope, back: str) -> Any:
    """Seed 001: Revoke Selected asks for confirmation first, naming the tokens and warning
    about the partner's other valid tokens; the confirmed form revokes them at once."""
    access = services().partner_access
    ids = form_ids()
    if not ids:
        flash("Select at least one token to revoke.", "error")
        return redirect(back)
    now = access.now(scope)
    if not form_flag("confirmed"):
        selected, others = access.preview_revoke(scope, ids)
        return page("confirm_revoke.html", mode="selected",
                    selected=[describe(t, now) for t in selected],
                    others=[describe(t, now) for t in others],
                    action_url=request.path, cancel_url=back, tab=_tab())
    revoked, still_valid = access.revoke(scope, ids)
    flash(f"Revoked {_names(revoked)}. Revoked tokens fail at once.", "success")
    if still_valid:
        flash(f"Still valid for the same partner and store: {_names(still_valid)}. Revoke them "
              "too if the partner should lose access.", "warning")
    return redirect(back)


def _names(tokens: list[PartnerToken]) -> str:
    return ", ".join(t.id for t in tokens)
