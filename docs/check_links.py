"""Check that every local link and resource of a built HTML site exists.

Sphinx's ``linkcheck`` builder needs the network; this offline check parses each built page
and verifies that every relative ``href``/``src`` (links, images, scripts, stylesheets)
points to an existing file and, where it carries a ``#fragment``, to an existing ``id`` in
the target page. External URLs (http, https, mailto, data) are not fetched: only listed with
``--list-external``.

Usage: ``python docs/check_links.py docs/_build/html [--list-external]``; exits 1 on any
broken link, printing each with the page it is on.
"""

from __future__ import annotations

import argparse
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

LINK_ATTRIBUTES = {"href", "src"}
EXTERNAL_SCHEMES = {"http", "https", "mailto", "data", "javascript", "ftp"}


class _PageParser(HTMLParser):
    """Collect the link targets and element ids of one page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name in LINK_ATTRIBUTES:
                self.links.append(value)
            elif name == "srcset":
                self.links.extend(part.split()[0] for part in value.split(",") if part.strip())
            elif name in {"id", "name"}:
                self.ids.add(value)


def _parse(page: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(page.read_text(encoding="utf-8", errors="replace"))
    return parser


def check_site(root: Path, *, list_external=False) -> list[str]:
    """Return one line per broken local link of the site under ``root``."""
    root = root.resolve()
    # _static holds the theme's assets, including un-rendered template snippets (*.html).
    pages = sorted(p for p in root.rglob("*.html") if "_static" not in p.relative_to(root).parts)
    if not pages:
        return [f"no HTML pages under {root}"]
    parsed = {page: _parse(page) for page in pages}
    broken, external = [], set()
    for page, parser in parsed.items():
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme in EXTERNAL_SCHEMES or link.startswith("//"):
                external.add(link)
                continue
            if parts.scheme:  # file:// or an unknown scheme: never valid in a portable site
                broken.append(f"{page.relative_to(root)}: non-portable link {link}")
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(root)}: missing {link}")
                continue
            if root not in target.parents and target != root:
                broken.append(f"{page.relative_to(root)}: points outside the site: {link}")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if fragment not in ids:
                    broken.append(f"{page.relative_to(root)}: no anchor #{fragment} in {link}")
    if list_external:
        for link in sorted(external):
            print(f"external (not checked): {link}")
    return broken


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="folder of the built HTML site")
    parser.add_argument("--list-external", action="store_true", help="print external URLs")
    args = parser.parse_args(argv)
    broken = check_site(args.site, list_external=args.list_external)
    for line in broken:
        print(line)
    n_pages = len([p for p in args.site.rglob("*.html") if "_static" not in p.parts])
    if broken:
        print(f"check_links: {len(broken)} broken local link(s) in {n_pages} pages")
        return 1
    print(f"check_links: every local link and image of {n_pages} pages exists")
    return 0


if __name__ == "__main__":
    sys.exit(main())
