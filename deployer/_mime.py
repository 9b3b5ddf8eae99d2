"""Content types for static assets, chosen the way wrangler chooses them.

wrangler uploads each asset with the type its `getContentType` returns (workers-shared `utils/helpers.ts`):
the npm `mime` package (v4, standard + "other" tables) looks up the file extension, and any `text/*` type that
has no `charset` parameter gets `; charset=utf-8` appended. When `mime` knows no type, wrangler sends
`application/null`, which the API reads as "serve this asset without a Content-Type header".

Cloudflare stores the type per asset hash and serves it with the asset, so it matters that we pick the same
type as wrangler. This module keeps a fixed table of the extensions a web project realistically ships (every
entry checked against `mime@4.0.7`, the version bundled in wrangler 4.86) instead of Python's `mimetypes`,
whose answers depend on the machine's `/etc/mime.types`. Extensions outside the table fall back to
`application/null`; the full `mime` database knows about 1,200 more, mostly vendor formats.

How the extension is found follows `mime.getType`: the text after the last `.` of the file name, lower-cased,
and only when that dot is not the first character (so `.htaccess` and `Makefile` have no type).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

__all__ = ["UNKNOWN_CONTENT_TYPE", "content_type", "extension_of"]

UNKNOWN_CONTENT_TYPE: Final = "application/null"
"""What wrangler sends for a file whose type `mime` does not know."""

# type -> extensions; every pair matches `mime@4.0.7` (`new Mime(standard, other)`).
_TYPES: Final[dict[str, tuple[str, ...]]] = {
    # text (all of these get "; charset=utf-8")
    "text/html": ("html", "htm", "shtml"),
    "text/css": ("css",),
    "text/javascript": ("js", "mjs"),
    "text/jsx": ("jsx",),
    "text/plain": ("txt", "text", "conf", "def", "list", "log", "in", "ini"),
    "text/csv": ("csv",),
    "text/tab-separated-values": ("tsv",),
    "text/markdown": ("md", "markdown"),
    "text/calendar": ("ics", "ifb"),
    "text/cache-manifest": ("appcache", "manifest"),
    "text/vtt": ("vtt",),
    "text/yaml": ("yaml", "yml"),
    "text/mathml": ("mml",),
    "text/coffeescript": ("coffee", "litcoffee"),
    "text/less": ("less",),
    "text/stylus": ("styl", "stylus"),
    "text/x-sass": ("sass",),
    "text/x-scss": ("scss",),
    "text/jade": ("jade",),
    "text/slim": ("slim",),
    "text/wgsl": ("wgsl",),
    "text/x-c": ("c", "cc", "cpp", "cxx", "h", "hh", "dic"),
    "text/x-java-source": ("java",),
    "text/x-vcard": ("vcf",),
    # application
    "application/json": ("json", "map"),
    "application/ld+json": ("jsonld",),
    "application/geo+json": ("geojson",),
    "application/manifest+json": ("webmanifest",),
    "application/node": ("cjs",),
    "application/xml": ("xml", "xsl", "xsd", "rng"),
    "application/xml-dtd": ("dtd",),
    "application/xslt+xml": ("xslt",),
    "application/xhtml+xml": ("xhtml", "xht"),
    "application/rss+xml": ("rss",),
    "application/atom+xml": ("atom",),
    "application/rdf+xml": ("rdf",),
    "application/gpx+xml": ("gpx",),
    "application/vnd.google-earth.kml+xml": ("kml",),
    "application/vnd.google-earth.kmz": ("kmz",),
    "application/wasm": ("wasm",),
    "application/pdf": ("pdf",),
    "application/postscript": ("ps", "eps", "ai"),
    "application/rtf": ("rtf",),
    "application/sql": ("sql",),
    "application/toml": ("toml",),
    "application/epub+zip": ("epub",),
    "application/zip": ("zip",),
    "application/gzip": ("gz",),
    "application/x-tar": ("tar",),
    "application/x-bzip2": ("bz2",),
    "application/x-xz": ("xz",),
    "application/x-7z-compressed": ("7z",),
    "application/vnd.rar": ("rar",),
    "application/java-archive": ("jar",),
    "application/vnd.android.package-archive": ("apk",),
    "application/x-sh": ("sh",),
    "application/x-httpd-php": ("php",),
    "application/x-subrip": ("srt",),
    "application/vnd.apple.mpegurl": ("m3u8",),
    "application/dash+xml": ("mpd",),
    "application/ogg": ("ogx",),
    "application/x-x509-ca-cert": ("pem", "crt", "der"),
    "application/pkix-cert": ("cer",),
    "application/pgp-keys": ("asc",),
    "application/pgp-signature": ("sig",),
    "application/x-bittorrent": ("torrent",),
    "application/msword": ("doc",),
    "application/vnd.ms-excel": ("xls",),
    "application/vnd.ms-powerpoint": ("ppt",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("pptx",),
    "application/vnd.oasis.opendocument.text": ("odt",),
    "application/vnd.oasis.opendocument.spreadsheet": ("ods",),
    "application/vnd.oasis.opendocument.presentation": ("odp",),
    "application/vnd.ms-fontobject": ("eot",),
    "application/octet-stream": ("bin", "exe", "dll", "so", "dmg", "iso", "img", "msi", "deb", "pkg", "dump"),
    # images
    "image/png": ("png",),
    "image/apng": ("apng",),
    "image/jpeg": ("jpg", "jpeg", "jpe"),
    "image/pjpeg": ("jfif",),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
    "image/avif": ("avif",),
    "image/heic": ("heic",),
    "image/heif": ("heif",),
    "image/jxl": ("jxl",),
    "image/jp2": ("jp2",),
    "image/bmp": ("bmp",),
    "image/tiff": ("tif", "tiff"),
    "image/svg+xml": ("svg", "svgz"),
    "image/vnd.microsoft.icon": ("ico",),
    "image/vnd.adobe.photoshop": ("psd",),
    "image/ktx": ("ktx",),
    "image/ktx2": ("ktx2",),
    # fonts
    "font/woff": ("woff",),
    "font/woff2": ("woff2",),
    "font/ttf": ("ttf",),
    "font/otf": ("otf",),
    "font/collection": ("ttc",),
    # audio
    "audio/mpeg": ("mp3", "mpga"),
    "audio/mp4": ("m4a",),
    "audio/aac": ("aac",),
    "audio/wav": ("wav",),
    "audio/webm": ("weba",),
    "audio/ogg": ("ogg", "oga", "opus", "spx"),
    "audio/x-flac": ("flac",),
    "audio/midi": ("mid", "midi"),
    "audio/x-mpegurl": ("m3u",),
    # video
    "video/mp4": ("mp4", "mp4v", "mpg4"),
    "video/x-m4v": ("m4v",),
    "video/quicktime": ("mov", "qt"),
    "video/webm": ("webm",),
    "video/ogg": ("ogv",),
    "video/x-matroska": ("mkv",),
    "video/x-msvideo": ("avi",),
    "video/mpeg": ("mpeg", "mpg", "mpe"),
    "video/mp2t": ("ts", "m2t", "m2ts", "mts"),
    "video/3gpp": ("3gp",),
    "video/3gpp2": ("3g2",),
    # 3D models
    "model/gltf+json": ("gltf",),
    "model/gltf-binary": ("glb",),
    "model/obj": ("obj",),
    "model/stl": ("stl",),
    "model/vnd.usdz+zip": ("usdz",),
}


def _with_charset(mime_type: str) -> str:
    """Append `; charset=utf-8` to a `text/*` type without a charset, as wrangler's `getContentType` does."""
    if mime_type.startswith("text/") and "charset" not in mime_type:
        return f"{mime_type}; charset=utf-8"
    return mime_type


_BY_EXTENSION: Final = MappingProxyType(
    {ext: _with_charset(mime_type) for mime_type, exts in _TYPES.items() for ext in exts}
)


def extension_of(name: str) -> str:
    """Return the extension of a file name without its dot, as Node's `path.extname` finds it.

    The extension is the text after the last `.`; a name whose only dot is its first character (`.htaccess`),
    or that has no dot, has none (`""`). Case is kept. `name` may be a path: only its last `/`-separated part
    counts. This is the extension wrangler puts into the asset hash.
    """
    base = name.rpartition("/")[2]
    dot = base.rfind(".")
    if dot <= 0:
        return ""
    return base[dot + 1 :]


def content_type(name: str) -> str:
    """Return the Content-Type wrangler would upload for a file called `name` (a name or a `/` path).

    `text/*` types carry `; charset=utf-8`; an extension the table does not know (or no extension) gives
    `application/null`. The lookup ignores case (`INDEX.HTML` is `text/html; charset=utf-8`).
    """
    return _BY_EXTENSION.get(extension_of(name).lower(), UNKNOWN_CONTENT_TYPE)
