from __future__ import annotations

import typer

from ler_plugin.cli.common import console, run, session_scope, settings
from ler_plugin.config import Settings

app = typer.Typer(no_args_is_help=True, help="LMS platforms (LTI 1.3 registrations).")


@app.command("add")
def add(
    district: str = typer.Option(..., help="The district's slug."),
    issuer: str = typer.Option(
        ..., help="The platform's issuer (iss), e.g. https://canvas.instructure.com."
    ),
    client_id: str = typer.Option(..., help="The client id the LMS gave the tool."),
    auth_login_url: str = typer.Option(..., help="The LMS's OIDC authentication URL."),
    auth_token_url: str = typer.Option(..., help="The LMS's OAuth2 token URL."),
    jwks_url: str = typer.Option(..., help="The LMS's public key set URL."),
    auth_audience: str | None = typer.Option(
        None, help="The aud for client assertions, when not the token URL (Brightspace)."
    ),
    deployment_id: list[str] = typer.Option(
        [], "--deployment-id", help="A deployment id to approve now (repeatable)."
    ),
    name: str | None = typer.Option(None, help="A label, e.g. 'District Canvas'."),
) -> None:
    """Register an LMS for a district, and print the URLs its administrator needs."""
    from ler_plugin.districts import service as districts
    from ler_plugin.lti import service
    from ler_plugin.principal import Principal

    cfg = settings()

    async def go() -> int:
        async with session_scope(cfg) as session:
            found = await districts.get_by_slug(session=session, slug=district)
            platform = await service.add_platform(
                session=session,
                settings=cfg,
                principal=Principal.operator(),
                district_id=found.id,
                data=service.PlatformInput(
                    issuer=issuer,
                    client_id=client_id,
                    auth_login_url=auth_login_url,
                    auth_token_url=auth_token_url,
                    jwks_url=jwks_url,
                    auth_audience=auth_audience,
                    name=name,
                    deployment_ids=deployment_id,
                ),
            )
            return platform.id

    platform_id = run(go)
    console.print(f"platform {issuer} / {client_id} registered for {district} (id {platform_id})")
    print("Give the LMS administrator these URLs:")  # plain: URLs must not be wrapped
    for label, url in service_urls(cfg).items():
        print(f"  {label}: {url}", flush=True)


def service_urls(cfg: Settings) -> dict[str, str]:
    from ler_plugin.lti.artifacts import tool_urls

    return tool_urls(cfg.base_url).pasted()


@app.command("list")
def list_(district: str | None = typer.Option(None, help="Only this district's (slug).")) -> None:
    """Registered platforms and their deployments."""
    from ler_plugin.districts import service as districts
    from ler_plugin.lti import service
    from ler_plugin.principal import Principal

    cfg = settings()

    async def go() -> list[str]:
        async with session_scope(cfg) as session:
            district_id = (
                (await districts.get_by_slug(session=session, slug=district)).id
                if district
                else None
            )
            views = await service.list_platforms(
                session=session, principal=Principal.operator(), district_id=district_id
            )
            lines = []
            for view in views:
                p = view.platform
                lines.append(
                    f"{p.id}\tdistrict {p.district_id}\t{p.issuer}\tclient {p.client_id}"
                    + (f"\t{p.name}" if p.name else "")
                )
                lines += [
                    f"\tdeployment {d.deployment_id}\t{d.status.value}" for d in view.deployments
                ]
            return lines

    lines = run(go)
    for line in lines or ["no platforms registered"]:
        print(line)


def _decide(issuer: str, client_id: str, deployment_id: str, approve: bool) -> None:
    from ler_plugin.lti import service
    from ler_plugin.principal import Principal

    cfg = settings()

    async def go() -> None:
        async with session_scope(cfg) as session:
            await service.decide_deployment(
                session=session,
                principal=Principal.operator(),
                issuer=issuer,
                client_id=client_id,
                deployment_id=deployment_id,
                approve=approve,
            )

    run(go)
    console.print(f"deployment {deployment_id} {'approved' if approve else 'rejected'}")


@app.command("approve-deployment")
def approve_deployment(
    issuer: str = typer.Option(...),
    client_id: str = typer.Option(...),
    deployment_id: str = typer.Option(...),
) -> None:
    """Let launches from this deployment in (it waited as pending since its first launch)."""
    _decide(issuer, client_id, deployment_id, approve=True)


@app.command("reject-deployment")
def reject_deployment(
    issuer: str = typer.Option(...),
    client_id: str = typer.Option(...),
    deployment_id: str = typer.Option(...),
) -> None:
    """Refuse launches from this deployment."""
    _decide(issuer, client_id, deployment_id, approve=False)
