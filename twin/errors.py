"""Domain exceptions. Domains raise these; twin.api.errors maps each class to an HTTP status in one place."""

from __future__ import annotations

from typing import Any


class TwinError(Exception):
    """Base of every expected failure; `detail` is a sentence a person can act on."""

    title = "Request cannot be processed"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(TwinError):
    title = "Invalid input"


class Unauthorized(TwinError):
    title = "Unauthorized"


class Forbidden(TwinError):
    title = "Forbidden"


class NotFound(TwinError):
    title = "Not found"


class Conflict(TwinError):
    title = "Conflict"


class PreconditionFailed(TwinError):
    title = "Precondition failed"


class PreconditionRequired(TwinError):
    title = "Precondition required"


class MethodNotAllowed(TwinError):
    title = "Method not allowed"


class PayloadTooLarge(TwinError):
    title = "Payload too large"


class UnsupportedMediaType(TwinError):
    title = "Unsupported media type"


class UnprocessableContent(InvalidInput):
    """Well-formed content that is not what the endpoint takes (e.g. JSON that is not a GeoJSON Feature)."""

    title = "Unprocessable content"


class ServiceUnavailable(TwinError):
    title = "Service unavailable"


class ImportRejected(InvalidInput):
    """A file that cannot be imported; names the layer, the feature and the problem."""

    title = "Import rejected"

    def __init__(
        self,
        problem: str,
        *,
        layer: str | None = None,
        feature: int | str | None = None,
        field: str | None = None,
    ) -> None:
        where = ", ".join(
            part
            for part in (
                f"layer {layer!r}" if layer else "",
                f"feature {feature}" if feature is not None else "",
                f"field {field!r}" if field else "",
            )
            if part
        )
        super().__init__(
            f"{where}: {problem}" if where else problem, layer=layer, feature=feature, field=field
        )
        self.problem = problem
        self.layer = layer
        self.feature = feature
        self.field = field
