"""The embedded model registry: assembly from parts, hash verification, AMX-safe loading."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from discoverygym.agents.evolution import models
from discoverygym.agents.evolution.llm import make_backend
from discoverygym.agents.evolution.models import (
    MODELS,
    EmbeddedModel,
    ModelIntegrityError,
    assemble,
    get_model,
    verify,
)


def fake_parts(tmp_path: Path, monkeypatch, chunks: list[bytes], prefix: str = "fakepart"):
    """Importable modules `<prefix>1..N`, each with data/partNN.bin holding one chunk."""
    names = []
    for i, chunk in enumerate(chunks, start=1):
        folder = tmp_path / "site" / f"{prefix}{i}"
        (folder / "data").mkdir(parents=True)
        (folder / "__init__.py").write_text("")
        (folder / "data" / f"part{i:02d}.bin").write_bytes(chunk)
        names.append(f"{prefix}{i}")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in names:
        sys.modules.pop(name, None)
    return tuple(names)


def spec_for(data: bytes, parts: tuple[str, ...]) -> EmbeddedModel:
    return EmbeddedModel(key="tiny", title="tiny", filename="tiny.gguf", size=len(data),
                         sha256=hashlib.sha256(data).hexdigest(), licence="test", source="test",
                         parts=parts)


def test_assembles_parts_in_order_and_verifies(tmp_path, monkeypatch):
    chunks = [b"GGUF" + bytes(range(256)) * 3, b"middle" * 1000, b"tail"]
    model = spec_for(b"".join(chunks), fake_parts(tmp_path, monkeypatch, chunks))
    target = assemble(model, tmp_path / "cache" / model.filename, progress=False)
    assert target.read_bytes() == b"".join(chunks)
    verify(model, target)  # no error
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["tiny.gguf"]  # no temp left


def test_corrupted_part_is_refused_and_leaves_no_file(tmp_path, monkeypatch):
    chunks = [b"a" * 1000, b"b" * 1000]
    model = spec_for(b"".join(chunks), fake_parts(tmp_path, monkeypatch, [b"a" * 1000, b"b" * 999 + b"X"]))
    target = tmp_path / "cache" / model.filename
    with pytest.raises(ModelIntegrityError) as error:
        assemble(model, target, progress=False)
    message = str(error.value)
    assert model.sha256 in message and hashlib.sha256(b"a" * 1000 + b"b" * 999 + b"X").hexdigest() in message
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_interrupted_assembly_never_leaves_a_loadable_file(tmp_path, monkeypatch):
    chunks = [b"x" * 5000, b"y" * 5000]
    model = spec_for(b"".join(chunks), fake_parts(tmp_path, monkeypatch, chunks))
    target = tmp_path / "cache" / model.filename
    calls = {"n": 0}
    real = models._read_chunks

    def dies_midway(path):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        yield from real(path)

    monkeypatch.setattr(models, "_read_chunks", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        assemble(model, target, progress=False)
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_verify_names_the_file_and_both_hashes(tmp_path):
    data = b"model bytes"
    model = spec_for(data, ())
    path = tmp_path / "m.gguf"
    path.write_bytes(b"model bytez")
    with pytest.raises(ModelIntegrityError) as error:
        verify(model, path)
    assert str(path) in str(error.value) and model.sha256 in str(error.value)
    assert hashlib.sha256(b"model bytez").hexdigest() in str(error.value)
    path.write_bytes(b"short")
    with pytest.raises(ModelIntegrityError, match="5 bytes, expected 11"):
        verify(model, path)


def test_missing_part_names_the_pip_command(monkeypatch):
    model = EmbeddedModel(key="ghost", title="", filename="g.gguf", size=1, sha256="0",
                          licence="", source="", parts=("no_such_part_module_1",), extra="llm")
    with pytest.raises(ImportError, match=r"no-such-part-module-1: pip install 'discoverygym\[llm\]'"):
        model.part_files()


def test_registry_and_unknown_names():
    assert {"gemma-270m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"} <= set(MODELS)
    assert get_model("qwen-0.5b").key == "qwen2.5-coder-0.5b"
    for key, model in MODELS.items():
        assert model.licence and model.source and model.title, key
    with pytest.raises(KeyError, match="qwen2.5-coder-0.5b"):
        get_model("llama-9000")
    with pytest.raises(ValueError, match="qwen2.5-coder-1.5b"):
        make_backend("llama-9000")


def test_the_amx_flag_reaches_llama_cpp(monkeypatch):
    """`load_llama` hands Llama params with use_extra_bufts off, and restores the defaults."""
    bindings = pytest.importorskip("llama_cpp.llama_cpp")
    import llama_cpp

    from discoverygym.agents.evolution.llm import load_llama

    seen = {}
    original = bindings.llama_model_default_params

    class FakeLlama:
        def __init__(self, model_path, **kwargs):
            self.model_params = bindings.llama_model_default_params()
            seen["flag"] = self.model_params.use_extra_bufts

    monkeypatch.setattr(llama_cpp, "Llama", FakeLlama)
    load_llama("whatever.gguf", n_ctx=8)
    assert seen["flag"] is False
    assert bindings.llama_model_default_params is original
    assert original().use_extra_bufts is True  # llama.cpp's default, which crashes on AMX


def _embedded_available(key: str) -> bool:
    try:
        get_model(key).part_files()
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.slow
def test_qwen_05b_verifies_and_generates_real_tokens():
    """The default evolution model: assembled, hash-checked, AMX-safe, writes code."""
    if not _embedded_available("qwen2.5-coder-0.5b"):
        pytest.skip("the llm extra is not installed")
    from discoverygym.agents.evolution import SamplingConfig
    from discoverygym.agents.evolution.llm import LlamaCppBackend

    backend = LlamaCppBackend(model="qwen2.5-coder-0.5b", n_ctx=512,
                              sampling=SamplingConfig(max_tokens=24, temperature=0.0, seed=0))
    verify(get_model("qwen2.5-coder-0.5b"), Path(backend.model_path))
    assert backend.llama.model_params.use_extra_bufts is False
    (text,) = backend.sample("def add(a: int, b: int) -> int:\n    \"\"\"Return a + b.\"\"\"\n")
    assert "return" in text and backend.tokens["completion"] > 0
    (reply,) = backend.chat([{"role": "user", "content": "Write a Python function that "
                                                          "returns the square of x."}])
    assert "def" in reply or "**" in reply or "*" in reply


def test_every_model_extra_exists_under_its_normalised_name():
    """`pip install 'discoverygym[<extra>]'` as the error message says: setuptools writes extras
    normalised (`llm-1.5b` becomes `llm-1-5b`), and pip 23 does not normalise the request."""
    import configparser
    import re
    from pathlib import Path

    from discoverygym.agents.evolution.models import MODELS

    config = configparser.ConfigParser()
    config.read(Path(__file__).resolve().parents[3] / "setup.cfg")
    extras = set(config["options.extras_require"])
    for model in MODELS.values():
        assert model.extra in extras, model.key
        assert model.extra == re.sub(r"[-_.]+", "-", model.extra).lower(), model.extra
