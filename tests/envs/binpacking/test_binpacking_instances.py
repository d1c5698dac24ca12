"""Instances: the vendored files, the parsers (tokens, arrival order, errors), generators, names."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from discoverygym.envs.binpacking import (
    InstanceFormatError,
    list_datasets,
    load_dataset,
    load_funsearch_json,
    parse_orlib,
)
from discoverygym.envs.binpacking.instances import (
    MAX_GRID_CAPACITY,
    Instance,
    data_path,
    known_optimum,
    weibull_dataset,
)

# (name, instances, items each, capacity, scale, mean optimum or None) from shared/data/README.md
SETS = [
    ("or1", 20, 120, 150, 1, 49.05),
    ("or2", 20, 250, 150, 1, 101.60),
    ("or3", 20, 500, 150, 1, 201.20),
    ("or4", 20, 1000, 150, 1, 400.55),
    ("t60", 20, 60, 100.0, 10, 20.0),
    ("weibull5k", 5, 5000, 100, 1, None),
]


@pytest.mark.parametrize("name, count, n, capacity, scale, mean_opt", SETS)
def test_named_sets_have_the_documented_shape(name, count, n, capacity, scale, mean_opt) -> None:
    data = load_dataset(name)
    assert len(data) == count and data.name == name
    for inst in data:
        assert inst.num_items == n and inst.capacity == capacity and inst.scale == scale
        assert inst.grid_capacity == round(capacity * scale)
        assert np.array_equal(inst.sizes, np.rint(np.asarray(inst.items) * scale))
        assert not inst.sizes.flags.writeable
    optima = [inst.optimum for inst in data]
    if mean_opt is None:
        assert optima == [None] * count
    else:
        assert np.mean(optima) == pytest.approx(mean_opt)


def test_weibull5k_matches_the_readme() -> None:
    sizes = np.concatenate([inst.sizes for inst in load_dataset("weibull5k")])
    assert sizes.min() == 1 and sizes.max() == 94
    assert sizes.mean() == pytest.approx(39.75, abs=0.005)


def test_or3_json_is_binpack3_item_for_item_in_arrival_order() -> None:
    orlib = parse_orlib(data_path("binpack3.txt"))
    funsearch = load_dataset("or3")
    assert [i.name for i in orlib] == funsearch.names
    for a, b in zip(orlib, funsearch):
        assert np.array_equal(a.items, b.items) and a.capacity == b.capacity


def test_arrival_order_is_the_file_order() -> None:
    first = load_dataset("or1")["u120_00"]
    assert first.items[:5].tolist() == [42, 69, 67, 57, 93]  # binpack1.txt, lines 4-8
    t60 = load_dataset("t60")["t60_00"]
    assert t60.items[:4].tolist() == [36.6, 26.8, 36.6, 43.0]
    assert t60.sizes[:4].tolist() == [366, 268, 366, 430]


def test_parser_reads_tokens_not_lines(tmp_path: Path) -> None:
    text = data_path("binpack1.txt").read_text()
    squashed = tmp_path / "squashed.txt"
    squashed.write_text("  ".join(text.split()))  # everything on one line
    for a, b in zip(parse_orlib(squashed), load_dataset("or1")):
        assert (
            a.name == b.name and np.array_equal(a.items, b.items) and a.best_known == b.best_known
        )


def test_known_optimum_uses_bpplib_not_the_stale_header() -> None:
    inst = load_dataset("or1")["u120_08"]
    assert inst.best_known == 51 and inst.optimum == 50 == known_optimum("u120_08")
    assert known_optimum("t60_00") == 20 and known_optimum("test_0") is None


@pytest.mark.parametrize(
    "text, token, expected",
    [
        ("", "token 1", "the number of problems"),
        ("1\n p\n 10 2 1\n 3\n", "token 7", "item 2 of 2 of p"),
        ("1\n p\n 10 2 1\n 3\n x\n", "token 7 (line 5)", "item 2 of 2 of p"),
        ("1\n p\n ten 2 1\n 3 4\n", "token 3 (line 3)", "the bin capacity of p"),
        ("1\n p\n 10 2.5 1\n 3 4\n", "token 4 (line 3)", "the number of items of p"),
        ("1\n p\n 10 2 1\n 3 11\n", "token 7 (line 4)", "at most the capacity"),
        ("1\n p\n 10 2 1\n 3 -4\n", "token 7 (line 4)", "item 2 of 2 of p"),
        ("1\n p\n 10 1 1\n 3\n 9\n", "token 7 (line 5)", "end of file after 1 problems"),
        ("0\n", "token 1", "the number of problems"),
    ],
)
def test_malformed_orlib_names_file_token_and_expectation(
    tmp_path: Path, text: str, token: str, expected: str
) -> None:
    path = tmp_path / "broken.txt"
    path.write_text(text)
    with pytest.raises(InstanceFormatError) as error:
        parse_orlib(path)
    message = str(error.value)
    assert (
        str(path) in message and token in message and "expected" in message and expected in message
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{", "invalid JSON"),
        ("[]", "non-empty object"),
        ('{"a": {"capacity": 10, "num_items": 2, "items": [1]}}', "num_items is 2 but items has 1"),
        ('{"a": {"capacity": 10, "items": [1]}}', "capacity, num_items and items"),
        ('{"a": {"capacity": 10, "num_items": 1, "items": ["1"]}}', "list of numbers"),
        ('{"a": {"capacity": 10, "num_items": 1, "items": [11]}}', "item 0 has size 11"),
    ],
)
def test_malformed_funsearch_json(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(InstanceFormatError, match=expected) as error:
        load_funsearch_json(path)
    assert str(path) in str(error.value)


def test_unknown_dataset_lists_known_and_close_names() -> None:
    with pytest.raises(KeyError) as error:
        load_dataset("weibul5k")
    message = str(error.value)
    assert "Did you mean weibull5k" in message
    for name in ("or1", "or4", "t60", "weibull-10k:seed=0"):
        assert name in message
    with pytest.raises(KeyError, match="bad parameter 'sead=1'"):
        load_dataset("weibull-5k:sead=1")
    with pytest.raises(KeyError, match="rounding"):
        load_dataset("weibull-5k:seed=1,rounding=ceil")


def test_list_datasets_names_every_documented_set() -> None:
    names = list_datasets()
    for name in (
        "or1",
        "or2",
        "or3",
        "or4",
        "t60",
        "weibull5k",
        "weibull-5k:seed=0",
        "weibull-10k:seed=0",
        "weibull-100k:seed=0",
        "uniform-120:seed=0",
    ):
        assert name in names and names[name]


def test_generated_sets_by_name_are_seeded() -> None:
    a, b, c = (
        load_dataset("weibull-5k:seed=0"),
        weibull_dataset(5000, 0),
        load_dataset("weibull-5k:seed=1"),
    )
    assert len(a) == 5 and all(i.num_items == 5000 and i.capacity == 100 for i in a)
    assert all(np.array_equal(x.items, y.items) for x, y in zip(a, b))
    assert not np.array_equal(a[0].items, c[0].items)
    big = load_dataset("weibull-100k:seed=0")
    assert len(big) == 1 and big[0].num_items == 100_000
    assert len(load_dataset("weibull-10k:seed=0")) == 5
    uniform = load_dataset("uniform-120:seed=0")
    sizes = np.concatenate([i.sizes for i in uniform])
    assert (
        len(uniform) == 20
        and uniform[0].capacity == 150
        and sizes.min() >= 20
        and sizes.max() <= 100
    )


def test_weibull_floor_and_round_follow_the_distribution() -> None:
    floor = weibull_dataset(100_000, 7, 1)[0].sizes
    rounded = weibull_dataset(100_000, 7, 1, rounding="round")[0].sizes
    assert floor.min() >= 1 and floor.max() <= 100 and rounded.min() >= 1
    # E[floor(X)] ~ 39.7 and E[X] ~ 40.2 for X ~ 45 Weibull(3) (shared/data/README.md)
    assert floor.mean() == pytest.approx(39.7, abs=0.2) and rounded.mean() == pytest.approx(
        40.2, abs=0.2
    )
    assert np.all(rounded - floor >= 0) and np.all(rounded - floor <= 1)


@given(
    st.lists(
        st.tuples(st.integers(1, 500), st.lists(st.integers(1, 500), min_size=1, max_size=30)),
        min_size=1,
        max_size=4,
    )
)
def test_orlib_text_round_trips(problems: list[tuple[int, list[int]]]) -> None:
    lines = [f" {len(problems)}"]
    for k, (capacity, items) in enumerate(problems):
        items = [min(x, capacity) for x in items]
        lines += [f" p{k} ", f" {capacity} {len(items)} 1", *[str(x) for x in items]]
    parsed = parse_orlib(Path("memory.txt"), "\n".join(lines) + "\n")
    assert [p.name for p in parsed] == [f"p{k}" for k in range(len(problems))]
    for inst, (capacity, items) in zip(parsed, problems):
        assert (
            inst.items.tolist() == [min(x, capacity) for x in items] and inst.capacity == capacity
        )


def test_custom_instances_validate_sizes() -> None:
    with pytest.raises(ValueError, match="item 1 has size 0;"):
        Instance.from_items("x", 10, [3, 0])
    with pytest.raises(ValueError, match="multiples of 1e-6"):
        Instance.from_items("x", 1.0, [1 / 3])
    inst = Instance.from_items("x", 1.0, [0.25, 0.5])
    assert inst.scale == 100 and inst.sizes.tolist() == [25, 50] and inst.grid_capacity == 100


# --------------------------------------------------------------------------- hostile input

ORLIB_HOSTILE = [
    # (capacity token, item tokens, what the error must name)
    ("150", ["1e301", "20"], r"memory\.txt: token 6 \(line 4\).*capacity 150.*'1e301'"),
    ("1e301", ["20", "20"], r"line 3\).*at most 16777216, found '1e301'"),
    ("1" + "0" * 30, ["20", "20"], r"line 3\).*at most 16777216, found '10{30}'"),
    ("150", ["0.000000001", "20"], r"line 4\).*at most 6 decimals, found '0\.000000001'"),
    ("150", ["0.000001", "20"], r"line 3: the capacity 150 .*scale 1000000.*2\*\*24"),
    ("150", ["nan", "20"], r"line 4\).*found 'nan'"),
    ("150", ["-Infinity", "20"], r"line 4\).*found '-Infinity'"),
]


@pytest.mark.parametrize(("capacity", "items", "message"), ORLIB_HOSTILE)
def test_orlib_refuses_sizes_beyond_the_grid_naming_file_line_and_token(
    capacity: str, items: list[str], message: str
) -> None:
    text = f"1\nu1\n{capacity} {len(items)} 1\n" + "\n".join(items) + "\n"
    with pytest.raises(InstanceFormatError, match=message):
        parse_orlib(Path("memory.txt"), text)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('{"capacity": 1e30, "num_items": 1, "items": [3]}', r"line 2: .*1e\+30.*2\*\*24"),
        ('{"capacity": 150, "num_items": 1, "items": [1e-9]}', r"line 2: .*1e-6.*1e-09"),
        ('{"capacity": 150, "num_items": 1, "items": [1e301]}', r"line 2: .*size 1e\+301"),
    ],
)
def test_funsearch_json_refuses_sizes_beyond_the_grid_naming_file_and_line(
    entry: str, message: str
) -> None:
    with pytest.raises(InstanceFormatError, match=r"^memory\.json: " + message):
        load_funsearch_json(Path("memory.json"), '{\n"big": ' + entry + "\n}")


TOKENS = st.one_of(
    st.integers(-5, 10**6).map(str),
    st.sampled_from(["1e301", "1e-9", "0.000001", "1" + "0" * 30, "nan", "inf", "-0", "x", "1.5"]),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


@given(capacity=TOKENS, items=st.lists(TOKENS, min_size=1, max_size=6))
def test_orlib_parser_either_builds_a_bounded_instance_or_names_the_line(
    capacity: str, items: list[str]
) -> None:
    text = f"1\np\n{capacity} {len(items)} 1\n" + "\n".join(items) + "\n"
    try:
        (inst,) = parse_orlib(Path("fuzz.txt"), text)
    except InstanceFormatError as error:
        assert str(error).startswith("fuzz.txt: ") and "line" in str(error)
        return
    assert 1 <= inst.grid_capacity <= MAX_GRID_CAPACITY
    assert inst.sizes.min() >= 1 and inst.sizes.max() <= inst.grid_capacity


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("weibull-99999999999k:seed=1", r"1 x 99999999999000 items.*TiB.*limit of 1 GiB"),
        ("weibull-5k:seed=1,count=1000000000", r"1000000000 x 5000 items.*limit of 1 GiB"),
        ("uniform-100000000:seed=0", r"20 x 100000000 items.*limit of 1 GiB"),
    ],
)
def test_generated_sets_beyond_the_memory_limit_are_refused_before_drawing(
    name: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        load_dataset(name)


def test_generated_capacity_beyond_the_grid_names_it() -> None:
    with pytest.raises(KeyError, match=r"capacity 1e\+30.*MAX_GRID_CAPACITY"):
        load_dataset("weibull-5:seed=1,capacity=" + "1" + "0" * 30)


def test_custom_instances_refuse_sizes_beyond_the_grid() -> None:
    with pytest.raises(ValueError, match=r"capacity 1e\+30 .*2\*\*24"):
        Instance.from_items("x", 10**30, [3])
    with pytest.raises(ValueError, match=r"1e-6.*1e-09"):
        Instance.from_items("x", 150, [1e-9, 3])
    assert Instance.from_items("x", MAX_GRID_CAPACITY, [1]).grid_capacity == MAX_GRID_CAPACITY


@pytest.mark.parametrize("name", [10**6, None, ("or1",)])
def test_names_of_the_wrong_type_are_named(name) -> None:
    with pytest.raises(TypeError, match=re.escape(repr(name))):
        load_dataset(name)
    with pytest.raises(TypeError, match=re.escape(repr(name))):
        load_dataset("or1").instance(name)
