"""The OpenAPI app: flask-openapi3's, with every operation declaring the error answers it can give in
our shape (the library would document 422 as pydantic's error list and nothing for 401/403/404...)."""

from __future__ import annotations

from http import HTTPStatus

from flask_openapi3 import OpenAPI

ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 422, 429)
ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


class FlowrightOpenAPI(OpenAPI):
    def generate_spec_json(self) -> None:
        super().generate_spec_json()
        for item in self.spec_json.get("paths", {}).values():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                for status in ERROR_STATUSES:
                    responses[str(status)] = {
                        "description": HTTPStatus(status).phrase,
                        "content": {"application/json": {"schema": ERROR_REF}},
                    }
