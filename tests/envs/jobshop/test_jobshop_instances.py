"""Instances: the 162 shipped files and bounds, both parsers (incl. malformed input), named sets,
the generator and the near-name suggestions."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discoverygym.envs.jobshop.instances import (
    BOUNDS_CSV,
    MAX_HORIZON,
    InstanceFormatError,
    JobShopInstance,
    dataset_names,
    generate_instance,
    instance_names,
    list_instances,
    load_dataset,
    load_instance,
    parse_standard,
    parse_taillard,
    read_instance_file,
    resolve_dataset,
)

FT06 = """# ft06
6 6
2  1  0  3  1  6  3  7  5  3  4  6
1  8  2  5  4 10  5 10  0 10  3  4
2  5  3  4  5  8  0  9  1  1  4  7
1  5  0  5  2  5  3  3  4  8  5  9
2  9  1  3  4  5  5  4  0  3  3  1
1  3  3  3  5  9  0 10  4  4  2  1
"""


def test_all_162_instances_load_with_bounds() -> None:
    names = instance_names()
    assert len(names) == 162
    with BOUNDS_CSV.open() as handle:
        rows = {row["instance"]: row for row in csv.DictReader(handle)}
    for name in names:
        inst = load_instance(name)
        row = rows[name]
        assert inst.shape == (int(row["jobs"]), int(row["machines"]))
        assert inst.durations.shape == inst.machines.shape == (inst.num_jobs, inst.num_machines)
        # every job visits every machine exactly once
        assert (np.sort(inst.machines, axis=1) == np.arange(inst.num_machines)).all(), name
        assert inst.durations.min() >= (0 if name.startswith("orb") else 1)  # orb07 has a 0
        assert inst.trivial_lower_bound <= inst.lower_bound <= inst.upper_bound
        assert inst.optimal == (inst.lower_bound == inst.upper_bound)


def test_published_values() -> None:
    # Classical optima (README of the data, SOURCES.md): ft06 55, ft10 930, ft20 1165, la29 1152,
    # ta51 2760, ta80 5183; ta30 is open at 1562..1584.
    for name, value in {"ft06": 55, "ft10": 930, "ft20": 1165, "la29": 1152, "ta51": 2760, "ta80": 5183}.items():
        inst = load_instance(name)
        assert inst.optimal and inst.upper_bound == value
    ta30 = load_instance("ta30")
    assert (ta30.lower_bound, ta30.upper_bound, ta30.optimal) == (1562, 1584, False)
    ft06 = load_instance("ft06")
    assert ft06.machines[0].tolist() == [2, 0, 1, 3, 5, 4]
    assert ft06.durations[0].tolist() == [1, 3, 6, 7, 3, 6]
    ta01 = load_instance("TA01")
    assert ta01.shape == (15, 15) and ta01.durations[0, 0] == 94 and ta01.machines[0, 0] == 6


def test_arrays_are_read_only() -> None:
    inst = load_instance("ft06")
    with pytest.raises(ValueError):
        inst.durations[0, 0] = 5


def test_list_instances_filters() -> None:
    assert len(list_instances(family="ta")) == 80
    assert list_instances(min_jobs=100) == [f"ta{i}" for i in range(71, 81)]
    assert list_instances(max_jobs=6) == ["ft06"]
    open_ = list_instances(solved=False)
    assert {"ta30", "ta32", "ta40", "ta41", "ta50"} <= set(open_)
    assert not set(open_) & set(list_instances(family="la"))
    assert len(list_instances(solved=True)) + len(open_) == 162
    assert all(load_instance(n).num_machines == 20 for n in list_instances(machines=20))
    with pytest.raises(KeyError, match="did you mean"):
        list_instances(family="tai")


def test_named_sets() -> None:
    assert resolve_dataset("taillard-15x15") == [f"ta{i:02d}" for i in range(1, 11)]
    assert resolve_dataset("taillard-100x20") == [f"ta{i}" for i in range(71, 81)]
    for size in ("taillard-20x15", "taillard-20x20", "taillard-30x15", "taillard-30x20", "taillard-50x15", "taillard-50x20"):
        jobs, machines = map(int, size.split("-")[1].split("x"))
        assert {load_instance(n).shape for n in resolve_dataset(size)} == {(jobs, machines)}
    assert resolve_dataset("ft") == ["ft06", "ft10", "ft20"]
    assert len(resolve_dataset("la")) == 40 and len(resolve_dataset("all")) == 162
    assert {load_instance(n).shape for n in resolve_dataset("la-10x10")} == {(10, 10)}
    assert resolve_dataset("ft06, la01") == ["ft06", "la01"]
    assert set(dataset_names()) >= {"ft", "la", "ta", "taillard-15x15"}
    assert [i.name for i in load_dataset("random-5x4:seed=7,n=2")] == ["random-5x4:seed=7", "random-5x4:seed=8"]
    assert resolve_dataset("random-8x3") == (8, 3)
    with pytest.raises(ValueError, match="endless generator"):
        load_dataset("random-8x3")
    with pytest.raises(KeyError, match="taillard-15x15"):
        resolve_dataset("taillard-15x16")


def test_unknown_names_suggest_near_names() -> None:
    with pytest.raises(KeyError, match="ta01"):
        load_instance("ta1")
    with pytest.raises(KeyError, match="ft10"):
        load_instance("ft100")
    with pytest.raises(KeyError, match="la01"):
        resolve_dataset("ft06,la1")


def test_generator_is_seeded_and_taillard_style() -> None:
    a, b = load_instance("random-10x10:seed=0"), load_instance("random-10x10:seed=0")
    assert np.array_equal(a.durations, b.durations) and np.array_equal(a.machines, b.machines)
    c = load_instance("random-10x10:seed=1")
    assert not np.array_equal(a.durations, c.durations)
    big = generate_instance(50, 20, np.random.default_rng(3))
    assert (np.sort(big.machines, axis=1) == np.arange(20)).all()
    assert big.durations.min() >= 1 and big.durations.max() <= 99
    assert big.lower_bound is None and big.upper_bound is None
    with pytest.raises(ValueError, match="seed=S"):
        load_instance("random-10x10")
    with pytest.raises(ValueError, match="bad generator spec"):
        load_instance("random-10x10:sed=1")


def test_standard_parser_roundtrip_and_file(tmp_path: Path) -> None:
    inst = parse_standard(FT06, name="mine")
    assert np.array_equal(inst.durations, load_instance("ft06").durations)
    path = tmp_path / "mine.txt"
    path.write_text("\n\n" + FT06 + "\n# trailing comment\n")
    assert np.array_equal(load_instance(str(path)).machines, load_instance("ft06").machines)
    assert read_instance_file(path).name == "mine"


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("", None, "header"),
        ("# only a comment\n", None, "header"),
        ("2\n0 1 1 1\n", 1, "two positive integers"),
        ("2 x\n", 1, "'x'"),
        ("2 2\n0 1 1 2\n", 2, "expected 2 job lines"),
        ("2 2\n0 1 1 2\n1 3 0\n", 3, "even count"),
        ("2 2\n0 1 1 2\n1 3\n", 3, "expected 2 operations"),
        ("2 2\n0 1 2 2\n1 3 0 4\n", 2, "machine ids in 0..1"),
        ("2 2\n0 1 1 -2\n1 3 0 4\n", 2, "durations >= 0"),
        ("2 2\n0 1 1 2\n1 3 0 4\n0 1 1 1\n", 4, "end of the file"),
        ("2 2\n0 1 1 2\n1 3 0 4.5\n", 3, "'4.5'"),
    ],
)
def test_standard_parser_errors_name_file_line_and_expectation(text: str, line: int | None, expected: str) -> None:
    with pytest.raises(InstanceFormatError) as error:
        parse_standard(text, source="bad.txt")
    message = str(error.value)
    assert message.startswith("bad.txt" if line is None else f"bad.txt:{line}:")
    assert expected in message


TAILLARD = """Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound
 3 2 840612802 398197754 20 15
Times
 5 6
 7 1
 2 2
Machines
 1 2
 2 1
 1 2
"""


def test_taillard_parser(tmp_path: Path) -> None:
    inst = parse_taillard(TAILLARD, name="t")
    assert inst.machines.tolist() == [[0, 1], [1, 0], [0, 1]]
    assert inst.durations.tolist() == [[5, 6], [7, 1], [2, 2]]
    assert (inst.upper_bound, inst.lower_bound, inst.optimal) == (20, 15, False)
    bare = parse_taillard("3 2\n5 6\n7 1\n2 2\n1 2\n2 1\n1 2\n")
    assert np.array_equal(bare.machines, inst.machines) and bare.upper_bound is None
    path = tmp_path / "tai.txt"
    path.write_text(TAILLARD)
    assert np.array_equal(load_instance(str(path)).durations, inst.durations)


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("Nb of jobs\n", None, "jobs machines"),
        ("3 2 1\n", 1, "2, 4 or 6 integers"),
        ("3 2\nTimes\n5 6\n7 1\n", 4, "expected 3 lines of times"),
        ("3 2\n5 6\n7 1 4\n2 2\n1 2\n2 1\n1 2\n", 3, "expected 2 integers (times of job 1)"),
        ("3 2\n5 6\n7 1\n2 2\n1 2\n2 1\n1 3\n", None, "1-based machine ids in 1..2"),
        ("3 2\n5 6\n7 1\n2 2\n1 2\n2 1\n1 2\n9\n", 8, "end of the file"),
    ],
)
def test_taillard_parser_errors(text: str, line: int | None, expected: str) -> None:
    with pytest.raises(InstanceFormatError) as error:
        parse_taillard(text, source="tai.txt")
    message = str(error.value)
    assert message.startswith("tai.txt" if line is None else f"tai.txt:{line}:")
    assert expected in message


def test_instance_validation() -> None:
    with pytest.raises(ValueError, match="same shape"):
        JobShopInstance("x", np.zeros((2, 2)), np.zeros((2, 3)), num_machines=2)
    with pytest.raises(ValueError, match="machine ids"):
        JobShopInstance("x", np.full((2, 2), 2), np.ones((2, 2)), num_machines=2)


# --------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    ("parser", "text", "message"),
    [
        (parse_standard, "1 1\n0 " + "1" + "0" * 30 + "\n", r"^f\.txt:2: .*10{30}, beyond .*2147483647"),
        (parse_standard, "2 1\n0 1000000000\n0 1000000000\n", r"^f\.txt:3: .*sum to 2000000000.*2\*\*30 - 1"),
        (parse_standard, "1 2\n0 3 0 4\n", r"^f\.txt:2: job 0 visits machine 0 twice"),
        (parse_standard, "1 " + "9" * 40 + "\n0 3\n", r"^f\.txt:1: .*9{40}, beyond"),
        (parse_taillard, "1 1 1 1 5 10\n3\n1\n", r"^f\.txt:1: expected bounds 0 <= lower <= upper.*upper 5 and lower 10"),
        (parse_taillard, "1 1 1 1 -5 -10\n3\n1\n", r"^f\.txt:1: .*upper -5 and lower -10"),
        (parse_taillard, "1 1 1 1 5 -1\n3\n1\n", r"^f\.txt:1: .*upper 5 and lower -1"),
        (parse_taillard, "1 2\n3 4\n1 1\n", r"^f\.txt:3: job 0 visits machine 1 twice"),
        (parse_taillard, "1 2\n3 " + "1" + "0" * 30 + "\n1 2\n", r"^f\.txt:2: .*10{30}, beyond"),
        (parse_taillard, "2 1\n1073741823\n1\n1\n1\n", r"^f\.txt: the Times matrix sums to 1073741824"),
    ],
)
def test_hostile_files_name_the_file_line_value_and_limit(parser, text, message) -> None:
    with pytest.raises(InstanceFormatError, match=message):
        parser(text, source="f.txt")


def test_instances_in_code_check_bounds_and_sizes() -> None:
    with pytest.raises(ValueError, match="lower_bound 10 is above upper_bound 5"):
        JobShopInstance("x", np.zeros((1, 1)), np.ones((1, 1)), 1, lower_bound=10, upper_bound=5)
    with pytest.raises(ValueError, match="upper_bound must be an integer >= 0 or None, got -1"):
        JobShopInstance("x", np.zeros((1, 1)), np.ones((1, 1)), 1, upper_bound=-1)
    with pytest.raises(ValueError, match=r"fit int64"):
        JobShopInstance("x", [[0]], [[10**30]], 1)
    with pytest.raises(ValueError, match=r"sum to 1073741824, above MAX_HORIZON"):
        JobShopInstance("x", [[0, 1]], [[2**29, 2**29]], 2)
    with pytest.raises(ValueError, match=r"10{12} machines.*1 GiB"):
        JobShopInstance("x", [[0]], [[1]], 10**12)
    # a route may revisit a machine when built in code (the general job shop)
    assert JobShopInstance("x", [[0, 0]], [[1, 2]], 1).num_operations == 2


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("random-100000000x100000000:seed=1", r"100000000x100000000 job-shop instance.*TiB.*1 GiB"),
        ("random-3x3:seed=1,n=1000000000000", r"1000000000000 instance names.*1 GiB"),
    ],
)
def test_generated_sizes_beyond_the_memory_limit_are_refused(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_dataset(spec)


@settings(max_examples=60)
@given(
    header=st.lists(st.integers(-3, 4) | st.sampled_from([10**12, 2**31]), min_size=2, max_size=2),
    rows=st.lists(
        st.lists(st.integers(-2, 5) | st.sampled_from([2**30, 10**20]), min_size=0, max_size=8),
        min_size=0,
        max_size=4,
    ),
)
def test_standard_parser_either_builds_a_valid_instance_or_names_the_line(header, rows) -> None:
    text = " ".join(map(str, header)) + "\n" + "\n".join(" ".join(map(str, r)) for r in rows) + "\n"
    try:
        inst = parse_standard(text, source="fuzz.txt")
    except InstanceFormatError as error:
        assert re.match(r"^fuzz\.txt(:\d+)?: ", str(error)), str(error)
        return
    assert int(inst.durations.sum()) <= MAX_HORIZON and inst.durations.min(initial=0) >= 0
    for route in inst.machines.tolist():
        assert len(set(route)) == len(route)


@pytest.mark.parametrize("name", [10**6, None, 3.5])
def test_names_of_the_wrong_type_are_named(name) -> None:
    with pytest.raises(TypeError, match=re.escape(repr(name))):
        load_instance(name)
    with pytest.raises(TypeError, match=re.escape(repr(name))):
        resolve_dataset(name)


@settings(max_examples=60)
@given(
    header=st.lists(st.integers(-3, 3) | st.sampled_from([10**12, 2**31]), min_size=2, max_size=6),
    times=st.lists(st.lists(st.integers(-1, 5) | st.just(2**30), max_size=4), max_size=3),
    route=st.lists(st.lists(st.integers(0, 4), max_size=4), max_size=3),
    labelled=st.booleans(),
)
def test_taillard_parser_either_builds_a_valid_instance_or_names_the_file(
    header, times, route, labelled
) -> None:
    lines = [" ".join(map(str, header)), *(["Times"] if labelled else [])]
    lines += [" ".join(map(str, row)) for row in times]
    lines += [*(["Machines"] if labelled else []), *(" ".join(map(str, r)) for r in route)]
    try:
        inst = parse_taillard("\n".join(lines) + "\n", source="fuzz.txt")
    except InstanceFormatError as error:
        assert re.match(r"^fuzz\.txt(:\d+)?: ", str(error)), str(error)
        return
    assert int(inst.durations.sum()) <= MAX_HORIZON and inst.durations.min(initial=0) >= 0
    for machines in inst.machines.tolist():
        assert len(set(machines)) == len(machines)
    if inst.upper_bound is not None:
        assert 0 <= inst.lower_bound <= inst.upper_bound
