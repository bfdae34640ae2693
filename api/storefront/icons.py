"""Makes the PWA icons committed in `static/icons/` (run again after changing them):
`python -m api.storefront.icons`. Pillow is a development dependency only."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent / "static" / "icons"
GREEN = (27, 94, 32, 255)
LEAF = (200, 230, 201, 255)


def icon(size: int, maskable: bool = False) -> object:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (size, size), GREEN if maskable else (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if not maskable:
        draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 6, fill=GREEN)
    inset = size // 4 if maskable else size // 6
    draw.ellipse((inset, inset, size - inset, size - inset), fill=LEAF)
    draw.line(
        (inset * 1.4, size - inset * 1.4, size - inset * 1.4, inset * 1.4),
        fill=GREEN,
        width=max(2, size // 24),
    )
    return image


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("icon-maskable-512.png", 512, True),
    ):
        icon(size, maskable).save(HERE / name, optimize=True)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
