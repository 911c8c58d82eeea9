"""How a connection pickles: what a copy in another process needs, and no secret.

Dask, joblib and multiprocessing pickle what they hand to workers. A ``BoxConnection`` carries
its name, its vault's folder, the Client ID, the Redirect URI and the endpoints if they were
given; never the Client Secret, a token or the vault's key. The copy reads the vault (and
``BOX_CLIENT_SECRET``) where it is unpickled: the same machine and folder, or nothing.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .endpoints import BoxEndpoints
    from .vault import Vault


class PortableConnection:
    """Mixin of ``BoxConnection``: its pickling (see the module)."""

    name: str
    client_id: str | None
    redirect_uri: str | None
    endpoints: BoxEndpoints
    endpoints_from: str
    vault: Vault

    def __reduce__(self) -> tuple[Any, ...]:
        cls: Any
        given = self.endpoints if self.endpoints_from == "given" else None
        settings = {"client_id": self.client_id, "redirect_uri": self.redirect_uri}
        home, cls = str(self.vault.home), type(self)
        return (partial(cls, self.name, endpoints=given, home=home, **settings), ())
