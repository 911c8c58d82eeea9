"""The OAuth 2.0 routes: the authorize page, the token endpoint and revocation."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .base import OAuthHandler, PageHandler
from .downscope import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE
from .errors import OAuthError, PageError
from .oauth_store import GRANT_NOT_ALLOWED, INVALID_CCG, SCOPES, App, Consent
from .pages import consent_page
from .redirect_uris import redirect_uri_matches

GRANT_TYPES = {
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:token-exchange",
}
DENIED = "The user denied access to your application"


def with_query(uri: str, **params: str | None) -> str:
    """``uri`` with ``params`` (those not None) appended to its query."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


class AuthorizeHandler(PageHandler):
    """``/api/oauth2/authorize``: validate the request, then ask the user to grant or deny."""

    def get(self) -> None:
        args = self.single_args(self.request.query_arguments, "query")
        app = self.state.oauth.apps.get(args.get("client_id", ""))
        if app is None:
            raise PageError("invalid_client", "The client_id is missing or unknown.")
        redirect_uri = self._redirect_uri(app, args.get("redirect_uri"))
        state = args.get("state")
        response_type = args.get("response_type")
        if response_type != "code":
            error = "invalid_request" if response_type is None else "unsupported_response_type"
            self.redirect(with_query(redirect_uri, error=error, state=state))
            return
        scopes = tuple(args["scope"].split()) if args.get("scope") else app.scopes
        allowed = set(app.scopes) | ({"root_readonly"} if "root_readwrite" in app.scopes else set())
        if not scopes or any(s not in SCOPES or s not in allowed for s in scopes):
            self.redirect(with_query(redirect_uri, error="invalid_scope", state=state))
            return
        consent_id = self.state.oauth.begin_consent(
            Consent(app.client_id, redirect_uri, state, scopes, self.state.clock.now())
        )
        users = [(u.id, u.name, u.login) for u in self.state.people()]
        self.finish(consent_page(app.name, consent_id, users, scopes))

    def post(self) -> None:
        args = self.single_args(self.request.body_arguments, "form")
        consent = self.state.oauth.take_consent(args.get("consent", ""))
        if consent is None:
            raise PageError(
                "invalid_request",
                "This authorization request expired or was already used. "
                "Start again from the application.",
            )
        app = self.state.oauth.apps[consent.client_id]
        if args.get("decision") != "grant":
            self.redirect(
                with_query(
                    consent.redirect_uri,
                    error="access_denied",
                    error_description=DENIED,
                    state=consent.state,
                )
            )
            return
        user_id = args.get("user_id", "")
        if user_id not in self.state.content.users:
            raise PageError("invalid_request", "Unknown user.")
        code = self.state.oauth.issue_code(app, user_id, consent.redirect_uri, consent.scopes)
        self.redirect(with_query(consent.redirect_uri, code=code, state=consent.state))

    def _redirect_uri(self, app: App, requested: str | None) -> str:
        if requested is None:
            if len(app.redirect_uris) == 1:
                return app.redirect_uris[0]
            raise PageError(
                "redirect_uri_missing",
                "The redirect_uri parameter is required: this application has "
                "several redirect URIs configured.",
            )
        if any(redirect_uri_matches(uri, requested) for uri in app.redirect_uris):
            return requested
        raise PageError(
            "redirect_uri_mismatch",
            "The redirect URI does not match any of the redirect URIs configured "
            "for this application in the Box Developer Console.",
        )


class TokenHandler(OAuthHandler):
    """``/oauth2/token``: authorization code, refresh token and client credentials grants."""

    def post(self) -> None:
        args = self.form()
        grant_type = args.get("grant_type")
        if grant_type not in GRANT_TYPES:
            raise OAuthError("invalid_request", "Invalid grant_type parameter or parameter missing")
        oauth = self.state.oauth
        if grant_type == TOKEN_EXCHANGE:  # the subject token is the credential (no client)
            if args.get("resource") or args.get("box_shared_link"):
                raise OAuthError(
                    "invalid_request", "The emulator does not restrict tokens to a resource"
                )
            if args.get("subject_token_type") != ACCESS_TOKEN_TYPE:
                raise OAuthError("invalid_request", "Invalid subject_token_type")
            body = oauth.exchange(args.get("subject_token"), args.get("scope"))
            self.write_json(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
            return
        try:
            app = oauth.authenticate(args.get("client_id"), args.get("client_secret"))
        except OAuthError:
            if grant_type == "client_credentials":  # DOC-ccg: wrong id or secret
                raise OAuthError("invalid_grant", INVALID_CCG) from None
            raise
        if grant_type == "authorization_code":
            body = oauth.exchange_code(app, self._required(args, "code"), args.get("redirect_uri"))
        elif grant_type == "refresh_token":
            body = oauth.refresh(app, self._required(args, "refresh_token"))
        elif grant_type == "client_credentials":
            body = oauth.client_credentials(
                app,
                args.get("box_subject_type"),
                args.get("box_subject_id"),
                set(self.state.content.users),
            )
        else:
            raise OAuthError("invalid_request", GRANT_NOT_ALLOWED)
        self.write_json(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @staticmethod
    def _required(args: dict[str, str], name: str) -> str:
        if not args.get(name):
            raise OAuthError("invalid_request", f"Missing parameter: '{name}'")
        return args[name]


class RevokeHandler(OAuthHandler):
    """``/oauth2/revoke``: revoke an access or refresh token and its pair."""

    def post(self) -> None:
        args = self.form()
        app = self.state.oauth.authenticate(args.get("client_id"), args.get("client_secret"))
        token = args.get("token")
        if not token:
            raise OAuthError("invalid_request", "Missing parameter: 'token'")
        self.state.oauth.revoke(app, token)
        self.set_status(200)
        self.finish()
