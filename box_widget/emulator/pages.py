"""The pages a browser sees: the emulator's front page, consent and errors. Every value is
HTML-escaped."""

from __future__ import annotations

from html import escape

SCOPE_TEXT = {
    "root_readonly": "Read all files and folders stored in Box",
    "root_readwrite": "Read and write all files and folders stored in Box",
    "manage_app_users": "Manage app users",
    "manage_managed_users": "Manage managed users",
    "manage_groups": "Manage groups",
    "manage_webhook": "Manage webhooks",
    "manage_enterprise_properties": "Manage enterprise properties",
    "manage_data_retention": "Manage retention policies",
    "manage_legal_hold": "Manage legal hold policies",
}

STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f6f9;margin:0;color:#222}
main{max-width:28rem;margin:4rem auto;background:#fff;border-radius:8px;padding:2rem;
box-shadow:0 2px 8px #0002}
h1{font-size:1.3rem;margin-top:0}.brand{color:#0061d5;font-weight:700}
label{display:block;margin:1rem 0 .3rem}select{width:100%;padding:.4rem}
ul{padding-left:1.2rem}.buttons{display:flex;gap:1rem;margin-top:1.5rem}
button{flex:1;padding:.7rem;border-radius:6px;border:1px solid #0061d5;font-size:1rem}
#grant{background:#0061d5;color:#fff}#deny{background:#fff;color:#0061d5}
.error{color:#b00020}code{background:#eee;padding:0 .2rem}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main><p class=brand>box (emulator)</p>{body}</main></body></html>"
    )


def consent_page(
    app_name: str, consent_id: str, users: list[tuple[str, str, str]], scopes: tuple[str, ...]
) -> str:
    """The grant/deny page: which app, as which user, with which scopes."""
    options = "".join(
        f'<option value="{escape(uid)}">{escape(name)} ({escape(login)})</option>'
        for uid, name, login in users
    )
    items = "".join(f"<li>{escape(SCOPE_TEXT.get(s, s))}</li>" for s in scopes)
    body = (
        f"<h1><b>{escape(app_name)}</b> would like to access your Box account</h1>"
        "<form method=post id=consent>"
        f'<input type=hidden name=consent value="{escape(consent_id)}">'
        f"<label for=user>Log in as</label><select id=user name=user_id>{options}</select>"
        f"<p>This application will be able to:</p><ul>{items}</ul>"
        "<div class=buttons><button id=grant name=decision value=grant type=submit>"
        "Grant access to Box</button>"
        "<button id=deny name=decision value=deny type=submit>Deny access</button></div></form>"
    )
    return _page("Grant access to Box", body)


def error_page(error: str, description: str) -> str:
    """An error shown to the user instead of redirecting back to the app."""
    body = (
        f"<h1 class=error>Something went wrong</h1><p>Error: <code id=error>{escape(error)}"
        f"</code></p><p id=description>{escape(description)}</p>"
    )
    return _page(f"Box: {error}", body)


def index_page(apps: list[str], users: list[tuple[str, str]]) -> str:
    """``/``: what this server is, for someone who opens its address (no ids, no secrets)."""
    app_items = "".join(f"<li>{escape(name)}</li>" for name in apps)
    user_items = "".join(f"<li>{escape(name)} ({escape(login)})</li>" for name, login in users)
    body = (
        "<h1>A local Box emulator</h1>"
        "<p>box-widget's stand-in for Box on this machine, for the demo and the tests. It "
        "speaks Box's API (<code>/2.0/...</code>) and OAuth 2.0 (<code>/api/oauth2/authorize"
        "</code>, <code>/oauth2/token</code>); nothing here reaches the real Box.</p>"
        "<p>To sign in, click <b>Generate</b> in a notebook's Box connection form: it opens this "
        "emulator's consent page.</p>"
        f"<p>Apps:</p><ul id=apps>{app_items}</ul><p>Users:</p><ul id=users>{user_items}</ul>"
    )
    return _page("Box emulator", body)
