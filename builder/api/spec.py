"""The OpenAPI app: flask-openapi3's, with every operation declaring the error answers it can give in
our shape (the library would document 422 as pydantic's error list and nothing for 401/403/404...),
and named by its view (`get_contact`, not `records_get_contacts_contacts__contact__get`) so that
generated clients get readable method names."""

from __future__ import annotations

import re
from http import HTTPStatus

from flask_openapi3 import OpenAPI

ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 422, 429)
ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class FlowrightOpenAPI(OpenAPI):
    def generate_spec_json(self) -> None:
        super().generate_spec_json()
        self._name_operations()
        for item in self.spec_json.get("paths", {}).values():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                for status in ERROR_STATUSES:
                    responses[str(status)] = {
                        "description": HTTPStatus(status).phrase,
                        "content": {"application/json": {"schema": ERROR_REF}},
                    }

    def _name_operations(self) -> None:
        """operationId = the view function's name, unique over the document (a clash keeps the long id)."""
        paths = self.spec_json.get("paths", {})
        named: dict[str, list[dict[str, object]]] = {}
        for rule in self.url_map.iter_rules():
            item = paths.get(_PARAM.sub(r"{\1}", rule.rule), {})
            for method in rule.methods or ():
                operation = item.get(method.lower())
                if operation is not None:
                    named.setdefault(rule.endpoint.rpartition(".")[2], []).append(operation)
        for name, operations in named.items():
            if len(operations) == 1:
                operations[0]["operationId"] = name
