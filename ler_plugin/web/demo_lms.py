"""A pretend LMS for the demo (mounted only when LER_ENVIRONMENT=demo).

It is a real LTI 1.3 platform: its buttons start the OIDC login in an iframe, its /auth answers
with a signed id_token, and the tool verifies it like any LMS's, keys fetched from /demo-lms/jwks.
"""

from __future__ import annotations

from urllib.parse import urlencode

from jinja2 import Environment
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ler_plugin.config import Settings
from ler_plugin.districts.models import District
from ler_plugin.lti import demo_platform
from ler_plugin.lti.errors import LtiError
from ler_plugin.lti.login import origin_of
from ler_plugin.web.lti import error_page

DEMO_SLUG = "demo"
_pages = Environment(autoescape=True)

HOME = _pages.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo LMS</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#222;display:flex;flex-direction:column;height:100vh}
header{background:#2d3b45;color:#fff;padding:.6rem 1rem}
header small{opacity:.8}
nav{padding:.6rem 1rem;background:#f5f5f5;border-bottom:1px solid #ddd;display:flex;gap:.5rem;flex-wrap:wrap}
nav button{padding:.45rem .8rem;border:1px solid #888;border-radius:4px;background:#fff;cursor:pointer}
nav button[aria-pressed=true]{background:#0b5cad;color:#fff;border-color:#0b5cad}
main{flex:1;display:flex}
iframe{flex:1;border:0;width:100%}
p.hint{margin:2rem;color:#555}
</style></head>
<body>
<header><strong>Demo LMS</strong> — {{ course }} <small>(a pretend LMS performing real LTI 1.3 launches)</small></header>
{% if registered %}
<nav aria-label="Launch the Teacher Wallet">
{% for button in buttons %}
<button type="button" data-src="{{ button.src }}" title="{{ button.description }}">{{ button.label }}</button>
{% endfor %}
</nav>
<main><iframe id="tool" name="tool" title="Teacher Wallet" allow="clipboard-write"
  srcdoc="<p style='font-family:sans-serif;color:#555;margin:2rem'>Choose who you are above to launch the Teacher Wallet here.</p>"></iframe></main>
<script>
// The LMS side of LTI client-side OIDC storage: the tool keeps its login secret here when the
// browser will not give it a cookie inside this iframe.
const toolOrigin = {{ tool_origin|tojson }};
const stored = new Map();
window.addEventListener("message", function (event) {
  const data = event.data;
  if (event.origin !== toolOrigin || !data || typeof data !== "object") return;
  if (data.subject === "lti.put_data") {
    stored.set(data.key, data.value);
    event.source.postMessage({subject: "lti.put_data.response", message_id: data.message_id,
                              key: data.key, value: data.value}, event.origin);
  } else if (data.subject === "lti.get_data") {
    const answer = {subject: "lti.get_data.response", message_id: data.message_id, key: data.key};
    if (stored.has(data.key)) { answer.value = stored.get(data.key); }
    else { answer.error = {code: "bad_request", message: "nothing stored under that key"}; }
    event.source.postMessage(answer, event.origin);
  }
});
document.querySelectorAll("nav button").forEach(function (button) {
  button.addEventListener("click", function () {
    document.querySelectorAll("nav button").forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
    button.setAttribute("aria-pressed", "true");
    const frame = document.getElementById("tool");
    frame.removeAttribute("srcdoc");
    frame.src = button.dataset.src;
  });
});
</script>
{% else %}
<p class="hint">The demo district does not exist yet: start the demo with <code>ler-plugin demo</code>.</p>
{% endif %}
</body></html>""")

FORM_POST = _pages.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo LMS: signing in</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="{{ action }}">
<input type="hidden" name="id_token" value="{{ id_token }}">
<input type="hidden" name="state" value="{{ state }}">
<noscript><button type="submit">Continue</button></noscript>
</form></body></html>""")


def _buttons(settings: Settings) -> list[dict[str, str]]:
    base = settings.base_url

    def login_url(user: str, hint: str) -> str:
        query = {
            "iss": demo_platform.issuer(settings),
            "login_hint": user,
            "target_link_uri": f"{base}/lti/launch",
            "lti_message_hint": hint,
            "client_id": demo_platform.CLIENT_ID,
            "lti_deployment_id": demo_platform.DEPLOYMENT_ID,
            "lti_storage_target": "_parent",
        }
        return f"{base}/lti/login?{urlencode(query)}"

    users = demo_platform.USERS
    return [
        {
            "label": f"{users['ana'].name} (teacher)",
            "description": users["ana"].description,
            "src": login_url("ana", "resource"),
        },
        {
            "label": f"{users['marcus'].name} (facilitator)",
            "description": users["marcus"].description,
            "src": login_url("marcus", "resource"),
        },
        {
            "label": f"{users['dana'].name} (district admin)",
            "description": users["dana"].description,
            "src": login_url("dana", "resource"),
        },
        {
            "label": f"Add content as {users['marcus'].name} (deep linking)",
            "description": "the facilitator picks a Teacher Wallet activity to add to the course",
            "src": login_url("marcus", "deep-link"),
        },
    ]


async def home(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    async with request.app.state.session_factory() as session, session.begin():
        district_id = await session.scalar(select(District.id).where(District.slug == DEMO_SLUG))
        if district_id is not None:
            # Idempotent: the demo start registers the LMS too; this covers an older demo database.
            await demo_platform.register(
                session=session, settings=settings, district_id=district_id
            )
    return HTMLResponse(
        HOME.render(
            course=demo_platform.COURSE["title"],
            registered=district_id is not None,
            buttons=_buttons(settings),
            tool_origin=origin_of(settings.base_url),
        )
    )


async def auth(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    params = dict(request.query_params)
    if request.method == "POST":
        params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
    try:
        action, id_token, state = demo_platform.authenticate(settings, params)
    except LtiError as error:
        return error_page(error)
    return HTMLResponse(FORM_POST.render(action=action, id_token=id_token, state=state))


async def jwks(request: Request) -> Response:
    return JSONResponse(demo_platform.jwks(request.app.state.settings))


def routes(settings: Settings) -> list[Route]:
    if settings.environment != "demo":
        return []
    return [
        Route("/demo-lms/", home),
        Route("/demo-lms/auth", auth, methods=["GET", "POST"]),
        Route("/demo-lms/jwks", jwks),
    ]
