"""HTML from the Jinja templates beside this module, PDF through WeasyPrint, QR codes as inline SVG."""

from __future__ import annotations

from functools import lru_cache

import jinja2


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("twin.riskmap", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def template(name: str) -> jinja2.Template:
    return _env().get_template(name)


def pdf(html: str) -> bytes:
    """The page as PDF; CJK text renders with the Noto CJK fonts from fonts-noto-cjk."""
    from weasyprint import HTML

    result: bytes = HTML(string=html).write_pdf()
    return result


def qr_svg(url: str) -> str:
    """A QR code of `url` as an inline <svg> element (no XML declaration)."""
    import segno

    svg: str = segno.make(url, error="m").svg_inline(scale=3)
    return svg
