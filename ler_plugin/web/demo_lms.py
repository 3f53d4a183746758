"""A pretend LMS for the demo (mounted only when LER_ENVIRONMENT=demo).

It is a real LTI 1.3 platform: its buttons start the OIDC login in an iframe, its /auth answers
with a signed id_token, and the tool verifies it like any LMS's, keys fetched from /demo-lms/jwks.
"""

from __future__ import annotations

from urllib.parse import urlencode

from jinja2 import Environment
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ler_plugin.config import Settings
from ler_plugin.districts.models import District
from ler_plugin.lti import ags, demo_platform, nrps
from ler_plugin.lti.errors import LtiError
from ler_plugin.lti.launch import DL_CLAIM
from ler_plugin.lti.login import origin_of
from ler_plugin.web.lti import error_page
from ler_plugin.web.middleware import system_rows

DEMO_SLUG = "demo"
_pages = Environment(autoescape=True)

HOME = _pages.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo LMS</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#222;display:flex;flex-direction:column;height:100vh}
header{background:#2d3b45;color:#fff;padding:.6rem 1rem}
header small{opacity:.8}
header a{color:#fff;margin-left:1rem}
nav{padding:.6rem 1rem;background:#f5f5f5;border-bottom:1px solid #ddd;display:flex;gap:.5rem;flex-wrap:wrap}
nav button{padding:.45rem .8rem;border:1px solid #888;border-radius:4px;background:#fff;cursor:pointer}
nav button[aria-pressed=true]{background:#0b5cad;color:#fff;border-color:#0b5cad}
main{flex:1;display:flex}
iframe{flex:1;border:0;width:100%}
p.hint{margin:2rem;color:#555}
</style></head>
<body>
<header><strong>Demo LMS</strong> — {{ course }} <small>(a pretend LMS performing real LTI 1.3 launches)</small>
<a href="/demo-lms/gradebook">Gradebook</a></header>
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


# -- the course's LTI Advantage services, in memory ------------------------------------------

ROSTER_PAGE = 3  # small, so the tool's paging is exercised by the demo too

GRADEBOOK = _pages.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo LMS gradebook</title>
<style>body{font-family:system-ui,sans-serif;margin:1rem;color:#222}
table{border-collapse:collapse}th,td{border:1px solid #bbb;padding:.3rem .6rem;text-align:left}</style>
</head><body><h1>Gradebook: {{ course }}</h1>
{% if added %}<h2>Content added through deep linking</h2><ul>
{% for item in added %}<li>{{ item.title }}{% if item.lineItem %} ({{ item.lineItem.scoreMaximum }} points){% endif %}</li>{% endfor %}
</ul>{% endif %}
{% if not items %}<p>No gradebook columns yet: award credit from the facilitator page.</p>{% endif %}
{% for item in items %}{% set number = loop.index %}
<h2>{{ item.label }} (out of {{ item.scoreMaximum }})</h2>
<table><thead><tr><th scope="col">Member</th><th scope="col">Score</th><th scope="col">Progress</th></tr></thead><tbody>
{% for member in members %}{% set score = scores.get((number, member.user_id)) %}
<tr><td>{{ member.name }}</td><td>{{ score.scoreGiven if score else '—' }}</td>
<td>{{ score.gradingProgress if score else '' }}</td></tr>
{% endfor %}</tbody></table>
{% endfor %}
<p><a href="/demo-lms/">Back to the course</a></p></body></html>""")

DEEP_LINK_DONE = _pages.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo LMS: content added</title></head>
<body><h1>Added to {{ course }}</h1><ul>{% for item in items %}<li>{{ item.title }}</li>{% endfor %}</ul>
{% if message %}<p>{{ message }}</p>{% endif %}
<p><a href="/demo-lms/gradebook" target="_top">Open the gradebook</a></p></body></html>""")


def gradebook(request: Request) -> demo_platform.Gradebook:
    found: demo_platform.Gradebook | None = getattr(request.app.state, "demo_gradebook", None)
    if found is None:
        found = request.app.state.demo_gradebook = demo_platform.Gradebook()
    return found


def _course_url(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return f"{settings.base_url}/demo-lms/courses/{demo_platform.COURSE['id']}"


def _refused(request: Request) -> Response | None:
    if request.path_params.get("course") != demo_platform.COURSE["id"]:
        return PlainTextResponse("no such course", status_code=404)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or token not in gradebook(request).tokens:
        return PlainTextResponse("a valid bearer token is required", status_code=401)
    return None


async def token(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    form = await request.form()
    if form.get("grant_type") != "client_credentials":
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
    async with request.app.state.session_factory() as session:
        try:
            await demo_platform.check_client_assertion(
                session=session, settings=settings, assertion=str(form.get("client_assertion"))
            )
        except LtiError as error:
            return JSONResponse(
                {"error": "invalid_client", "error_description": error.message}, status_code=401
            )
    return JSONResponse(
        {
            "access_token": gradebook(request).issue_token(),
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": str(form.get("scope") or ""),
        }
    )


async def memberships(request: Request) -> Response:
    if refused := _refused(request):
        return refused
    members = demo_platform.roster_members()
    page = int(request.query_params.get("page", "0") or 0)
    headers = {}
    if (page + 1) * ROSTER_PAGE < len(members):
        headers["link"] = f'<{_course_url(request)}/memberships?page={page + 1}>; rel="next"'
    body = {
        "id": str(request.url),
        "context": {"id": demo_platform.COURSE["id"], "title": demo_platform.COURSE["title"]},
        "members": members[page * ROSTER_PAGE : (page + 1) * ROSTER_PAGE],
    }
    return JSONResponse(body, media_type=nrps.MEMBERSHIP_CONTAINER, headers=headers)


async def line_items(request: Request) -> Response:
    if refused := _refused(request):
        return refused
    book = gradebook(request)
    if request.method == "POST":
        try:
            item = book.add_line_item(_course_url(request), await request.json())
        except (LtiError, ValueError) as error:
            return PlainTextResponse(str(error), status_code=400)
        return JSONResponse(item, status_code=201, media_type=ags.LINEITEM)
    wanted = request.query_params.get("resource_id")
    return JSONResponse([i for i in book.line_items if not wanted or i.get("resourceId") == wanted])


async def scores(request: Request) -> Response:
    if refused := _refused(request):
        return refused
    try:
        gradebook(request).add_score(request.path_params["n"], await request.json())
    except LtiError as error:
        return PlainTextResponse(error.message, status_code=error.status)
    except ValueError:
        return PlainTextResponse("the score is not JSON", status_code=400)
    return Response(status_code=204)


async def deep_link_return(request: Request) -> Response:
    """The LMS's side of deep linking: the tool's signed answer, checked with its JWKS."""
    settings: Settings = request.app.state.settings
    form = await request.form()
    async with request.app.state.session_factory() as session:
        try:
            claims = await demo_platform.check_deep_link_response(
                session=session, settings=settings, token=str(form.get("JWT") or "")
            )
        except LtiError as error:
            return error_page(error)
    items = claims.get(DL_CLAIM + "content_items") or []
    gradebook(request).added_content.extend(i for i in items if isinstance(i, dict))
    return HTMLResponse(
        DEEP_LINK_DONE.render(
            course=demo_platform.COURSE["title"],
            items=items,
            message=claims.get(DL_CLAIM + "msg"),
        )
    )


async def gradebook_page(request: Request) -> Response:
    book = gradebook(request)
    return HTMLResponse(
        GRADEBOOK.render(
            course=demo_platform.COURSE["title"],
            items=book.line_items,
            scores=book.scores,
            members=demo_platform.roster_members(),
            added=book.added_content,
        )
    )


def routes(settings: Settings) -> list[Route]:
    if settings.environment != "demo":
        return []
    course = "/demo-lms/courses/{course:str}"
    return [
        Route("/demo-lms/", system_rows(home)),
        Route("/demo-lms/auth", system_rows(auth), methods=["GET", "POST"]),
        Route("/demo-lms/jwks", system_rows(jwks)),
        Route("/demo-lms/token", system_rows(token), methods=["POST"]),
        Route(course + "/memberships", system_rows(memberships)),
        Route(course + "/lineitems", system_rows(line_items), methods=["GET", "POST"]),
        Route(course + "/lineitems/{n:int}/scores", system_rows(scores), methods=["POST"]),
        Route("/demo-lms/deep-link-return", system_rows(deep_link_return), methods=["POST"]),
        Route("/demo-lms/gradebook", system_rows(gradebook_page)),
    ]
