"""Everything one emulator instance holds: clock, settings, counters, faults, OAuth and content."""

from __future__ import annotations

from dataclasses import dataclass, field

from .blobs import GeneratedBlob
from .content import ContentStore, User
from .core import Clock, Counters, Faults, Settings, TokenExpiry, random_token
from .oauth_store import App, OAuthStore


@dataclass
class EmulatorState:
    """The emulator's whole state; handlers reach it through ``self.state``."""

    clock: Clock = field(default_factory=Clock)
    settings: Settings = field(default_factory=Settings)
    counters: Counters = field(default_factory=Counters)
    faults: Faults = field(default_factory=Faults)
    oauth: OAuthStore = field(init=False)
    content: ContentStore = field(init=False)

    def __post_init__(self) -> None:
        self.oauth = OAuthStore(self.clock, self.settings, self.counters)
        self.content = ContentStore(self.clock)

    def people(self) -> list[User]:
        """The users someone can sign in as on the consent page: not the apps' service
        accounts."""
        robots = {app.service_account_id for app in self.oauth.apps.values()}
        return [user for user in self.content.users.values() if user.id not in robots]

    def add_app(
        self,
        name: str,
        redirect_uris: list[str],
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        scopes: tuple[str, ...] = ("root_readwrite",),
        ccg_enabled: bool = False,
        enterprise_id: str = "900001",
    ) -> App:
        """Register an OAuth app; with ``ccg_enabled`` it also gets a service account."""
        app = App(
            name,
            client_id or random_token().lower(),
            client_secret or random_token(),
            list(redirect_uris),
            tuple(scopes),
            ccg_enabled,
            enterprise_id,
        )
        self.oauth.add_app(app)
        if ccg_enabled:
            robot = self.content.add_user(
                f"{name} Service Account",
                f"AutomationUser_{enterprise_id}_{random_token(10)}@boxdevedition.com",
            )
            app.service_account_id = robot.id
        return app

    def expire_access_tokens(self, expiry: TokenExpiry) -> None:
        """Expire every live access token: now (``after_calls`` 0) or once that many
        more API calls under ``expiry.path`` came in."""
        if expiry.after_calls == 0:
            self.oauth.expire_access_tokens()
        else:
            self.faults.expire_tokens_later(expiry)

    def add_large_file(
        self, name: str, size: int, *, folder_id: str, seed: int, user_id: str
    ) -> str:
        """A file whose ``size`` bytes are generated as they stream (nothing stored); its id."""
        if size < 0:
            msg = "size must be >= 0"
            raise ValueError(msg)
        return self.content.add_file(user_id, folder_id, name, GeneratedBlob(size, seed)).id
