"""Draw the Unmask Studio icon with Pillow: packaging/icons/unmask-studio.{png,ico,icns}.

A face on a dark rounded square with a surgical mask half peeled away (the left half of the mask is
gone, showing the mouth). Drawn at 4x and downsampled for smooth edges. Run it again after editing:

    /work/venv/bin/python packaging/make_icon.py
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent / "icons"
APP_ICONS = Path(__file__).resolve().parents[1] / "unmask_studio" / "resources" / "icons"  # the window icon the app loads
S = 1024  # drawing size; the PNG is 256 px


def draw() -> Image.Image:
    im = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((32, 32, S - 32, S - 32), radius=200, fill=(34, 40, 52, 255))
    # face
    face = (232, 150, 792, 900)
    d.ellipse(face, fill=(236, 190, 150, 255))
    # hair
    d.chord((212, 110, 812, 620), start=180, end=360, fill=(70, 48, 36, 255))
    # eyes
    for cx in (400, 624):
        d.ellipse((cx - 42, 470, cx + 42, 540), fill=(255, 255, 255, 255))
        d.ellipse((cx - 22, 482, cx + 22, 528), fill=(48, 70, 110, 255))
    # nose and mouth (visible where the mask is peeled off)
    d.line((480, 540, 462, 630, 500, 642), fill=(190, 130, 100, 255), width=14, joint="curve")
    d.arc((360, 640, 540, 770), start=20, end=160, fill=(170, 70, 70, 255), width=18)
    # the mask: right half still on, folded back at the middle, loop to the ear
    mask = Image.new("L", (S, S), 0)
    md = ImageDraw.Draw(mask)
    md.rounded_rectangle((300, 600, 760, 860), radius=110, fill=255)
    md.rectangle((0, 0, 580, S), fill=0)  # peeled: the left part is gone
    blue = Image.new("RGBA", (S, S), (120, 190, 235, 255))
    im.paste(blue, (0, 0), mask)
    for y in (660, 730, 800):  # pleats
        d.line((590, y, 740, y), fill=(90, 160, 210, 255), width=10)
    d.line((760, 660, 800, 600), fill=(230, 240, 250, 255), width=12)  # ear loop
    d.line((760, 820, 800, 720), fill=(230, 240, 250, 255), width=12)
    # the peeled flap, folded over and lighter
    d.polygon([(580, 600), (545, 570), (530, 840), (580, 860)], fill=(175, 220, 245, 255))
    d.line((580, 600, 580, 860), fill=(90, 160, 210, 255), width=8)
    # sparkle: "restored"
    cx, cy, r = 250, 830, 70
    d.polygon([(cx, cy - r), (cx + 18, cy - 18), (cx + r, cy), (cx + 18, cy + 18), (cx, cy + r),
               (cx - 18, cy + 18), (cx - r, cy), (cx - 18, cy - 18)], fill=(255, 214, 90, 255))
    return im


def main() -> None:
    OUT.mkdir(exist_ok=True)
    big = draw()
    png = big.resize((256, 256), Image.LANCZOS)
    APP_ICONS.mkdir(parents=True, exist_ok=True)
    png.save(APP_ICONS / "unmask-studio.png", optimize=True)
    png.save(OUT / "unmask-studio.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128),
                                              (256, 256)])
    big.resize((512, 512), Image.LANCZOS).save(OUT / "unmask-studio.icns")
    print("wrote", *sorted(p.name for p in OUT.iterdir()))


if __name__ == "__main__":
    main()
