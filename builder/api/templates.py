"""Template bundles (DESIGN §9): list the library and install a bundle as draft flows, with the checks
`flowright templates install` makes (runtime.bundles.install)."""

from __future__ import annotations

from typing import Annotated, Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field, SkipValidation

from builder.api.auth import SECURITY, requires
from builder.api.context import services
from builder.api.errors import ApiError, not_found
from runtime.bundles import Bundle, BundleConflict, BundleError, find_bundle, install, list_bundles

bp = APIBlueprint("templates", __name__, url_prefix="/api", abp_tags=[Tag(name="templates")],
                  abp_security=SECURITY)


class TemplatePath(BaseModel):
    name: str = Field(max_length=120, pattern=r"^[a-z0-9][a-z0-9-]*$", description="the bundle's name")


class ParamOut(BaseModel):
    name: str
    type: str = Field(description="string, number, integer, boolean, duration or email")
    default: Annotated[Any, SkipValidation] = Field(default=None, description="null when required")
    required: bool
    description: str


class CredentialSlotOut(BaseModel):
    connector: str
    name: str
    description: str


class TemplateFlowOut(BaseModel):
    key: str
    name: str
    subject: str


class TemplateOut(BaseModel):
    name: str
    title: str
    version: str
    description: str
    practice: str
    tags: list[str]
    flows: list[TemplateFlowOut]
    params: list[ParamOut]
    credentials: list[CredentialSlotOut]


class TemplatesOut(BaseModel):
    templates: list[TemplateOut]


class InstallIn(BaseModel):
    params: dict[str, Annotated[Any, SkipValidation]] = Field(
        default={}, description="parameter values by name (JSON types: a number for an integer parameter)")
    replace: bool = Field(default=False, description="overwrite the drafts of flows that exist already")


class InstalledFlowOut(BaseModel):
    key: str
    created: bool = Field(description="false: an existing draft was replaced")


class InstalledOut(BaseModel):
    template: str
    version: str
    flows: list[InstalledFlowOut]
    credentials: list[CredentialSlotOut] = Field(description="stored credentials the flows need")


def _slots(bundle: Bundle) -> list[dict[str, Any]]:
    return [{"connector": c["connector"], "name": c["name"], "description": c.get("description", "")}
            for c in bundle.credentials]


def _summary(bundle: Bundle) -> dict[str, Any]:
    document = bundle.document
    return {
        "name": bundle.name, "title": bundle.title, "version": bundle.version,
        "description": str(document.get("description", "")), "practice": str(document.get("practice", "")),
        "tags": list(document.get("tags") or []),
        "flows": [{"key": f["key"], "name": f.get("name", f["key"]), "subject": f.get("subject", "")}
                  for f in bundle.flows],
        "params": [{"name": p["name"], "type": p["type"], "default": p.get("default"),
                    "required": "default" not in p, "description": p.get("description", "")}
                   for p in bundle.params],
        "credentials": _slots(bundle),
    }


def _param_pointer(bundle: Bundle, pointer: str) -> str:
    """A problem's pointer in the request body: a required parameter the bundle declares at
    `/params/<index>` is missing from the body's `/params/<name>`."""
    parts = pointer.split("/")
    if len(parts) == 3 and parts[1] == "params" and parts[2].isdigit() and int(parts[2]) < len(bundle.params):
        return f"/params/{bundle.params[int(parts[2])]['name']}"
    return pointer


@bp.get("/templates", responses={200: TemplatesOut}, summary="The template library: every bundle")
@requires("viewer")
def list_templates() -> Any:
    try:
        return {"templates": [_summary(bundle) for bundle in list_bundles()]}
    except BundleError as exc:  # a broken bundle in the library is the server's problem
        raise ApiError(500, "library_broken", str(exc)) from None


@bp.post("/templates/<name>/install", responses={201: InstalledOut},
         summary="Install a bundle: resolve its parameters and create its flows as drafts")
@requires("editor")
def install_template(path: TemplatePath, body: InstallIn) -> Any:
    try:
        bundle = find_bundle(path.name)
    except BundleError:
        raise not_found(f"there is no template {path.name!r}; GET /api/templates lists them") from None
    try:
        installed = install(services(), bundle, body.params, replace=body.replace)
    except BundleConflict as exc:
        details = [("/replace", f"flow {key!r} exists already; send \"replace\": true to overwrite its draft")
                   for key in exc.taken]
        message = f"flows exist already: {', '.join(exc.taken)}; nothing was installed"
        raise ApiError(409, "flows_exist", message, details) from None
    except BundleError as exc:
        details = [(_param_pointer(bundle, p.pointer), p.message) for p in exc.problems]
        first = details[0]
        code = "params_invalid" if first[0].startswith("/params") else "template_invalid"
        raise ApiError(422, code, f"{first[0]}: {first[1]}; nothing was installed", details) from None
    out = {"template": bundle.name, "version": bundle.version,
           "flows": [{"key": flow.key, "created": flow.created} for flow in installed],
           "credentials": _slots(bundle)}
    return out, 201
