"""What a batch can be asked to do: ``BatchOptions``, each option described once (help, flag, choices,
default, range) for the command line and the editor's batch dialog alike, and the checks that refuse
values no photo could be written with."""
from __future__ import annotations

import string
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

NAME_FIELDS = ("stem", "ext", "folder")  # what a name pattern may use
OUTPUT_FORMATS = ("jpg", "png", "webp", "tif", "bmp")
FORMAT_LABELS = {"jpg": "JPEG (.jpg)", "png": "PNG (.png)", "webp": "WebP (.webp)", "tif": "TIFF (.tif)",
                 "bmp": "BMP (.bmp)"}


class BatchInputError(Exception):
    """The inputs or output folder cannot be used (missing, unreadable, output inside input...)."""


@dataclass(frozen=True)
class OptionInfo:
    """How one option is shown: ``help`` (the command line's help and the dialog's tooltip), ``label``
    (the dialog's wording, where it differs), ``flag`` (the command line's, None when it has none;
    ``negated``: the flag turns the option off), ``choices``, ``range`` (inclusive) and ``metavar``."""

    help: str
    flag: str | None = None
    negated: bool = False
    label: str = ""
    choices: tuple[str, ...] = ()
    range: tuple[int, int] | None = None
    metavar: str | None = None


def _option(default, **info) -> object:
    return field(default=default, metadata={"info": OptionInfo(**info)})


@dataclass
class BatchOptions:
    out_dir: Path
    recursive: bool = _option(True, flag="--no-recursive", negated=True, help="only the top level of input folders",
                              label="Include subfolders (their structure is kept in the output folder)")
    overwrite: bool = _option(False, flag="--overwrite", help="redo every photo and replace existing outputs "
                              "(by default finished photos are skipped and outputs of other photos kept)",
                              label="Redo every photo and replace existing outputs")
    masks_dir: Path | None = _option(None, flag="--masks", metavar="DIR",
                                     help="use masks from DIR (same file stem; white = remove) instead of finding "
                                          "masks; a photo with no mask there is copied unchanged")
    reference: Path | None = _option(None, flag="--reference", metavar="PHOTO",
                                     help="another photo of the same person without a mask, for every photo given "
                                          "(for each photo's largest face; see --reference-face): that face is "
                                          "filled by a second model that draws on it, nearer the person but softer")
    reference_face: int | None = _option(None, flag="--reference-face", metavar="N", range=(1, 999),
                                         help="the face a reference is for: faces are numbered 1, 2, 3... from left "
                                              "to right (by the centre of each face) (default: the largest face)")
    references_dir: Path | None = _option(None, flag="--references", metavar="DIR", label="Reference photos folder",
                                          help="a reference photo for each photo from DIR, matched by file stem like "
                                               "--masks (it wins over --reference); photos without one there are "
                                               "processed without a reference")
    save_masks: bool = _option(False, flag="--save-masks", help="also write each removal mask as <name>.mask.png",
                               label="Also save each removal mask as <name>.mask.png")
    out_format: str | None = _option(None, flag="--format", choices=OUTPUT_FORMATS,
                                     help="output format (default: same as each input)")
    quality: int = _option(95, flag="--quality", range=(1, 100), metavar="Q",
                           help="JPEG and WebP quality, 1-100 (default 95)")
    skip_unmasked: bool = _option(False, flag="--skip-unmasked", help="write nothing for photos with no mask found",
                                  label="Skip photos without masked faces (otherwise they are copied unchanged)")
    name_pattern: str = _option("{stem}", flag="--name", metavar="PATTERN",
                                help="output file name without extension: {stem} is the photo's name, {ext} its "
                                     "extension, {folder} its folder's name (default {stem}, e.g. "
                                     "\"{stem}_unmasked\")")
    keep_metadata: bool = _option(True, flag="--strip-metadata", negated=True,
                                  help="do not copy EXIF and colour profiles to the outputs",
                                  label="Keep metadata (EXIF, colour profile)")

    def to_json(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict, out_dir: Path | None = None) -> "BatchOptions":
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in known}
        kw["out_dir"] = Path(out_dir if out_dir is not None else kw["out_dir"])
        for name in ("masks_dir", "reference", "references_dir"):
            if kw.get(name):
                kw[name] = Path(kw[name])
        return cls(**kw)


def option_info(name: str) -> OptionInfo:
    return next(f.metadata["info"] for f in fields(BatchOptions) if f.name == name)


def option_default(name: str):
    return next(f.default for f in fields(BatchOptions) if f.name == name)


def described_options() -> list[tuple[str, object, OptionInfo]]:
    """(name, default, description) of every option a user can set, in the order they are listed."""
    return [(f.name, f.default, f.metadata["info"]) for f in fields(BatchOptions) if "info" in f.metadata]


def check_name_pattern(pattern: str) -> None:
    """Raise BatchInputError unless ``pattern`` makes a usable, distinct file name for every photo."""
    try:
        used = {f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None}
    except ValueError as e:
        raise BatchInputError(f"The name pattern “{pattern}” is not valid ({e}); "
                              "use e.g. {stem}_unmasked.") from None
    unknown = used - set(NAME_FIELDS)
    if unknown:
        raise BatchInputError(f"The name pattern uses {{{sorted(unknown)[0]}}}; it may only use "
                              + ", ".join(f"{{{f}}}" for f in NAME_FIELDS) + ".")
    if "stem" not in used:
        raise BatchInputError("The name pattern must contain {stem} (the photo's name), so every photo gets "
                              "its own output file.")
    try:  # format specs and conversions ({stem:03d}, {stem!z}) fail only when applied
        sample = pattern.format(stem="x", ext="jpg", folder="f")
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise BatchInputError(f"The name pattern “{pattern}” is not valid ({e}); "
                              "use plain fields such as {stem}_unmasked.") from None
    if any(c in sample for c in '/\\:*?"<>|') or sample.strip() in ("", ".", ".."):
        raise BatchInputError(f"The name pattern “{pattern}” would make an invalid file name; "
                              "do not use / \\ : * ? \" < > |.")


def check_options(opts: BatchOptions) -> None:
    """Raise BatchInputError for option values no photo could be written with."""
    check_name_pattern(opts.name_pattern)
    low, high = option_info("quality").range
    if not low <= int(opts.quality) <= high:
        raise BatchInputError(f"quality {opts.quality} is out of range; use {low} to {high}.")
    if opts.out_format and opts.out_format.lower().lstrip(".") not in OUTPUT_FORMATS:
        raise BatchInputError(f"format {opts.out_format} is not supported; use one of {', '.join(OUTPUT_FORMATS)}.")
    if opts.masks_dir is not None and not Path(opts.masks_dir).is_dir():
        raise BatchInputError(f"mask folder not found: {opts.masks_dir}")
    if opts.reference is not None and not Path(opts.reference).is_file():
        raise BatchInputError(f"reference photo not found: {opts.reference}")
    if opts.references_dir is not None and not Path(opts.references_dir).is_dir():
        raise BatchInputError(f"reference folder not found: {opts.references_dir}")
    if opts.reference_face is not None:
        low, high = option_info("reference_face").range
        if opts.reference is None and opts.references_dir is None:
            raise BatchInputError("--reference-face needs a reference: add --reference PHOTO or --references DIR.")
        if not low <= int(opts.reference_face) <= high:
            raise BatchInputError(f"reference face {opts.reference_face} is out of range; use {low} to {high}.")
